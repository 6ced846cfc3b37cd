"""ConnectToDownloadHandler: send every request to one origin, as curl's ``--connect-to`` does.

Used to crawl a captured copy of the site served on loopback: the request keeps its real URL
everywhere in Scrapy (robots.txt, the HTTP cache, the dupefilter, the spider, the archive) and
only the TCP connection goes to ``ARCHIVE_CONNECT_TO``, with the real host in the ``Host``
header. Enabled by the spiders when ``ARCHIVE_CONNECT_TO`` is set.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response


class ConnectToDownloadHandler(HTTP11DownloadHandler):
    """HTTP/1.1 download handler that connects to ``ARCHIVE_CONNECT_TO`` (``http://host:port``).

    Raises NotConfigured when the setting is empty or not an http origin.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        origin = crawler.settings.get("ARCHIVE_CONNECT_TO") or ""
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NotConfigured("ARCHIVE_CONNECT_TO must be an origin like http://127.0.0.1:8000")
        self.scheme, self.netloc = parts.scheme, parts.netloc

    async def download_request(self, request: Request) -> Response:
        """Download ``request`` from the origin; the response carries the real URL."""
        real = urlsplit(request.url)
        target = urlunsplit((self.scheme, self.netloc, real.path or "/", real.query, ""))
        headers = request.headers.copy()
        headers[b"Host"] = real.netloc.encode("ascii")
        response = await super().download_request(request.replace(url=target, headers=headers))
        return response.replace(url=request.url)
