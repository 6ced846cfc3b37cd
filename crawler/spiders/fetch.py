"""FetchSpider: URLs given by hand, no feeds file. An article page becomes a post now (even if
it is archived already: that refreshes it); a feed URL is crawled once like a configured feed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.settings import BaseSettings

from crawler.feeds import detect_kind
from crawler.items import FeedConfig
from crawler.spiders.feeds import FeedsSpider

_FEED_TYPES = ("xml", "rss", "atom", "json", "javascript")


def looks_like_feed(content_type: str, body: bytes) -> bool:
    """Return True when a response is a feed document rather than an HTML page: an XML or
    JSON content type, or a body that starts like RSS/Atom/JSON(P)."""
    content_type = content_type.lower()
    if "html" in content_type:
        return False
    if any(kind in content_type for kind in _FEED_TYPES):
        return True
    head = body[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")) or (
        detect_kind(body) == "sina_roll"
    )


class FetchSpider(FeedsSpider):
    """Fetch ``ARCHIVE_FETCH_URLS`` once each and archive what they hold."""

    name = "fetch"

    def configure(self, settings: BaseSettings) -> None:
        """Take the URLs of ``ARCHIVE_FETCH_URLS``; no feeds file is read."""
        self.urls = settings.getlist("ARCHIVE_FETCH_URLS")
        self.feeds = []

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Yield one request per URL."""
        for url in self.urls:
            self.crawler.stats.inc_value("fetch/requested")
            yield scrapy.Request(
                url,
                callback=self.parse_any,
                errback=self.article_failed,
                dont_filter=True,
                meta={"allow_offsite": True, "dont_cache": True, "fetch_url": True},
            )

    def parse_any(self, response: Response) -> Iterator[Any]:
        """Read a response as a feed document or as an article page, whichever it is."""
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if looks_like_feed(content_type, response.body):
            self.crawler.stats.inc_value("feed/requested")
            response.meta["feed"] = FeedConfig(name=response.url, url=response.url)
            yield from self.parse_feed(response)
        else:
            self.crawler.stats.inc_value("entry/seen")  # a URL given by hand is an entry
            yield from self.parse_article(response)
