"""Crash safety, full and read-only disks, concurrency, updated articles, robots.txt and the
host allow-list, each against the real CLI and a loopback server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from datasette.app import Datasette

from archive import Archive
from archive.post import Post
from tests.conftest import FAST, FIXTURES, REPO, run_cli
from tests.fixture_server import Route, all_routes, serving

FEEDS = REPO / "tests" / "data" / "fixture_feeds.toml"


def crawl_args(root: Path, origin: str, *extra: str) -> list[str]:
    return [
        "crawl",
        "--root",
        str(root),
        "--feeds",
        str(FEEDS),
        "--connect-to",
        origin,
        *FAST,
        *extra,
    ]


def start_cli(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def assert_consistent(root: Path) -> None:
    """No torn or empty post, no row whose file is missing or differs, no visible temp file."""
    for path in (root / "posts").rglob("*"):
        if path.is_file():
            assert path.name.endswith(".md") or path.name.startswith("."), path
            if path.name.endswith(".md") and not path.name.startswith("."):
                assert path.stat().st_size > 0, path
                Post.from_text(path.read_text("utf-8"), source=str(path))
    if not (root / "index.db").exists():
        return
    db = sqlite3.connect(root / "index.db")
    try:
        tables = {name for (name,) in db.execute("select name from sqlite_master")}
        if "articles" not in tables:
            return
        for relpath, sha in db.execute("select path, sha256 from articles"):
            data = (root / relpath).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha, relpath
    finally:
        db.close()


def test_sigkill_at_random_moments_never_tears_the_archive(tmp_path):
    """20 SIGKILLs at random points of crawls of the real fixtures (a fresh archive whenever
    one is complete): after each, the archive is consistent; a last run completes it."""
    chooser = random.Random(4)
    kills, roots = 0, [tmp_path / "archive-0"]
    with serving() as server:
        for _ in range(80):
            if kills == 20:
                break
            root = roots[-1]
            posts = len(list((root / "posts").rglob("*.md"))) if (root / "posts").exists() else 0
            if posts == 26:
                roots.append(tmp_path / f"archive-{len(roots)}")
                root, posts = roots[-1], 0
            server.requests.clear()
            process = start_cli(*crawl_args(root, server.origin))
            # a random point of the work left: robots.txt and feeds first, then the pages
            server.wait_for_requests(
                chooser.randint(0, 26 - posts + 4),
                timeout=30,
                until=lambda process=process: process.poll() is not None,
            )
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            kills += process.returncode == -signal.SIGKILL
            assert_consistent(root)
        assert kills == 20
        for root in roots:
            final = run_cli(*crawl_args(root, server.origin))
            assert final.returncode in (0, 1), final.stderr[-2000:]
            assert len(list((root / "posts").rglob("*.md"))) == 26
            checked = run_cli("check", "--root", str(root))
            assert checked.returncode == 0, checked.stdout
            assert not list(root.rglob(".tmp-*"))


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"),
    reason="mounts a tmpfs: run as root (CI always does)",
)


@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@needs_root
def test_disk_full_gives_a_clear_error_and_no_partial_file(tmp_path):
    with tmpfs(tmp_path / "small", "160k") as root, serving() as server:
        result = run_cli(*crawl_args(root, server.origin))
        assert result.returncode == 74, (result.stdout, result.stderr[-2000:])
        assert "cannot write the archive" in result.stderr
        assert "No space left on device" in result.stderr or "disk is full" in result.stderr
        assert not list(root.rglob(".tmp-*"))
        assert_consistent(root)


@needs_root
def test_read_only_root_gives_a_clear_error_and_changes_nothing(tmp_path):
    with tmpfs(tmp_path / "ro", "8m") as root, serving() as server:
        first = run_cli(*crawl_args(root, server.origin, "--feed", "sina-finance-china"))
        assert first.returncode == 0, first.stderr[-2000:]
        before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        result = run_cli(*crawl_args(root, server.origin, "--refresh"))
        assert result.returncode == 74, (result.stdout, result.stderr[-2000:])
        assert "Read-only file system" in result.stderr or "readonly" in result.stderr
        assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_second_crawl_while_one_runs_exits_75_at_once(tmp_path):
    routes = {
        ("feed.mix.sina.com.cn", "/api/roll/get?lid=1686"): Route(
            FIXTURES / "api" / "constructed_roll_lid1686.json",
            "application/json",
            fault="stall",
            delay=60,
        )
    }
    with serving(routes) as server:
        first = start_cli(*crawl_args(tmp_path, server.origin, "--feed", "sina-finance-china"))
        try:
            assert server.wait_for_requests(2, timeout=30)  # robots.txt, then the stalled feed
            started = time.monotonic()
            second = run_cli(*crawl_args(tmp_path, server.origin))
            assert second.returncode == 75
            assert time.monotonic() - started < 15
            assert "another crawl" in second.stderr and str(first.pid) in second.stderr
        finally:
            first.kill()
            first.communicate(timeout=30)


def has_schema(path: Path) -> bool:
    if not path.exists():
        return False
    with sqlite3.connect(path, timeout=10) as db:
        return (
            db.execute("select 1 from sqlite_master where name = 'articles'").fetchone() is not None
        )


def test_readers_work_while_a_crawl_writes(tmp_path):

    routes = {
        key: Route(r.path, r.content_type, fault="stall", delay=0.02)
        for key, r in all_routes().items()
    }
    reads = 0
    with serving(routes) as server:
        crawl = start_cli(*crawl_args(tmp_path, server.origin))
        try:
            deadline = time.monotonic() + 120
            while crawl.poll() is None and time.monotonic() < deadline:
                if not has_schema(tmp_path / "index.db"):
                    continue  # the crawl has not created its index yet
                with Archive(tmp_path) as archive:
                    list(archive.posts(limit=5))
                    archive.search("新闻")
                    archive.stats()
                listed = run_cli("list", "--root", str(tmp_path), "--json")
                assert listed.returncode == 0, listed.stderr
                datasette = Datasette([str(tmp_path / "index.db")])
                response = asyncio.run(
                    datasette.client.get("/index/articles.json", params={"_search": "新闻"})
                )
                assert response.status_code == 200, response.text
                reads += 1
        finally:
            out, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 1, err[-2000:]
    assert "database is locked" not in err
    assert reads >= 2


ARTICLE = """<html><head><meta charset="utf-8">
<meta property="article:published_time" content="2026-09-29T08:00:00+08:00"></head>
<body><h1 class="main-title">会变的文章</h1><div id="artibody">{body}</div></body></html>"""
UPDATE_URL = "https://finance.sina.com.cn/roll/2026-09-29/doc-iupdated001.shtml"


def roll(mtime: int) -> bytes:
    entry = {"url": UPDATE_URL, "title": "会变的文章", "ctime": "1790640000", "mtime": str(mtime)}
    return json.dumps({"result": {"data": [entry]}}).encode()


def test_updated_article_replaces_the_post_and_keeps_the_old_version(tmp_path):
    feed_key = ("feed.mix.sina.com.cn", "/api/roll/get?lid=7")
    page_key = ("finance.sina.com.cn", "/roll/2026-09-29/doc-iupdated001.shtml")
    old_body = "<p>　　第一版的正文说的是降息，这一段文字要足够长才算文章。</p>"
    routes = {
        feed_key: Route(body=roll(1790640000), content_type="application/json"),
        page_key: Route(
            body=ARTICLE.format(body=old_body).encode(), content_type="text/html; charset=utf-8"
        ),
    }
    feed = "https://feed.mix.sina.com.cn/api/roll/get?lid=7"
    args = ["crawl", "--feed", feed, "--root", str(tmp_path), *FAST]
    post_path = tmp_path / "posts/2026/09/29/iupdated001.md"
    with serving(routes) as server:
        args += ["--connect-to", server.origin]
        assert run_cli(*args).returncode == 0
        first = post_path.read_bytes()
        # the feed does not say it changed: not fetched again
        server.requests.clear()
        assert run_cli(*args).returncode == 0
        assert not server.requested(lambda host, path: path.startswith("/roll/"))
        # --refresh on an unchanged page: fetched, nothing rewritten
        stamp = post_path.stat().st_mtime_ns
        refreshed = run_cli(*args, "--refresh")
        assert "new 0, unchanged 1" in refreshed.stdout
        assert server.requested(lambda host, path: path.startswith("/roll/"))
        assert post_path.stat().st_mtime_ns == stamp and post_path.read_bytes() == first
        # the feed's mtime moves on and the page changed: a new version
        later = int(time.time()) + 3600
        server.routes[feed_key] = Route(body=roll(later), content_type="application/json")
        new_body = "<p>　　第二版的正文改成了降准，这一段文字要足够长才算文章。</p>"
        server.routes[page_key] = Route(
            body=ARTICLE.format(body=new_body).encode(), content_type="text/html; charset=utf-8"
        )
        updated = run_cli(*args)
    assert updated.returncode == 0 and "new 1" in updated.stdout, updated.stdout
    post = Post.from_text(post_path.read_text("utf-8"))
    assert "第二版" in post.text and post.updated is not None
    assert int(post.updated.timestamp()) == later
    versions = sorted((tmp_path / "versions" / "iupdated001").glob("*.md"))
    assert len(versions) == 1 and versions[0].read_bytes() == first
    with Archive(tmp_path) as archive:
        assert len(archive.versions("iupdated001")) == 1
        assert "第一版" in archive.get("iupdated001", version=1).text
        assert [h.post.id for h in archive.search("降准")] == ["iupdated001"]
        assert archive.search("降息") == []
    listed = run_cli("versions", "iupdated001", "--root", str(tmp_path), "--json")
    assert json.loads(listed.stdout)[0]["version"] == 1
    shown = run_cli("show", "iupdated001", "--version", "1", "--root", str(tmp_path))
    assert "第一版" in shown.stdout
    assert run_cli("check", "--root", str(tmp_path)).returncode == 0


def test_robots_txt_is_obeyed_unless_turned_off(tmp_path):
    url = "https://news.sina.com.cn/c/2018-09-28/doc-ifxeuwwr9250746.shtml"
    routes = all_routes()
    routes[("news.sina.com.cn", "/robots.txt")] = Route(
        body=b"User-agent: *\nDisallow: /c/\n", content_type="text/plain"
    )
    with serving(routes) as server:
        blocked = run_cli(
            "fetch", url, "--root", str(tmp_path), "--connect-to", server.origin, *FAST
        )
        pages = server.requested(lambda host, path: path.startswith("/c/"))
        allowed = run_cli(
            "fetch",
            url,
            "--root",
            str(tmp_path),
            "--connect-to",
            server.origin,
            "--ignore-robots",
            *FAST,
        )
    assert blocked.returncode == 1 and pages == []
    db = sqlite3.connect(tmp_path / "index.db")
    assert allowed.returncode == 0
    assert db.execute("select count(*) from articles").fetchone() == (1,)


def test_only_allowed_hosts_are_followed(tmp_path):
    entries = [
        {
            "url": "https://evil.example.com/doc-ievil00001.shtml",
            "title": "x",
            "ctime": "1790640000",
        },
        {
            "url": "https://sina.com.cn.evil.example/doc-ievil00002.shtml",
            "title": "y",
            "ctime": "1790640000",
        },
    ]
    body = json.dumps({"result": {"data": entries}}).encode()
    routes = {
        ("feed.mix.sina.com.cn", "/api/roll/get?lid=3"): Route(
            body=body, content_type="application/json"
        )
    }  # noqa: E501
    with serving(routes) as server:
        result = run_cli(
            "crawl",
            "--feed",
            "https://feed.mix.sina.com.cn/api/roll/get?lid=3",
            "--root",
            str(tmp_path),
            "--connect-to",
            server.origin,
            *FAST,
        )
        hosts = {host for host, _, _ in server.requests}
    assert result.returncode == 0 and "deferred 2" in result.stdout
    assert hosts == {"feed.mix.sina.com.cn"}


def test_lock_left_by_a_killed_crawl_does_not_block(tmp_path):
    (tmp_path / ".lock").write_text("12345\n")  # a killed crawl's lock file: no flock on it
    with serving() as server:
        result = run_cli(*crawl_args(tmp_path, server.origin, "--feed", "sina-finance-china"))
    assert result.returncode == 0, result.stderr[-2000:]
