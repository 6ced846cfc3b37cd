"""Downloader middlewares: BackoffRetryMiddleware and MetaRefreshMiddleware.

BackoffRetryMiddleware is Scrapy's RetryMiddleware, waiting before each retry.

Scrapy retries a failed request at once. A site that answers 429 or 503 is asking for time,
often in a ``Retry-After`` header (RFC 9110 section 10.2.3: seconds or an HTTP date), so this
middleware waits ``Retry-After`` when given, else ``ARCHIVE_RETRY_BACKOFF_BASE * 2 ** n``
seconds before the n-th retry (capped at ``ARCHIVE_RETRY_BACKOFF_MAX``). A ``Retry-After``
longer than ``ARCHIVE_RETRY_AFTER_MAX`` is not waited for within the run: the response goes to
the spider as a failure, and the URL's next try in a later run honours it.

Stats: ``retry/backoff_seconds`` (total waited), ``retry/retry_after_too_long``.
"""

from __future__ import annotations

import codecs
import email.utils
from datetime import UTC, datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import reactor, task
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay-seconds or an HTTP date. Return seconds from
    ``now`` (never negative), or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Retry with a wait (see the module docstring). Replaces Scrapy's RetryMiddleware in the
    settings (same priority, same RETRY_* settings)."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.base = settings.getfloat("ARCHIVE_RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("ARCHIVE_RETRY_BACKOFF_MAX", 30.0)
        self.retry_after_max = settings.getfloat("ARCHIVE_RETRY_AFTER_MAX", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def backoff(self, request: Request) -> float:
        """Seconds to wait before retrying ``request`` when the server named no time."""
        return min(self.cap, self.base * 2 ** request.meta.get("retry_times", 0))

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("retry/backoff_seconds", seconds)
            await maybe_deferred_to_future(task.deferLater(reactor, seconds))

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: object = None
    ) -> Request | Response:
        """Retry a retryable status after ``Retry-After`` or the backoff; return the response
        (a failure for the spider) when retries are spent or the server asks too long a wait,
        noting that wait in ``request.meta["retry_after"]`` (seconds)."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is not None and delay > self.retry_after_max:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("retry/retry_after_too_long")
            request.meta["retry_after"] = delay
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            if delay is not None:
                request.meta["retry_after"] = delay
            return response
        await self._wait(self.backoff(request) if delay is None else delay)
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: object = None
    ) -> Request | Response | None:
        """Retry a download error (timeout, lost connection …) after the backoff."""
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await self._wait(self.backoff(request))
        return retry


#: Scrapy looks for ``<meta http-equiv="refresh">`` in a page's first 4,096 characters; in the
#: encodings of :data:`NARROW_ENCODINGS` a character takes at most 4 bytes.
REFRESH_SCAN_BYTES = 4096 * 4
#: Encodings (Python codec names, as w3lib maps labels: GBK and GB2312 are read as GB18030,
#: Big5 as Big5-HKSCS, Latin-1 and ASCII as cp1252) that write ASCII as ASCII bytes, keep no
#: shift state and take at most 4 bytes a character: a meta refresh in them has the bytes
#: ``refresh``, which w3lib (2.5 and later) requires in the tag's own attributes.
NARROW_ENCODINGS = frozenset({"utf-8", "gb18030", "big5hkscs", "cp1252"})


def declared_encoding(response: Response) -> str | None:
    """The Python codec a response declares (BOM, else ``Content-Type`` charset, else
    ``<meta>`` charset, in the order Scrapy's TextResponse reads them after an encoding given
    to the response itself, which no middleware before this one gives; labels mapped by
    w3lib), or None when it declares none or an unknown one."""
    body = response.body
    label = read_bom(body)[0]
    if not label:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        label = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
    name = resolve_encoding(label) if label else None
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def may_declare_refresh(response: Response) -> bool:
    """False when ``response`` cannot hold a meta refresh where Scrapy looks for one: it
    declares an encoding of :data:`NARROW_ENCODINGS` and has no ``refresh`` (any case) in
    its first :data:`REFRESH_SCAN_BYTES` bytes. True (let Scrapy look) otherwise."""
    if declared_encoding(response) not in NARROW_ENCODINGS:
        return True
    return b"refresh" in response.body[:REFRESH_SCAN_BYTES].lower()


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    """Scrapy's MetaRefreshMiddleware (same settings: ``METAREFRESH_*``) that first rules a
    refresh out in the page's bytes, as w3lib's ``get_meta_refresh`` (2.5) does for bytes.

    Scrapy decodes the whole page (``response.text``) to read its first 4,096 characters:
    about 0.1 ms of CPU for each ~100 KB article page, which has no meta refresh. A page in a
    declared narrow encoding without the bytes ``refresh`` (:func:`may_declare_refresh`)
    passes through undecoded; any other page (UTF-16, ISO-2022, EBCDIC, an undeclared
    encoding …) gets Scrapy's own check. Replaces Scrapy's in the settings (same priority).
    """

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: object = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_declare_refresh(response):
            return response
        return super().process_response(request, response)
