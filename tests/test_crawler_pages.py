"""ArticlePage on small synthetic pages: one fact per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.items import FeedEntry
from crawler.pages import ArticlePage, NotAnArticle, decode_page, parse_page_time

URL = "https://finance.sina.com.cn/china/2021-11-30/doc-ikyamrmy5804517.shtml"
BEIJING = timezone(timedelta(hours=8))


def page(body: str = "", head: str = "", title: str = "<h1 class='main-title'>标题</h1>") -> bytes:
    paragraphs = body or "<p>　　第一段正文，足够长的文字内容在这里。</p><p>　　第二段。</p>"
    return (
        f"<html><head><meta charset='utf-8'>{head}</head><body>{title}"
        f"<div class='date-source'><span class='date'>2021年11月30日 15:15</span>"
        f"<a class='source'>中国证券报</a></div>"
        f"<div class='article' id='artibody'>{paragraphs}"
        f"<p class='article-editor'>责任编辑：何中夫 </p></div></body></html>"
    ).encode()


def article(data: bytes, entry: FeedEntry | None = None, url: str = URL):
    return ArticlePage(url, data).to_article(entry)


def test_fields_of_a_simple_page():
    item = article(page())
    assert item.title == "标题"
    assert item.published == datetime(2021, 11, 30, 15, 15, tzinfo=BEIJING)
    assert item.source == "中国证券报"
    assert item.editor == "何中夫"
    assert item.id == "ikyamrmy5804517" and item.link == URL
    assert "责任编辑" not in item.body
    assert item.body.startswith("<p>　　第一段正文")  # full-width indent kept


def test_a_repeated_id_or_an_anchor_name_does_not_hide_the_element_css_finds():
    # Ids are looked up in libxml2's id table, which keeps the first of a repeated id and
    # files <a name=…> too; what CSS finds must still be found.
    data = page().replace(
        b"<div class='article' id='artibody'>",
        b"<a name='artibody'></a><div id='artibody'></div><div class='article' id='artibody'>",
    )
    item = article(data)
    assert item.body.startswith("<p>　　第一段正文")
    found = list(ArticlePage(URL, data)._select("#artibody"))
    assert [element.get("class") for element in found] == [None, "article"]


def test_published_time_meta_wins_and_empty_meta_is_absent():
    meta = "<meta property='article:published_time' content='2021-11-30T15:16:00+08:00'>"
    assert article(page(head=meta)).published == datetime(2021, 11, 30, 7, 16, tzinfo=UTC)
    empty = "<meta property='article:published_time' content=''>"
    assert article(page(head=empty)).published == datetime(2021, 11, 30, 7, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2005-08-26 05:39:00", datetime(2005, 8, 25, 21, 39, tzinfo=UTC)),
        ("2019-09-11T01:53:41+08:00", datetime(2019, 9, 10, 17, 53, 41, tzinfo=UTC)),
        ("2019-09-11T01:53:41Z", datetime(2019, 9, 11, 1, 53, 41, tzinfo=UTC)),
        ("2011年08月22日\xa014:58", datetime(2011, 8, 22, 6, 58, tzinfo=UTC)),
        ("2009年11月09日13:48", datetime(2009, 11, 9, 5, 48, tzinfo=UTC)),
        ("2021年13月40日 99:00", None),
        ("", None),
    ],
)
def test_page_times(text, expected):
    assert parse_page_time(text) == expected


def test_entry_fills_in_a_missing_time_and_title():
    data = (
        "<html><body><div id='artibody'><p>正文正文正文正文正文正文正文正文正文正文正文。</p>"
        "</div></body></html>"
    ).encode()
    entry = FeedEntry(
        url=URL, guid="g", title="条目标题", feed="f", published=datetime(2021, 1, 1, tzinfo=UTC)
    )
    item = article(data, entry)
    assert item.title == "条目标题" and item.published == entry.published
    with pytest.raises(NotAnArticle) as info:
        article(data)
    assert info.value.reason == "no_title"


def test_title_falls_back_to_title_element_without_suffix():
    data = page(title="", head="<title>某个标题_新浪财经_新浪网</title>")
    assert article(data).title == "某个标题"


def test_images_lazy_protocol_relative_referrer_policy_and_lead():
    body = (
        "<p>正文正文正文正文正文正文正文正文正文正文正文正文。</p>"
        "<img src='//n.sinaimg.cn/qr/code_qr.png'>"
        "<img src='data:image/gif;base64,R0lGOD' data-src='//n.sinaimg.cn/a/lead.jpg'>"
        "<img real_src='http://n.sinaimg.cn/a/second.jpg'>"
        "<img src='/rel/pic.png'>"
        "<img src='//i0.sinaimg.cn/home/c.gif' width='1' height='5'>"
    )
    item = article(page(body))
    assert item.headimg == "https://n.sinaimg.cn/a/lead.jpg"
    assert 'src="https://n.sinaimg.cn/a/second.jpg"' in item.body
    assert 'src="https://finance.sina.com.cn/rel/pic.png"' in item.body
    assert item.body.count('referrerpolicy="no-referrer"') == 4
    assert "c.gif" not in item.body  # spacer pixels go
    assert "data-src" not in item.body and "real_src" not in item.body


def test_dangerous_markup_and_widgets_are_removed():
    body = (
        "<p onclick='evil()'>正文正文正文正文正文正文正文正文正文正文正文。</p>"
        "<script>alert(1)</script><style>p{}</style><iframe src='x'></iframe>"
        "<form><input></form><noscript>n</noscript><!-- a comment -->"
        "<!--article_adlist[<p>广告</p>]article_adlist-->"
        "<a href='javascript:alert(1)'>链接</a><a href='/rel'>相对</a>"
        "<div class='appendQr_wrap'><img src='//n.sinaimg.cn/qr.png'></div>"
        "<div id='left_hzh_ad'>广告</div><div class='app-kaihu-qr'>开户</div>"
        "<div class='tech-quotation'>行情</div><div id='sina_keyword_ad_area2'>关键词</div>"
        "<p>{{ 模板 }}</p>"
    )
    item = article(page(body))
    for bad in (
        "onclick",
        "<script",
        "<style",
        "<iframe",
        "<form",
        "<input",
        "noscript",
        "<!--",
        "广告",
        "javascript:",
        "appendQr",
        "开户",
        "行情",
        "关键词",
    ):
        assert bad not in item.body, bad
    assert 'href="https://finance.sina.com.cn/rel"' in item.body
    assert "{{ 模板 }}" in item.body  # braces are escaped when the post is written, not here


def test_empty_placeholders_and_live_quotes_are_removed():
    body = (
        "<p>正文<span id='quote_MU'>(115.39, 2.47%)</span>"
        "正文正文正文正文正文正文正文正文正文。</p>"
        "<div class='video-2017' id='videoList0'></div><div class='goods-card'></div>"
        "<p>　</p><span class='img_descr'></span><a href= target=_blank></a>"
        "<div id='ad_44086' style='width:300px'></div>"
    )
    assert article(page(body)).body == "<p>正文正文正文正文正文正文正文正文正文正文。</p>"


def test_disclaimer_between_markers_is_removed():
    body = (
        "<p>正文正文正文正文正文正文正文正文正文正文正文。</p><!-- 总声明-->"
        "<p>免责声明：仅供参考。</p><!-- 总声明-->"
    )
    assert "免责声明" not in article(page(body)).body


def test_page_without_body_is_not_an_article():
    with pytest.raises(NotAnArticle) as info:
        article(b"<html><body><ul><li>list page</li></ul></body></html>")
    assert info.value.reason == "no_body" and URL in info.value.detail


def test_empty_body_is_not_an_article():
    with pytest.raises(NotAnArticle) as info:
        article(page("<p>　</p><script>x()</script>"))
    assert info.value.reason in ("no_body", "empty_body")


def test_canonical_url_from_og_url_percent_decoded():
    head = (
        "<meta property='og:url' content='http%3A%2F%2Ft.cj.sina.com.cn%2Farticles%2Fview"
        "%2F6479293414%2F182322be600100i6z0%3Fcre%3Dtianyi'>"
    )
    item = article(page(head=head), url="http://127.0.0.1:9/x")
    assert item.link == "https://t.cj.sina.com.cn/articles/view/6479293414/182322be600100i6z0"
    assert item.id == "182322be600100i6z0"


def test_keywords_become_tags_unless_they_repeat_the_title():
    assert article(page(head="<meta name='keywords' content='降准,央行'>")).tags == ("降准", "央行")
    assert article(page(head="<meta name='keywords' content='标题'>")).tags == ()


def test_an_id_whose_first_element_cleaning_removed_is_still_found():
    # libxml2's id table held the hidden widget in the body; cleaning removes and frees it,
    # and the table forgets the id, while the widget after the body (never in the table, a
    # repeated id) is still in the page.
    hidden = "<div style='display:none' id='keywords' data-wbkey='隐藏'></div>"
    data = page(
        body="<p>　　第一段正文，足够长的文字内容在这里。</p><p>　　第二段。</p>" + hidden
    ).replace(b"</body>", "<div id='keywords' data-wbkey='降准,央行'></div></body>".encode())
    assert article(data).tags == ("降准", "央行")


def test_keywords_widget_when_the_meta_has_none_the_first_one_with_words_wins():
    widgets = (
        "<div id='keywords' data-wbkey='新闻'></div><div id='keywords' data-wbkey='降准,新闻'>"
        "</div><div id='keywords' data-wbkey='央行'></div>"
    )
    data = page(title="<h1 class='main-title'>标题</h1>" + widgets)
    assert article(data).tags == ("降准",)


class TestDecoding:
    TEXT = "<html><head>{meta}</head><body>新浪财经</body></html>"

    def test_gb2312_label_decodes_as_gb18030(self):
        data = self.TEXT.format(meta="<meta charset='gb2312'>").encode("gb18030") + "𠀀".encode(
            "gb18030"
        )
        text, codec = decode_page(data)
        assert codec == "gb18030" and "新浪财经" in text and "𠀀" in text

    def test_http_header_wins_over_meta(self):
        data = self.TEXT.format(meta="<meta charset='utf-8'>").encode("gbk")
        text, codec = decode_page(data, "text/html; charset=GBK")
        assert codec == "gb18030" and "新浪财经" in text

    def test_bom_wins(self):
        data = b"\xef\xbb\xbf" + self.TEXT.format(meta="<meta charset='gbk'>").encode("utf-8")
        assert decode_page(data, "text/html; charset=gbk")[1] == "utf-8"

    def test_wrong_header_falls_back_to_the_meta_that_decodes(self):
        data = self.TEXT.format(meta="<meta charset='gbk'>").encode("gbk")
        assert decode_page(data, "text/html; charset=utf-8")[1] == "gb18030"

    def test_undecodable_page_is_reported(self):
        data = self.TEXT.format(meta="<meta charset='utf-8'>").encode("gbk")
        with pytest.raises(NotAnArticle) as info:
            decode_page(data, url=URL)
        assert info.value.reason == "bad_encoding" and URL in info.value.detail


@pytest.mark.parametrize(
    "og_url",
    [
        "https://finance.sina.com.cn/china/2021-11-30/doc-iother00001.shtml",  # another article
        "https://finance.sina.com.cn/",  # the home page
        "https://evil.example.com/doc-ikyamrmy5804517.shtml",  # not Sina
    ],
)
def test_an_implausible_canonical_url_is_ignored(og_url):
    item = article(page(head=f"<meta property='og:url' content='{og_url}'>"))
    assert item.link == URL and item.id == "ikyamrmy5804517"


def test_unforeseen_extraction_errors_are_recorded(tmp_path, monkeypatch):
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.items import PageFailure
    from crawler.spiders.feeds import FeedsSpider

    crawler = get_crawler(FeedsSpider, {"ARCHIVE_ROOT": str(tmp_path)})
    spider = FeedsSpider.from_crawler(crawler)

    def broken(self, *args, **kwargs):
        raise ValueError("All strings must be XML compatible")

    monkeypatch.setattr(ArticlePage, "to_article", broken)
    from scrapy import Request

    response = HtmlResponse(
        URL,
        body=page(),
        headers={"Content-Type": "text/html; charset=utf-8"},
        request=Request(URL),
    )
    (failure,) = list(spider.parse_article(response))
    assert isinstance(failure, PageFailure) and failure.reason == "extract_error"
    assert "ValueError" in failure.detail


def test_feed_requests_always_revalidate(tmp_path):
    from scrapy.utils.test import get_crawler

    from crawler.items import FeedConfig
    from crawler.spiders.feeds import FeedsSpider

    spider = FeedsSpider.from_crawler(get_crawler(FeedsSpider, {"ARCHIVE_ROOT": str(tmp_path)}))
    request = spider.feed_request(FeedConfig(name="f", url="https://feed.mix.sina.com.cn/x"))
    assert request.headers.get("Cache-Control") == b"max-age=0"
