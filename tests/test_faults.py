"""Network and site faults, each served by a loopback route: every failure is counted, recorded
in the index with its reason and attempts, retried with backoff where it may pass, and the
crawl goes on."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import FAST, FIXTURES, run_cli
from tests.fixture_server import Route, serving

HOST = "finance.sina.com.cn"
GOOD_PAGE = FIXTURES / "pages" / "htm_ksina_article_3057540037_b63e5bc502000bg5u.html"
HOME = b"<html><head><title>\xe6\x96\xb0\xe6\xb5\xaa\xe8\xb4\xa2\xe7\xbb\x8f</title></head><body><ul><li>index</li></ul></body></html>"  # noqa: E501


def url(name: str) -> str:
    return f"https://{HOST}/fault/{name}/doc-ifault{name.replace('-', '')[:8]:0>8}.shtml"


FAULTS = {
    "500": Route(status=500, body=b"boom", content_type="text/plain"),
    "502": Route(status=502, body=b"bad gateway", content_type="text/plain"),
    "503": Route(status=503, body=b"unavailable", content_type="text/plain"),
    "404": Route(status=404, body=b"gone", content_type="text/plain"),
    "410": Route(status=410, body=b"gone for good", content_type="text/plain"),
    "503-once": Route(
        GOOD_PAGE, "text/html; charset=utf-8", status=503, fault="fail_first", times=1
    ),
    "429-soon": Route(
        GOOD_PAGE,
        "text/html; charset=utf-8",
        status=429,
        fault="fail_first",
        times=1,
        headers={"Retry-After": "1"},
    ),
    "429-later": Route(status=429, body=b"slow down", headers={"Retry-After": "7200"}),
    "timeout": Route(GOOD_PAGE, "text/html", fault="stall", delay=60),
    "dropped": Route(GOOD_PAGE, "text/html", fault="drop"),
    "reset": Route(GOOD_PAGE, "text/html", fault="reset"),
    "truncated": Route(GOOD_PAGE, "text/html", fault="truncate"),
    "loop": Route(status=302, body=b"", headers={"Location": "/fault/loop/doc-ifaultloop.shtml"}),
    "deleted": Route(status=302, body=b"", headers={"Location": f"https://{HOST}/"}),
    "pdf": Route(body=b"%PDF-1.4 ...", content_type="application/pdf"),
    "huge": Route(
        body=b"<html><body><div id='artibody'>" + b"x" * 200_000 + b"</div></body></html>"
    ),
}
EXPECTED_REASONS = {
    "500": "http_500",
    "502": "http_502",
    "503": "http_503",
    "404": "http_404",
    "410": "http_410",
    "429-later": "http_429",
    "timeout": "timeout",
    "dropped": "truncated",  # the body ended early: dropped mid-body or closed early alike
    "truncated": "truncated",
    "reset": "connection_lost",
    "loop": "redirect_loop",
    "deleted": "soft_404",
    "pdf": "not_html",
    "huge": "too_large",
}
SETTINGS = [
    *FAST,
    "-s",
    "RETRY_TIMES=2",
    "-s",
    "ARCHIVE_RETRY_BACKOFF_BASE=0.05",
    "-s",
    "DOWNLOAD_TIMEOUT=2",
    "-s",
    "DOWNLOAD_MAXSIZE=60000",
]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    routes = {
        (HOST, f"/fault/{name}/" + url(name).rsplit("/", 1)[1]): r for name, r in FAULTS.items()
    }
    routes[(HOST, "/fault/loop/doc-ifaultloop.shtml")] = FAULTS["loop"]
    routes[(HOST, "/")] = Route(body=HOME, content_type="text/html; charset=utf-8")
    with serving(routes) as server:
        started = datetime.now(UTC)
        result = run_cli(
            "fetch",
            *[url(n) for n in FAULTS],
            "--root",
            str(root),
            "--connect-to",
            server.origin,
            *SETTINGS,
        )
        log = list(zip(server.requests, server.times, strict=True))
    db = sqlite3.connect(root / "index.db")
    db.row_factory = sqlite3.Row
    failures = {row["url"]: dict(row) for row in db.execute("select * from failures")}
    return {"result": result, "log": log, "failures": failures, "started": started, "db": db}


def hits(faulty, name: str) -> list[float]:
    path = url(name).split(HOST, 1)[1]
    return [when for (host, target, _), when in faulty["log"] if target == path]


def statuses(faulty, name: str) -> list[int]:
    path = url(name).split(HOST, 1)[1]
    return [status for (host, target, status), _ in faulty["log"] if target == path]


def failure(faulty, name: str) -> dict:
    return faulty["failures"][url(name)]


def test_crawl_goes_on_and_summary_counts_failures(faulty):
    result = faulty["result"]
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"new 2, unchanged 0, duplicate 0, failed {len(EXPECTED_REASONS)}," in result.stdout
    assert "Traceback" not in result.stderr
    # 503-once and 429-soon end well: the page they serve names no canonical URL, so two posts
    assert faulty["db"].execute("select count(*) from articles").fetchone()[0] == 2


@pytest.mark.parametrize("name", sorted(EXPECTED_REASONS))
def test_each_fault_is_recorded_with_its_reason(faulty, name):
    row = failure(faulty, name)
    assert row["reason"] == EXPECTED_REASONS[name]
    assert row["attempts"] == 1 and row["feed"] == "" and row["last_try"]
    assert row["next_try"] > row["last_try"]


@pytest.mark.parametrize("name", ["500", "502", "503", "timeout", "dropped", "truncated", "reset"])
def test_transient_faults_are_retried_with_backoff(faulty, name):
    times = hits(faulty, name)
    if name == "reset":  # Twisted itself tries a reset GET again at once on a new connection
        times = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > 0.04]
    assert len(times) == 3  # the first try and RETRY_TIMES=2 retries
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # backoff 0.05 s, 0.1 s
    row = failure(faulty, name)
    next_try = datetime.fromisoformat(row["next_try"]) - datetime.fromisoformat(row["last_try"])
    assert next_try == timedelta(seconds=300)  # ARCHIVE_RETRY_BACKOFF_TRANSIENT


@pytest.mark.parametrize("name", ["404", "410", "pdf", "deleted"])
def test_permanent_faults_are_not_retried_in_the_run(faulty, name):
    assert len(hits(faulty, name)) == 1
    row = failure(faulty, name)
    next_try = datetime.fromisoformat(row["next_try"]) - datetime.fromisoformat(row["last_try"])
    assert next_try == timedelta(seconds=3600)  # ARCHIVE_RETRY_BACKOFF


def test_503_once_then_ok_is_archived(faulty):
    assert statuses(faulty, "503-once") == [503, 200], faulty["log"]
    assert url("503-once") not in faulty["failures"]


def test_429_retry_after_is_honoured(faulty):
    first, second = hits(faulty, "429-soon")
    assert second - first >= 1.0  # Retry-After: 1
    assert url("429-soon") not in faulty["failures"]


def test_429_with_a_long_retry_after_is_left_to_a_later_run(faulty):
    assert len(hits(faulty, "429-later")) == 1
    row = failure(faulty, "429-later")
    wait = datetime.fromisoformat(row["next_try"]) - datetime.fromisoformat(row["last_try"])
    assert wait >= timedelta(seconds=7200)


def test_redirect_loop_stops(faulty):
    loop = [t for (host, target, _), t in faulty["log"] if target.endswith("doc-ifaultloop.shtml")]
    assert len(hits(faulty, "loop")) == 1 and 5 <= len(loop) <= 25  # REDIRECT_MAX_TIMES


def test_soft_404_home_page_is_not_archived_as_the_article(faulty):
    titles = [t for (t,) in faulty["db"].execute("select title from articles")]
    assert "新浪财经" not in titles


def test_failed_urls_are_retried_by_later_runs_up_to_a_limit(tmp_path):
    target = url("404")
    routes = {(HOST, target.split(HOST, 1)[1]): FAULTS["404"]}
    settings = [*FAST, "-s", "ARCHIVE_RETRY_BACKOFF=0", "-s", "ARCHIVE_RETRY_MAX_ATTEMPTS=2"]
    feed = tmp_path / "feed.json"
    entry = {"url": target, "title": "t", "ctime": str(int(datetime.now(UTC).timestamp()))}
    feed.write_text(json.dumps({"result": {"data": [entry]}}), "utf-8")
    routes[("feed.mix.sina.com.cn", "/api/roll/get?lid=1")] = Route(feed, "application/json")
    feed_url = "https://feed.mix.sina.com.cn/api/roll/get?lid=1"
    outcomes = []
    with serving(routes) as server:
        for _ in range(3):
            run = run_cli(
                "crawl",
                "--feed",
                feed_url,
                "--root",
                str(tmp_path / "root"),
                "--connect-to",
                server.origin,
                *settings,
            )
            outcomes.append(run.returncode)
        page_hits = server.requested(lambda host, path: path == target.split(HOST, 1)[1])
    assert outcomes == [1, 1, 0]  # tried in runs 1 and 2, then given up (deferred)
    assert len(page_hits) == 2
    db = sqlite3.connect(tmp_path / "root" / "index.db")
    assert db.execute("select attempts from failures where url = ?", [target]).fetchone() == (2,)


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"result": {"data": []}}', "lists no entries"),
        (
            b'{"result": {"data": [{"url": "https://finance.sina.com.cn/a/doc-iold000001.shtml",'
            b' "title": "old", "ctime": "1300000000"}]}}',
            "is stale",
        ),
    ],
)
def test_empty_or_stale_feed_is_reported(tmp_path, body, message):
    routes = {
        ("feed.mix.sina.com.cn", "/api/roll/get?lid=9"): Route(
            body=body, content_type="application/json"
        )
    }  # noqa: E501
    with serving(routes) as server:
        feed_url = "https://feed.mix.sina.com.cn/api/roll/get?lid=9"
        args = ["--root", str(tmp_path), "--connect-to", server.origin, "-q", *FAST]
        run = run_cli("crawl", "--feed", feed_url, *args)
    assert message in run.stderr
