"""Hostile and broken input: front matter that must round-trip under PyYAML and js-yaml,
bodies that must never reach Hexo's template engine, broken feeds and pages. Nothing may
crash; each bad input gives one clear reason."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.post import Post, fold_line_breaks
from crawler.feeds import parse_feed
from crawler.pages import ArticlePage, NotAnArticle
from tests.conftest import REPO

BEIJING = timezone(timedelta(hours=8))
DATE = datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)
JS = REPO / "tests" / "js"
URL = "https://finance.sina.com.cn/china/2021-11-30/doc-ikyamrmy5804517.shtml"


def post(**changes) -> Post:
    values = {"title": "标题", "date": DATE, "body": "<p>正文</p>", "id": "ikyamrmy5804517"}
    values.update(changes)
    return Post(**values)


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))


# --- front matter ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_title_round_trips_under_pyyaml(title):
    text = post(title=title).to_text()
    assert front_matter(text)["title"] == fold_line_breaks(title)
    assert Post.from_text(text).title == fold_line_breaks(title)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(), st.lists(st.text(), max_size=3))
def test_any_source_editor_and_tags_round_trip_exactly(source, editor, tags):
    text = post(source=source, editor=editor, tags=tags, categories=tags).to_text()
    meta = front_matter(text)
    assert (meta["source"], meta["editor"]) == (source, editor)
    assert meta.get("tags", []) == [fold_line_breaks(t) for t in tags]


HOSTILE = "'\"：:#-—|>%@*&!?,[]{}\n\r\t\\\u2028\u2029\x85\x00\x07\ufeff📈🚀中文　 ~`=.+0o17e3"


def hostile_strings(count: int) -> list[str]:
    chooser = random.Random(20261130)
    fixed = ["0o17", "1e3", ".inf", "yes", "null", "~", "--- x", "- a", "a: b", "#c", "@x", "0！"]
    made = [
        "".join(chooser.choice(HOSTILE) for _ in range(chooser.randint(1, 12)))
        for _ in range(count)
    ]
    return fixed + made


def test_hostile_front_matter_loads_the_same_in_js_yaml():
    node = shutil.which("node")
    assert node, "node is needed (CI installs it with the machine)"
    assert (JS / "node_modules" / "js-yaml").is_dir(), "run: npm install --prefix tests/js"
    values = hostile_strings(300)
    texts = [post(title=v, source=v, editor=v, tags=[v]).to_text() for v in values]
    result = subprocess.run(
        [node, str(JS / "load_front_matter.js")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for value, loaded, text in zip(values, json.loads(result.stdout), texts, strict=True):
        assert loaded["title"] == fold_line_breaks(value), text
        assert loaded["source"] == value and loaded["editor"] == value, text
        assert loaded["tags"] == [fold_line_breaks(value)], text
        assert loaded["comments"] is False and isinstance(loaded["date"], str)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_brace_reaches_hexo_templates(body):
    text = post(body=body).to_text()
    written = text.split("\n---\n", 1)[1]
    assert "{" not in written and "}" not in written
    for tag in ("{{", "{%", "{#"):
        assert tag not in written


# --- feeds --------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([None, "rss", "sina_roll"]))
def test_feed_parsers_never_raise(body, kind):
    doc = parse_feed(body, "https://feed.mix.sina.com.cn/x", feed="f", kind=kind)
    assert doc.entries or doc.error


def rss(
    items: str, head: bytes = b"", declaration: str = '<?xml version="1.0" encoding="UTF-8"?>'
) -> bytes:  # noqa: E501
    return (
        head
        + (
            f'{declaration}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
        ).encode()
    )


def item(link: str = URL, title: str = "标题", date: str = "", guid: str = "") -> str:
    parts = [f"<title>{title}</title>", f"<link>{link}</link>"]
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    if guid:
        parts.append(f"<guid>{guid}</guid>")
    return "<item>" + "".join(parts) + "</item>"


@pytest.mark.parametrize("head", [b"\xef\xbb\xbf", b"\n\n  \t", b"\xef\xbb\xbf\r\n "])
def test_bom_or_whitespace_before_the_xml_declaration(head):
    doc = parse_feed(rss(item(), head=head), "https://rss.sina.com.cn/x.xml", feed="f")
    assert [e.url for e in doc.entries] == [URL] and doc.entries[0].title == "标题"


@pytest.mark.parametrize(
    "declaration, content_type",
    [
        ("<?xml version='1.0'?>", ""),
        ('<?xml version="1.0" encoding="gb2312"?>', ""),
        ('<?xml version="1.0" encoding="utf-8"?>', "text/xml; charset=iso-8859-1"),
    ],
)
def test_missing_or_wrong_encodings(declaration, content_type):
    body = rss(item(), declaration=declaration)
    doc = parse_feed(body, "https://rss.sina.com.cn/x.xml", feed="f", content_type=content_type)
    assert [e.url for e in doc.entries] == [URL]


def test_missing_fields_and_duplicates():
    items = (
        item(title="")
        + "<item><title>no link</title></item>"
        + item(guid="same")
        + item(link=URL + "?cre=x", guid="same")
        + item(link="https://finance.sina.com.cn/b/doc-ibbbbbbb2.shtml", guid="same")
    )
    doc = parse_feed(rss(items), "https://rss.sina.com.cn/x.xml", feed="f")
    assert [e.url for e in doc.entries] == [
        URL,
        "https://finance.sina.com.cn/b/doc-ibbbbbbb2.shtml",
    ]
    assert doc.entries[0].title == ""  # the page's headline fills it in


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Tue, 30 Nov 2021 07:15:51 GMT", datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)),
        ("2021-11-30T15:15:51+08:00", datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)),
        ("2021-11-30 15:15:51", datetime(2021, 11, 30, 15, 15, 51, tzinfo=BEIJING)),
        ("2021年11月30日 15:15", datetime(2021, 11, 30, 15, 15, tzinfo=BEIJING)),
        ("1638256551", datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC)),
        ("昨天", None),
    ],
)
def test_dates_in_chinese_zone_less_and_epoch_forms(raw, expected):
    doc = parse_feed(rss(item(date=raw)), "https://rss.sina.com.cn/x.xml", feed="f")
    assert doc.entries[0].published == expected


def test_malformed_xml_gives_an_error_or_the_readable_entries():
    broken = rss(item()).replace(b"</channel></rss>", b"<item><title>cut")
    doc = parse_feed(broken, "https://rss.sina.com.cn/x.xml", feed="f")
    assert [e.url for e in doc.entries] == [URL]
    doc = parse_feed(b"<rss><channel><item><ti", "https://rss.sina.com.cn/x.xml", feed="f")
    assert doc.entries == [] and doc.error.startswith("not a readable RSS/Atom document")


def test_feeds_of_50000_entries():
    links = [f"https://finance.sina.com.cn/r/doc-i{n:010d}.shtml" for n in range(50_000)]
    roll = json.dumps(
        {"result": {"data": [{"url": u, "title": "t", "ctime": "1638256551"} for u in links]}}
    ).encode()
    started = time.monotonic()
    doc = parse_feed(roll, "https://feed.mix.sina.com.cn/api/roll/get", feed="f")
    assert len(doc.entries) == 50_000
    body = rss("".join(item(link=u) for u in links))
    doc = parse_feed(body, "https://rss.sina.com.cn/x.xml", feed="f")
    assert len(doc.entries) == 50_000
    assert time.monotonic() - started < 120  # a bound, not a benchmark


# --- pages --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_page_give_an_article_or_a_reason(body):
    try:
        ArticlePage(URL, body).to_article()
    except NotAnArticle as exc:
        assert exc.reason in {"no_body", "empty_body", "no_title", "no_date", "bad_encoding"}
        assert URL in exc.detail


def page(inner: str) -> bytes:
    return (
        "<html><head><meta charset='utf-8'>"
        "<meta property='article:published_time' content='2021-11-30T15:15:51+08:00'></head>"
        f"<body><h1 class='main-title'>标题</h1><div id='artibody'>{inner}</div></body></html>"
    ).encode()


@pytest.mark.parametrize("inner", ["", "<p>　</p><p> </p>", "<script>x()</script>"])
def test_no_body_or_an_empty_body(inner):
    with pytest.raises(NotAnArticle) as info:
        ArticlePage(URL, page(inner)).to_article()
    assert info.value.reason in ("no_body", "empty_body")


def test_deep_nesting():
    inner = "<div>" * 5000 + "<p>深处的正文，足够长的一段文字在这里出现。</p>" + "</div>" * 5000
    try:
        article = ArticlePage(URL, page(inner)).to_article()
    except NotAnArticle as exc:
        assert exc.reason in {"no_body", "empty_body"}
    else:
        assert "深处的正文" in article.body


def test_a_20_mb_text_node():
    inner = "<p>" + "长" * (20 * 1024 * 1024 // 3) + "</p>"
    started = time.monotonic()
    try:
        article = ArticlePage(URL, page(inner)).to_article()
    except NotAnArticle as exc:
        assert exc.reason in {"no_body", "empty_body"}
    else:
        assert article.body.startswith("<p>长长长")
    assert time.monotonic() - started < 120


def test_mixed_encodings_are_reported():
    mixed = page("<p>新浪财经新浪财经新浪财经新浪财经新浪财经</p>").replace(
        "新浪财经".encode(), "新浪财经".encode("gbk"), 1
    )
    with pytest.raises(NotAnArticle) as info:
        ArticlePage(URL, mixed).to_article()
    assert info.value.reason == "bad_encoding"
