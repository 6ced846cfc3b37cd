"""FeedsSpider: the scheduled crawl, feed → entries → pages → articles.

Callbacks only orchestrate: feed documents are parsed by :mod:`crawler.feeds`, pages by
:class:`crawler.pages.ArticlePage`, and storing is the pipelines' job. An article already in
the index (by id, link or the URL it was requested at) is not requested again.

Stats keys: ``feed/requested``, ``feed/read``, ``feed/failed``, ``feed/not_modified``,
``feed/empty``, ``feed/stale``, ``response/received`` (any HTTP answer, error statuses
included), ``entry/seen``, ``entry/known``, ``entry/duplicate``, ``entry/deferred`` (a failed
URL waiting for its next try), ``entry/offsite``, ``entry/refetched`` (archived, fetched again:
the feed says it changed, or ``ARCHIVE_REFRESH``), ``article/failed``,
``article/dropped/<reason>``, ``cpu/extract`` (CPU seconds spent extracting articles).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DontCloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from archive.index import Index, iso_utc
from archive.paths import article_id
from crawler.feeds import parse_feed, select_feeds
from crawler.items import FeedConfig, FeedEntry, FeedPolled, PageFailure
from crawler.pages import ArticlePage, NotAnArticle
from crawler.urls import is_sina_host, normalize_url

logger = logging.getLogger(__name__)


def failure_reason(failure: Failure) -> str:
    """Return a short slug for a failed request: ``http_404``, ``timeout``, ``dns`` …"""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc).lower()
        if "robots" in message:
            return "robots_txt"
        return "redirect_loop" if "redirect" in message else "ignored"
    if isinstance(exc, DownloadCancelledError):
        return "too_large"  # DOWNLOAD_MAXSIZE is the only reason downloads are cancelled here
    if isinstance(exc, TimeoutError | TCPTimedOutError | DownloadTimeoutError):
        return "timeout"
    if isinstance(exc, DNSLookupError | CannotResolveHostError):
        return "dns"
    if isinstance(exc, ConnectionRefusedError | DownloadConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ResponseDataLossError):
        return "truncated"  # fewer bytes than Content-Length said
    if isinstance(
        exc, ConnectionLost | ResponseFailed | ResponseNeverReceived | DownloadFailedError
    ):
        return "connection_lost"
    return type(exc).__name__.lower()


#: Content types an article page may have (a missing header is let through to the decoder).
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


def check_page_response(requested: str, final: str, content_type: str) -> None:
    """Raise NotAnArticle when a response cannot be the article asked for: a body that is not
    HTML (``not_html``), or a redirect away from the article to another page, e.g. a deleted
    article sent to the site's home page (``soft_404``)."""
    media = content_type.split(";")[0].strip().lower()
    if media and media not in HTML_TYPES:
        raise NotAnArticle("not_html", f"{requested}: the response is {media}, not HTML")
    if final != requested and normalize_url(final) != normalize_url(requested):
        path = urlsplit(final).path
        if path in ("", "/") or article_id(final) != article_id(requested):
            raise NotAnArticle(
                "soft_404", f"{requested}: redirected to {final}, not to the article"
            )


class FeedsSpider(scrapy.Spider):
    """Crawl the configured feeds (``ARCHIVE_FEEDS_FILE``, filtered by ``ARCHIVE_FEEDS``) and
    every new article they list.

    A name in ``ARCHIVE_FEEDS`` selects a feed of the file; a URL there is crawled as an extra
    feed whose kind is recognised from the document, whose categories are the feed's own
    title and whose author is 新浪财经. Raises FeedConfigError at start for a bad feeds file or
    an unknown feed name.
    """

    name = "feeds"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Put the HTTP cache under ``<root>/.cache/http`` and, with ``ARCHIVE_CONNECT_TO``,
        use :class:`crawler.handlers.ConnectToDownloadHandler` for http and https."""
        super().update_settings(settings)
        root = Path(settings.get("ARCHIVE_ROOT") or "data").resolve()
        if not settings.get("HTTPCACHE_DIR"):
            settings.set("HTTPCACHE_DIR", str(root / ".cache" / "http"), priority="spider")
        if settings.get("ARCHIVE_CONNECT_TO"):
            handler = "crawler.handlers.ConnectToDownloadHandler"
            settings.set(
                "DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="spider"
            )

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedsSpider:
        """Read the settings once: the root, the allowed domains, the feeds, and what the
        index already knows (archived ids and URLs, failures waiting for their next try).
        Raises FeedConfigError for a bad feeds file or feed name."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.root = Path(settings.get("ARCHIVE_ROOT"))
        spider.allowed = tuple(settings.getlist("ARCHIVE_ALLOWED_DOMAINS"))
        spider.allowed_domains = list(spider.allowed)
        spider.default_categories = tuple(settings.getlist("ARCHIVE_DEFAULT_CATEGORIES"))
        spider.stale_after = settings.getfloat("ARCHIVE_FEED_STALE_AFTER")
        spider.configure(settings)
        spider.refresh = settings.getbool("ARCHIVE_REFRESH")
        spider.known, spider.fetch_times, spider.url_ids, spider.blocked = set(), {}, {}, set()
        if (spider.root / "index.db").is_file():  # read only: the pipeline holds the writes
            with Index.for_root(spider.root, readonly=True) as index:
                spider.known = index.known_keys()
                spider.fetch_times = index.fetch_times()
                spider.url_ids = index.url_ids()
                spider.blocked = index.blocked_urls(
                    max_attempts=settings.getint("ARCHIVE_RETRY_MAX_ATTEMPTS")
                )
        # Entries wait here until every feed is read, so that an article listed by several
        # feeds is requested once, for the feed listed first: the post is the same every run.
        spider.pending = {}
        spider.queue = []
        spider.chunk = max(1, settings.getint("ARCHIVE_SCHEDULE_CHUNK", 500))
        spider.listed = set()
        spider.feed_order = {feed.name: number for number, feed in enumerate(spider.feeds)}
        crawler.signals.connect(spider.schedule_pending, signal=signals.spider_idle)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        """Choose the feeds to crawl from the settings (see the class docstring)."""
        path = settings.get("ARCHIVE_FEEDS_FILE")
        self.feeds = select_feeds(Path(path) if path else None, settings.getlist("ARCHIVE_FEEDS"))

    # -- requests -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Yield the request of each feed."""
        for feed in self.feeds:
            yield self.feed_request(feed)

    def feed_request(self, feed: FeedConfig) -> scrapy.Request:
        """The request of a feed document (never filtered as a duplicate or offsite)."""
        self.crawler.stats.inc_value("feed/requested")
        return scrapy.Request(
            feed.url,
            callback=self.parse_feed,
            errback=self.feed_failed,
            dont_filter=True,
            # max-age=0: always ask the server (conditionally), never trust a guessed freshness
            headers={"Cache-Control": "max-age=0"},
            meta={"feed": feed, "allow_offsite": True},
        )

    def add_entry(self, entry: FeedEntry, feed: FeedConfig, categories: tuple[str, ...]) -> None:
        """Queue an entry's article page unless it is archived already, queued by another
        feed, or not on an allowed domain."""
        stats = self.crawler.stats
        stats.inc_value("entry/seen")
        key = self.url_ids.get(entry.url) or article_id(entry.url)
        rank = (self.feed_order.get(feed.name, len(self.feed_order)), len(self.listed))
        if key in self.listed:
            stats.inc_value("entry/duplicate")  # listed again in this run
            queued = self.pending.get(key)
            if queued is not None and rank < queued[0]:  # the feed listed first wins
                self.pending[key] = (rank, entry, feed, categories)
            return
        self.listed.add(key)
        if entry.url in self.known or key in self.known:
            fetched = self.fetch_times.get(key) or ""
            changed = entry.updated is not None and iso_utc(entry.updated) > fetched
            if not (self.refresh or changed):
                stats.inc_value("entry/known")
                return
            stats.inc_value("entry/refetched")
            logger.info(
                "fetching %s again: %s", entry.url, "refresh" if self.refresh else "changed"
            )
        if entry.url in self.blocked and not self.refresh:
            stats.inc_value("entry/deferred")
            return
        if not is_sina_host(urlsplit(entry.url).hostname, self.allowed):
            stats.inc_value("entry/offsite")
            logger.info("not following %s: not on an allowed domain", entry.url)
            return
        self.pending[key] = (rank, entry, feed, categories)

    def schedule_pending(self) -> None:
        """On idle: request the next ``ARCHIVE_SCHEDULE_CHUNK`` queued article pages, in feed
        order, and keep the spider open. Requests are made a chunk at a time so that memory
        does not grow with the number of entries."""
        if self.pending:
            self.queue = sorted(self.pending.values(), key=lambda item: item[0])
            self.pending = {}
        if not self.queue:
            return
        chunk, self.queue = self.queue[: self.chunk], self.queue[self.chunk :]
        for _, entry, feed, categories in chunk:
            self.crawler.engine.crawl(self.article_request(entry, feed, categories))
        raise DontCloseSpider

    def article_request(
        self, entry: FeedEntry, feed: FeedConfig, categories: tuple[str, ...]
    ) -> scrapy.Request:
        """The request of an entry's article page."""
        return scrapy.Request(
            entry.url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={"entry": entry, "feed": feed, "categories": categories, "dont_cache": True},
        )

    # -- callbacks ------------------------------------------------------------------------------

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Parse a feed document and request each entry's article page."""
        feed: FeedConfig = response.meta["feed"]
        self.crawler.stats.inc_value("response/received")
        if "cached" in response.flags:
            self.crawler.stats.inc_value("feed/not_modified")
        doc = parse_feed(
            response.body,
            response.url,
            feed=feed.name,
            kind=feed.kind,
            content_type=response.headers.get("Content-Type", b"").decode("latin-1"),
        )
        if doc.error:
            self.crawler.stats.inc_value("feed/failed")
            logger.warning("feed %s (%s): %s", feed.name, response.url, doc.error)
            yield PageFailure(feed.url, feed.name, "bad_feed", doc.error)
            return
        self.crawler.stats.inc_value("feed/read")
        categories = feed.categories
        if categories is None:
            categories = (doc.title,) if doc.title else self.default_categories
        logger.info("feed %s (%s): %d entries", feed.name, response.url, len(doc.entries))
        newest = self.report_staleness(feed, response.url, doc.entries)
        yield FeedPolled(feed.url, feed.name, len(doc.entries), newest)
        for entry in doc.entries:
            self.add_entry(entry, feed, categories)

    def report_staleness(
        self, feed: FeedConfig, url: str, entries: list[FeedEntry]
    ) -> datetime | None:
        """Warn (and count ``feed/empty`` / ``feed/stale``) when a feed lists nothing, or when
        its newest entry is older than ARCHIVE_FEED_STALE_AFTER seconds; return the newest
        entry's time."""
        times = [t for e in entries for t in (e.updated, e.published) if t is not None]
        newest = max(times) if times else None
        stats = self.crawler.stats
        if not entries:
            stats.inc_value("feed/empty")
            logger.warning("feed %s (%s) lists no entries", feed.name, url)
        elif newest is not None and self.stale_after > 0:
            age = (datetime.now(UTC) - newest).total_seconds()
            if age > self.stale_after:
                stats.inc_value("feed/stale")
                logger.warning(
                    "feed %s (%s) is stale: its newest entry is %.1f days old (%s)",
                    feed.name,
                    url,
                    age / 86400,
                    newest.isoformat(),
                )
        return newest

    def parse_article(self, response: Response) -> Iterator[Any]:
        """Extract the article of a page, or report why there is none."""
        entry: FeedEntry | None = response.meta.get("entry")
        feed: FeedConfig | None = response.meta.get("feed")
        feed_name = feed.name if feed else ""
        self.crawler.stats.inc_value("response/received")
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        started = time.process_time()
        try:
            check_page_response(self._requested_url(response), response.url, content_type)
            page = ArticlePage(response.url, response.body, content_type)
            article = page.to_article(
                entry,
                feed=feed_name,
                categories=response.meta.get("categories") or self.default_categories,
                author=feed.author if feed else "新浪财经",
            )
            del page  # the page's tree is freed now, and counted with the extraction
            self.crawler.stats.inc_value("cpu/extract", time.process_time() - started)
            yield article
        except NotAnArticle as exc:
            self.crawler.stats.inc_value("article/failed")
            self.crawler.stats.inc_value(f"article/dropped/{exc.reason}")
            logger.warning("no article: %s", exc.detail)
            yield PageFailure(self._requested_url(response), feed_name, exc.reason, exc.detail)
        except Exception as exc:  # a page no rule foresaw must not pass unrecorded
            self.crawler.stats.inc_value("article/failed")
            self.crawler.stats.inc_value("article/dropped/extract_error")
            logger.exception("cannot extract %s", response.url)
            detail = f"{response.url}: {type(exc).__name__}: {exc}"
            yield PageFailure(self._requested_url(response), feed_name, "extract_error", detail)

    def feed_failed(self, failure: Failure) -> Iterator[PageFailure]:
        """Count and record a feed that could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        feed: FeedConfig = request.meta["feed"]
        reason = failure_reason(failure)
        self._count_response(failure)
        self.crawler.stats.inc_value("feed/failed")
        logger.warning("feed %s (%s) failed: %s", feed.name, request.url, reason)
        yield PageFailure(
            feed.url,
            feed.name,
            reason,
            str(failure.value),
            retry_after=request.meta.get("retry_after", 0.0),
        )

    def article_failed(self, failure: Failure) -> Iterator[PageFailure]:
        """Count and record an article page that could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        feed: FeedConfig | None = request.meta.get("feed")
        reason = failure_reason(failure)
        self._count_response(failure)
        if request.meta.get("fetch_url"):
            self.crawler.stats.inc_value("entry/seen")
        self.crawler.stats.inc_value("article/failed")
        self.crawler.stats.inc_value(f"article/dropped/{reason}")
        requested = (request.meta.get("redirect_urls") or [request.url])[0]
        logger.warning("article %s failed: %s", requested, reason)
        yield PageFailure(
            requested,
            feed.name if feed else "",
            reason,
            str(failure.value),
            retry_after=request.meta.get("retry_after", 0.0),
        )

    def _count_response(self, failure: Failure) -> None:
        # An HTTP error status, or robots.txt saying no, is still an answer: the network works
        # (exit code 1, not 3).
        if isinstance(failure.value, HttpError) or failure_reason(failure) == "robots_txt":
            self.crawler.stats.inc_value("response/received")

    @staticmethod
    def _requested_url(response: Response) -> str:
        entry = response.meta.get("entry")
        redirects = response.meta.get("redirect_urls")
        return entry.url if entry else (redirects[0] if redirects else response.url)
