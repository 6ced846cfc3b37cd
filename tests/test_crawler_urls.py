"""URL rules: redirect wrappers, https for Sina hosts, tracking query dropped."""

from __future__ import annotations

import pytest

from crawler.urls import is_sina_host, normalize_url


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "http://go.rss.sina.com.cn/redirect.php?url=http://news.sina.com.cn/w/2018-09-23/doc-ifxeuwwr7316046.shtml",
            "https://news.sina.com.cn/w/2018-09-23/doc-ifxeuwwr7316046.shtml",
        ),
        (
            "http%3A%2F%2Ft.cj.sina.com.cn%2Farticles%2Fview%2F6479293414%2F182322be600100i6z0%3Fcre%3Dtianyi%26mod%3Dwnews",
            "https://t.cj.sina.com.cn/articles/view/6479293414/182322be600100i6z0",
        ),
        (
            "https://finance.sina.cn/sa/2005-08-26/detail-ikknscsi2623250.d.html?from=wap",
            "https://finance.sina.cn/sa/2005-08-26/detail-ikknscsi2623250.d.html",
        ),
        (
            "https://FINANCE.sina.com.cn/a.shtml?id=3&utm_source=x#top",
            "https://finance.sina.com.cn/a.shtml?id=3",
        ),
        ("http://example.com/a", "http://example.com/a"),
        ("javascript:alert(1)", ""),
        ("", ""),
    ],
)
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected


def test_relative_urls_join_the_base():
    assert normalize_url("/c/doc-iabc.shtml", "http://news.sina.com.cn/x/") == (
        "https://news.sina.com.cn/c/doc-iabc.shtml"
    )


def test_sina_hosts():
    assert is_sina_host("k.sina.com.cn") and is_sina_host("finance.sina.cn")
    assert not is_sina_host("sina.com.cn.evil.com") and not is_sina_host("notsina.cn")
