"""A loopback HTTP server that serves the captured Sina fixtures under their real URLs.

Requests arrive with the real host in the ``Host`` header (the crawler's ``--connect-to``), so
one server stands in for every Sina host. It serves:

- ``feed.mix.sina.com.cn/api/roll/get?…lid=1686`` → ``api/constructed_roll_lid1686.json``;
  ``…lid=2516`` → the real roll response ``api/r3_sina_roll_153_2516_2026-09-29_page1.json``;
- ``rss.sina.com.cn/roll/finance/hot_roll.xml`` → ``feeds/constructed_sina_rss_hot_roll.xml``;
- every page of ``pages/`` at the URL MANIFEST.tsv gives for it (scheme and query ignored);
- ``/robots.txt`` allowing everything; anything else is a 404.

Responses carry an ``ETag`` and answer ``If-None-Match`` with 304, like Sina's servers. Every
request is logged in ``server.requests`` as ``(host, path_with_query, status)``.

Run it by hand to try the crawler on the fixtures::

    python -m tests.fixture_server --port 8000
    sina-archive crawl --connect-to http://127.0.0.1:8000 --feeds tests/data/fixture_feeds.toml
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import FIXTURES, manifest

ROBOTS = b"User-agent: *\nAllow: /\n"


@dataclass
class Route:
    """What the server answers for one URL: a file or bytes with a status and headers, or a
    ``fault`` that misbehaves on purpose: ``reset`` (reset the connection before answering),
    ``drop`` (reset it in the middle of a chunked body),
    ``truncate`` (send less than Content-Length), ``stall`` (answer after ``delay`` seconds,
    or when the server stops) or ``fail_first`` (answer ``status`` for the first ``times``
    requests, then 200)."""

    path: Path | None = None
    content_type: str = "text/html"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    fault: str = ""
    delay: float = 0.0
    times: int = 0

    def content(self) -> bytes:
        if self.body is not None:
            return self.body
        assert self.path is not None
        return self.path.read_bytes()


def page_routes(fixtures: Path = FIXTURES) -> dict[tuple[str, str], Route]:
    """Return {(host, path): Route} for every page of fixtures/pages/ at its real URL."""
    routes = {}
    for name, row in manifest().items():
        if row["kind"] != "pages" or not name.endswith(".html"):
            continue
        url = urlsplit(row["url"].split(" ")[0])
        charset = "; charset=utf-8" if row["encoding"] == "utf-8" else ""
        routes[(url.hostname or "", url.path)] = Route(
            fixtures / "pages" / name, content_type="text/html" + charset
        )
    return routes


def feed_routes(fixtures: Path = FIXTURES) -> dict[tuple[str, str], Route]:
    """Return the routes of the feeds: roll API (by ``lid``) and the RSS feed."""
    json_type = "application/json; charset=utf-8"
    return {
        ("feed.mix.sina.com.cn", "/api/roll/get?lid=1686"): Route(
            fixtures / "api" / "constructed_roll_lid1686.json", json_type
        ),
        ("feed.mix.sina.com.cn", "/api/roll/get?lid=2516"): Route(
            fixtures / "api" / "r3_sina_roll_153_2516_2026-09-29_page1.json", json_type
        ),
        ("rss.sina.com.cn", "/roll/finance/hot_roll.xml"): Route(
            fixtures / "feeds" / "constructed_sina_rss_hot_roll.xml", "application/xml"
        ),
    }


class FixtureServer(ThreadingHTTPServer):
    """The server; ``routes`` maps (host, path) to a Route and may be changed by a test."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: dict[tuple[str, str], Route]) -> None:
        super().__init__(address, FixtureHandler)
        self.routes = routes
        self.requests: list[tuple[str, str, int]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.hits: dict[tuple[str, str], int] = {}

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def log(self, host: str, path: str, status: int) -> None:
        with self.changed:
            self.requests.append((host, path, status))
            self.times.append(time.monotonic())
            self.changed.notify_all()

    def wait_for_requests(
        self, count: int, timeout: float = 60.0, until: Callable[[], bool] | None = None
    ) -> bool:
        """Block until ``count`` requests were logged (True), ``until()`` holds (checked every
        50 ms; e.g. "the client exited") or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (until is not None and until()):
                    return False
                self.changed.wait(min(left, 0.05))
            return True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that was killed or gave up mid-answer is part of the tests, not an error.
        pass

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def requested(self, predicate: Callable[[str, str], bool]) -> list[tuple[str, str, int]]:
        """Return the logged requests for which ``predicate(host, path)`` holds."""
        with self.lock:
            return [r for r in self.requests if predicate(r[0], r[1])]


class FixtureHandler(BaseHTTPRequestHandler):
    server: FixtureServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def _route(self, host: str, target: str) -> Route | None:
        url = urlsplit(target)
        routes = self.server.routes
        if (host, target) in routes:
            return routes[(host, target)]
        if url.path == "/robots.txt":
            return routes.get(("*", "/robots.txt"), Route(body=ROBOTS, content_type="text/plain"))
        if url.path == "/api/roll/get":
            lid = parse_qs(url.query).get("lid", [""])[0]
            return routes.get((host, f"/api/roll/get?lid={lid}"))
        return routes.get((host, url.path))

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        target = self.path
        host = (self.headers.get("Host") or "").split(":")[0]
        if target.startswith(("http://", "https://")):  # a proxy request: absolute URI
            parts = urlsplit(target)
            host, target = (
                parts.hostname or "",
                parts.path + ("?" + parts.query if parts.query else ""),
            )
        route = self._route(host, target)
        if route is None:
            self._send(404, b"not found", "text/plain", {})
            self.server.log(host, target, 404)
            return
        if route.fault and self._misbehave(host, target, route):
            return
        body = route.content()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if route.status == 200 and self.headers.get("If-None-Match") == etag:
            self._send(304, b"", route.content_type, {"ETag": etag})
            self.server.log(host, target, 304)
            return
        status = 200 if route.fault == "fail_first" else route.status
        headers = {"ETag": etag, **route.headers} if status == 200 else dict(route.headers)
        if route.fault == "fail_first":
            headers.pop("Retry-After", None)
        self._send(status, body, route.content_type, headers)
        self.server.log(host, target, status)

    def _misbehave(self, host: str, target: str, route: Route) -> bool:
        """Serve a fault route; return False when the route answers normally this time."""
        body = route.content()
        if route.fault == "fail_first":
            with self.server.lock:
                key = (host, target)
                self.server.hits[key] = self.server.hits.get(key, 0) + 1
                if self.server.hits[key] > route.times:
                    return False
            self._send(route.status, b"try again", "text/plain", route.headers)
            self.server.log(host, target, route.status)
            return True
        self.server.log(host, target, route.status)
        if route.fault == "reset":  # no answer at all: the connection is reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return True
        if route.fault == "stall":
            self.server.stopping.wait(route.delay)
            self._send(route.status, body, route.content_type, route.headers)
            return True
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        half = body[: len(body) // 2]
        if route.fault == "drop":  # a chunked body, cut by a reset, as a crashed server does
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
        else:  # fewer bytes than Content-Length, then a clean close
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(half)
        self.wfile.flush()
        if route.fault == "drop":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True
        return True

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        try:
            self._write(status, body, content_type, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)

    def _write(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if status != 304 else 0))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


def all_routes() -> dict[tuple[str, str], Route]:
    """Every page and feed route."""
    return {**page_routes(), **feed_routes()}


@contextmanager
def serving(routes: dict[tuple[str, str], Route] | None = None) -> Iterator[FixtureServer]:
    """Run a FixtureServer on 127.0.0.1 (a free port) in a thread for the duration."""
    server = FixtureServer(("127.0.0.1", 0), routes if routes is not None else all_routes())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Sina fixtures on loopback.")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = FixtureServer(("127.0.0.1", args.port), all_routes())
    print(f"serving {len(server.routes)} fixture URLs on {server.origin} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
