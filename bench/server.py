"""A loopback server for the benchmark: N synthetic article pages and a roll feed listing them,
made on demand (memory stays flat however large N is). Feeds carry an ETag and answer
``If-None-Match`` with 304, as Sina's servers do. Requests are counted by kind."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from bench.pages import PageFactory

_PAGE = re.compile(r"/doc-ibench(\d{9})\.shtml$")


class BenchServer(ThreadingHTTPServer):
    """Serves ``factory``'s pages ``0 … pages - 1`` and ``/api/roll/get?lid=…&num=N``."""

    daemon_threads = True

    def __init__(self, factory: PageFactory, pages: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.factory = factory
        self.pages = pages
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: BenchServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        match = _PAGE.search(url.path)
        if url.path == "/api/roll/get":
            query = parse_qs(url.query)
            num = min(int(query.get("num", ["50"])[0]), self.server.pages)
            body = self.server.factory.roll(0, num)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.server.count("feed_304")
                self._send(304, b"", "application/json", {"ETag": etag})
                return
            self.server.count("feed")
            self._send(200, body, "application/json; charset=utf-8", {"ETag": etag})
        elif match and int(match.group(1)) < self.server.pages:
            self.server.count("page")
            body = self.server.factory.page(int(match.group(1)))
            self._send(200, body, "text/html; charset=utf-8", {})
        else:
            self.server.count("other")
            self._send(404, b"not found", "text/plain", {})

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if status != 304 else 0))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
