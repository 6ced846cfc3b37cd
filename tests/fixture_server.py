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
import threading
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
    """What the server answers for one URL: a file, or a handler for fault routes."""

    path: Path | None = None
    content_type: str = "text/html"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

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
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def log(self, host: str, path: str, status: int) -> None:
        with self.lock:
            self.requests.append((host, path, status))

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
        if url.path == "/robots.txt":
            return Route(body=ROBOTS, content_type="text/plain")
        routes = self.server.routes
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
        body = route.content()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if route.status == 200 and self.headers.get("If-None-Match") == etag:
            self._send(304, b"", route.content_type, {"ETag": etag})
            self.server.log(host, target, 304)
            return
        headers = {"ETag": etag, **route.headers}
        self._send(route.status, body, route.content_type, headers)
        self.server.log(host, target, route.status)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
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
