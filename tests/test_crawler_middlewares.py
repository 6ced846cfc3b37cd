"""MetaRefreshMiddleware: Scrapy's meta refresh handling, without decoding pages that have none."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.middlewares import REFRESH_SCAN_BYTES, MetaRefreshMiddleware

URL = "https://finance.sina.com.cn/roll/2026-11-30/doc-ikyamrmy0000001.shtml"
REFRESH = '<meta http-equiv="Refresh" content="0; url=/roll/2026-11-30/doc-ikyamrmy0000002.shtml">'


@pytest.fixture
def middleware() -> MetaRefreshMiddleware:
    crawler = get_crawler(settings_dict={"DOWNLOADER_MIDDLEWARES": project.DOWNLOADER_MIDDLEWARES})
    return MetaRefreshMiddleware.from_crawler(crawler)


def page(head: str, encoding: str = "utf-8", filler: int = 0) -> HtmlResponse:
    html = (
        f"<html><head><title>新浪财经{'新' * filler}</title>{head}</head><body>正文</body></html>"
    )
    return HtmlResponse(
        URL,
        body=html.encode(encoding, "xmlcharrefreplace"),
        headers={"Content-Type": f"text/html; charset={encoding}"},
    )


def test_it_replaces_scrapys_own():
    assert project.DOWNLOADER_MIDDLEWARES == {
        **project.DOWNLOADER_MIDDLEWARES,
        "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
        "crawler.middlewares.MetaRefreshMiddleware": 580,  # Scrapy's priority
    }


@pytest.mark.parametrize(
    "encoding",
    [
        "utf-8",
        "gb18030",
        "utf-16",  # with a BOM
        "utf-16-le",  # in the Content-Type only
        "cp500",  # EBCDIC: no ASCII bytes at all
    ],
)
def test_a_meta_refresh_is_still_followed(middleware, encoding):
    result = middleware.process_response(Request(URL), page(REFRESH, encoding))
    assert isinstance(result, Request)
    assert result.url == URL.replace("0000001", "0000002")


def test_a_shift_state_encoding_gets_scrapys_check(middleware):
    # ISO-2022-JP escapes take bytes but no characters: "refresh" can lie beyond 16 KB
    # while within the first 4,096 characters.
    escapes = "\x1b(B" * 6000
    response = HtmlResponse(
        URL,
        body=f"<html><head>{escapes}{REFRESH}</head></html>".encode("iso-2022-jp"),
        headers={"Content-Type": "text/html; charset=iso-2022-jp"},
    )
    assert response.body.index(b"Refresh") > REFRESH_SCAN_BYTES
    assert isinstance(middleware.process_response(Request(URL), response), Request)


def test_a_refresh_after_the_first_4096_characters_is_ignored_as_scrapy_does(middleware):
    # 4,096 characters of Chinese text are 12,288 bytes in UTF-8: the bytes scanned reach
    # further than Scrapy's 4,096 characters, so Scrapy's check decides and ignores it.
    late = page(REFRESH, filler=4100)
    assert REFRESH_SCAN_BYTES > late.body.index(b"Refresh") > 4096
    assert middleware.process_response(Request(URL), late) is late


def test_a_page_without_refresh_is_passed_on_undecoded(middleware, monkeypatch):
    response = page('<meta name="keywords" content="央行,降准">')

    def decoded(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the page was decoded")

    monkeypatch.setattr(HtmlResponse, "text", property(decoded))
    assert middleware.process_response(Request(URL), response) is response
    with pytest.raises(AssertionError, match="decoded"):  # the others are still checked
        middleware.process_response(Request(URL), page('<meta http-equiv="refresh" content="5">'))
    undeclared = HtmlResponse(URL, body=b"<html><head><title>x</title></head></html>")
    with pytest.raises(AssertionError, match="decoded"):  # no declared encoding: Scrapy's
        middleware.process_response(Request(URL), undeclared)
