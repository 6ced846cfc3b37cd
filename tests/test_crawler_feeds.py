"""Feed documents (RSS/Atom with feedparser, Sina's roll JSON) and the feeds file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.feeds import (
    FeedConfigError,
    default_feeds_path,
    detect_kind,
    load_feeds,
    parse_feed,
    parse_roll_json,
    parse_rss,
    select_feeds,
)

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title><![CDATA[财经要闻-新浪财经]]></title>
<item><title><![CDATA[　　标题一 ]]></title>
<link>http://go.rss.sina.com.cn/redirect.php?url=https://finance.sina.com.cn/a/doc-iaaaaaa1.shtml</link>
<guid>sina-guid:1</guid><pubDate>Tue, 30 Nov 2021 07:15:51 GMT</pubDate></item>
<item><title>重复</title><link>http://finance.sina.com.cn/a/doc-iaaaaaa1.shtml?cre=x</link></item>
<item><title>没有链接</title></item>
<item><title>标题二</title><link>/b/doc-ibbbbbb2.shtml</link></item>
</channel></rss>""".encode()

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>原子</title>
<entry><title>甲</title><link href="https://tech.sina.com.cn/t/doc-iccccccc3.shtml"/>
<id>urn:1</id><updated>2021-11-30T15:15:51+08:00</updated></entry></feed>""".encode()

ROLL = b"""{"result":{"status":{"code":0},"data":[
 {"docid":"comos:kyamrmy5804517","title":"\\u5de5\\u4fe1\\u90e8 &amp; 5G",
  "url":"http:\\/\\/finance.sina.com.cn\\/china\\/2021-11-30\\/doc-ikyamrmy5804517.shtml",
  "ctime":"1638256551","intime":"1638256551","mtime":"1638260151",
  "media_name":"\\u4e2d\\u56fd\\u8bc1\\u5238\\u62a5","keywords":"5G,\\u4eba\\u5de5\\u667a\\u80fd"},
 {"docid":"x","title":"no url","url":"","wapurl":""},
 {"docid":"y","title":"bad time","url":"https://finance.sina.com.cn/y/doc-iyyyyyy1.shtml","ctime":"soon"}
]}}"""


def test_rss_entries():
    doc = parse_rss(RSS, "http://rss.sina.com.cn/roll/finance/hot_roll.xml", feed="hot")
    assert doc.error == "" and doc.title == "财经要闻-新浪财经"
    assert [e.url for e in doc.entries] == [
        "https://finance.sina.com.cn/a/doc-iaaaaaa1.shtml",
        "http://rss.sina.com.cn/b/doc-ibbbbbb2.shtml".replace("http://", "https://"),
    ]
    first = doc.entries[0]
    assert first.title == "标题一"  # CDATA full-width indent stripped
    assert first.guid == "sina-guid:1" and first.feed == "hot"
    assert first.published == datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)


def test_atom_entries():
    doc = parse_feed(ATOM, "https://example.sina.com.cn/atom", feed="a")
    assert doc.kind == "rss" and doc.entries[0].guid == "urn:1"
    assert doc.entries[0].updated == datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)


def test_roll_json_entries():
    doc = parse_roll_json(ROLL, "https://feed.mix.sina.com.cn/api/roll/get?lid=1686", feed="r")
    assert doc.error == ""
    assert len(doc.entries) == 2
    entry = doc.entries[0]
    assert entry.url == "https://finance.sina.com.cn/china/2021-11-30/doc-ikyamrmy5804517.shtml"
    assert entry.title == "工信部 & 5G"
    assert entry.published == datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)
    assert entry.updated == datetime(2021, 11, 30, 8, 15, 51, tzinfo=UTC)
    assert entry.source == "中国证券报" and entry.tags == ("5G", "人工智能")
    assert doc.entries[1].published is None


def test_roll_jsonp_is_unwrapped():
    for wrapped in (b"cb(" + ROLL + b");", b"try{jQuery123_456(" + ROLL + b");}catch(e){};"):
        assert detect_kind(wrapped) == "sina_roll"
        assert len(parse_feed(wrapped, "https://feed.mix.sina.com.cn/x", feed="r").entries) == 2


@pytest.mark.parametrize(
    "body, kind",
    [
        (b"<html><body>not a feed</body></html>", "rss"),
        (b"<?xml version='1.0'?><rss><channel><item>", "rss"),
        (b"{not json", "sina_roll"),
        (b'{"result": {}}', "sina_roll"),
        (b"\xff\xfe garbage", "rss"),
    ],
)
def test_broken_documents_give_an_error_not_an_exception(body, kind):
    doc = parse_feed(body, "https://feed.mix.sina.com.cn/x", feed="f", kind=kind)
    assert doc.entries == [] and doc.error


def test_real_roll_response(fixtures):
    body = (fixtures / "api" / "r3_sina_roll_153_2516_2026-09-29_page1.json").read_bytes()
    doc = parse_feed(
        body, "https://feed.mix.sina.com.cn/api/roll/get?pageid=153&lid=2516", feed="r"
    )
    assert doc.kind == "sina_roll" and len(doc.entries) == 50
    assert doc.entries[0].url.endswith("/doc-initmeav9622448.shtml")
    assert all(e.url.startswith("https://") and e.published for e in doc.entries)


def test_real_rss_feeds(fixtures):
    body = (fixtures / "feeds" / "constructed_sina_rss_hot_roll.xml").read_bytes()
    doc = parse_feed(body, "http://rss.sina.com.cn/roll/finance/hot_roll.xml", feed="hot")
    assert len(doc.entries) == 26 and doc.title == "财经要闻汇总-新浪财经"
    assert all(
        "redirect.php" not in e.url and not e.title.startswith("\u3000") for e in doc.entries
    )
    third_party = (fixtures / "feeds" / "ruanyf_sina7x24_rss_2021-06-05.xml").read_bytes()
    doc = parse_feed(third_party, "https://ruanyf.github.io/sina-news/rss.xml", feed="7x24")
    assert doc.entries and all(e.title == e.title.strip() for e in doc.entries)


def test_shipped_feeds_file():
    feeds = load_feeds(default_feeds_path())
    china = feeds[0]
    assert (
        china.url == "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=1"
    )
    assert china.categories == ("金融", "新浪财经", "新浪财经－国內") and china.author == "新浪财经"
    lids = {f.url.split("lid=")[1].split("&")[0] for f in feeds if f.kind == "sina_roll"}
    assert lids == {"1686", "1687", "1688", "1689", "1690"}
    assert any(f.url == "http://rss.sina.com.cn/roll/finance/hot_roll.xml" for f in feeds)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not = [toml", "not valid TOML"),
        ("x = 1", "no \\[\\[feed\\]\\]"),
        ('[[feed]]\nurl = "https://a.sina.com.cn/"', "'name'"),
        ('[[feed]]\nname = "a"\nurl = "ftp://x"', "'url'"),
        ('[[feed]]\nname = "a"\nurl = "https://x/"\nkind = "atom"', "'kind'"),
        ('[[feed]]\nname = "a"\nurl = "https://x/"\ncategories = "x"', "'categories'"),
        (
            '[[feed]]\nname = "a"\nurl = "https://x/"\n[[feed]]\nname = "a"\nurl = "https://y/"',
            "twice",
        ),
    ],
)
def test_bad_feeds_files(tmp_path: Path, text, message):
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FeedConfigError, match=message) as info:
        load_feeds(path)
    assert str(path) in str(info.value)


def test_select_feeds_by_name_or_url():
    chosen = select_feeds(None, ["sina-finance-macro", "https://example.sina.com.cn/feed.xml"])
    assert chosen[0].name == "sina-finance-macro"
    assert (
        chosen[1].kind is None and chosen[1].categories is None and chosen[1].author == "新浪财经"
    )
    with pytest.raises(FeedConfigError, match="unknown feed 'nope'"):
        select_feeds(None, ["nope"])
