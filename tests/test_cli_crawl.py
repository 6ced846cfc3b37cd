"""End to end: the real CLI in a subprocess against the fixtures served on loopback.

The fixture server (tests/fixture_server.py) serves the constructed roll API and RSS feeds that
list the 26 captured article pages, the real 50-entry roll API response (one page captured, the
other 49 answer 404), and every captured page at its real URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import frontmatter
import lxml.html
import pytest
import yaml

from archive.lock import CrawlLock
from archive.post import KEYS
from tests.conftest import FAST, REPO, manifest, run_cli
from tests.fixture_server import serving

FEEDS = REPO / "tests" / "data" / "fixture_feeds.toml"
EXPECTED = json.loads((REPO / "tests" / "data" / "real_pages.json").read_text("utf-8"))
SUMMARY = re.compile(
    r"^feeds polled (\d+), entries seen (\d+), new (\d+), unchanged (\d+), duplicate (\d+), "
    r"failed (\d+), deferred (\d+)$",
    re.M,
)


def summary(result) -> tuple[int, ...]:
    match = SUMMARY.search(result.stdout)
    assert match, f"no summary line in {result.stdout!r} / {result.stderr[-2000:]!r}"
    return tuple(int(n) for n in match.groups())


def is_article_page(host: str, path: str) -> bool:
    return not (path == "/robots.txt" or path.startswith("/api/") or path.endswith(".xml"))


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted((root / "posts").rglob("*.md"))
    }


def fixture_name_by_link() -> dict[str, str]:
    return {value["canonical"]: name for name, value in EXPECTED.items() if value["article"]}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Crawl the fixtures twice into one root; return what each run did."""
    root = tmp_path_factory.mktemp("archive")
    with serving() as server:
        args = ["crawl", "--root", str(root), "--feeds", str(FEEDS), "--connect-to", server.origin]
        first = run_cli(*args, *FAST)
        first_requests = list(server.requests)
        before = snapshot(root)
        server.requests.clear()
        second = run_cli(*args, *FAST)
        second_requests = list(server.requests)
    return {
        "root": root,
        "first": first,
        "second": second,
        "first_requests": first_requests,
        "second_requests": second_requests,
        "before": before,
    }


def test_first_crawl_summary_and_exit_code(crawled):
    first = crawled["first"]
    assert first.returncode == 1, first.stderr[-3000:]  # 49 entries of the real roll API: 404
    feeds, entries, new, unchanged, duplicate, failed, deferred = summary(first)
    assert (feeds, entries, new, unchanged, failed, deferred) == (3, 102, 26, 0, 49, 0)
    assert duplicate == 27  # listed by two feeds: requested and stored once
    assert entries == new + unchanged + duplicate + failed + deferred


def test_one_post_per_article_page(crawled):
    root = crawled["root"]
    posts = sorted((root / "posts").rglob("*.md"))
    assert len(posts) == 26
    for path in posts:
        assert re.fullmatch(
            r"posts/\d{4}/\d{2}/\d{2}/[A-Za-z0-9_-]+\.md", str(path.relative_to(root))
        )
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


def test_every_post_has_format_keys_in_order_and_right_values(crawled):
    root = crawled["root"]
    names = fixture_name_by_link()
    for path in sorted((root / "posts").rglob("*.md")):
        text = path.read_text("utf-8")
        assert text.startswith("---\n") and "\r" not in text
        meta = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
        post = frontmatter.loads(text)
        assert dict(post.metadata) == meta
        assert list(meta)[:7] == list(KEYS[:7])
        assert list(meta) == [k for k in KEYS if k in meta]
        assert meta["comments"] is False and meta["author"] == "新浪财经"
        assert meta["categories"] == ["金融", "新浪财经", "新浪财经－国內"]  # first feed wins
        assert meta["thumbnail"] == meta["headimg"]
        assert "127.0.0.1" not in text
        want = EXPECTED[names[meta["link"]]]
        assert meta["title"] == want["title"]
        assert meta["date"] == want["date"]
        assert meta["source"] == want["source"] and meta["editor"] == want["editor"]
        assert meta["headimg"] == want["lead_image"]
        assert path.name == f"{meta['id']}.md"
        if want["first_paragraph"]:
            body = lxml.html.fragment_fromstring(post.content, create_parent="div")
            texts = [
                t
                for t in (p.text_content().strip(" \t\r\n\u3000\xa0") for p in body.iter("p"))
                if t
            ]
            assert re.sub(r"\s+", " ", texts[0]) == re.sub(r"\s+", " ", want["first_paragraph"])


def test_index_rows_match_posts(crawled):
    root = crawled["root"]
    db = sqlite3.connect(root / "index.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("select * from articles").fetchall()
    assert len(rows) == 26
    for row in rows:
        path = root / row["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        meta = frontmatter.loads(path.read_text("utf-8")).metadata
        assert (row["id"], row["link"], row["title"]) == (meta["id"], meta["link"], meta["title"])
        assert row["feed"] == "sina-finance-china"
        assert json.loads(row["categories"]) == meta["categories"]
        assert row["date"].endswith("+00:00")
    failures = db.execute("select url, feed, reason, attempts from failures").fetchall()
    assert len(failures) == 49
    assert {(f["feed"], f["reason"], f["attempts"]) for f in failures} == {
        ("sina-usstock-roll", "http_404", 1)
    }
    (run,) = db.execute("select * from runs").fetchall()[:1]
    assert (run["new"], run["failed"], run["exit_code"]) == (26, 49, 1)


def test_second_crawl_writes_nothing_and_requests_no_article_page(crawled):
    second = crawled["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    feeds, entries, new, unchanged, duplicate, failed, deferred = summary(second)
    assert (feeds, entries, new, unchanged, duplicate, failed) == (3, 102, 0, 26, 27, 0)
    assert deferred == 49  # the 404s wait for their next try (ARCHIVE_RETRY_BACKOFF)
    assert [r for r in crawled["second_requests"] if is_article_page(r[0], r[1])] == []
    feed_statuses = {
        r[2]
        for r in crawled["second_requests"]
        if r[1].startswith("/api/") or r[1].endswith(".xml")
    }
    assert feed_statuses == {304}  # conditional GET with the ETag of the first run
    assert snapshot(crawled["root"]) == crawled["before"]
    first_pages = [r for r in crawled["first_requests"] if is_article_page(r[0], r[1])]
    assert len(first_pages) == 26 + 49  # each article page requested once, duplicates not


def test_fetching_an_archived_article_again_changes_nothing(crawled, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(crawled["root"], root)
    before = snapshot(root)
    url = manifest()["r3_fin_usstock_2026_detail.html"]["url"]
    with serving() as server:
        again = run_cli("fetch", url, "--root", str(root), "--connect-to", server.origin, *FAST)
    assert again.returncode == 0 and summary(again)[1:4] == (1, 0, 1)  # seen 1, unchanged 1
    assert snapshot(root) == before and not (root / "versions").exists()


def test_fetch_article_and_non_article_pages(tmp_path):
    rows = manifest()
    article_url = rows["r3_fin_usstock_2026_detail.html"]["url"]
    list_url = rows["r2_gbk_fin_vip_corp_vCB_BulletinGather.html"]["url"].split(" ")[0]
    with serving() as server:
        ok = run_cli(
            "fetch",
            article_url,
            "--root",
            str(tmp_path),
            "--connect-to",
            server.origin,
            "-v",
            *FAST,
        )
        bad = run_cli(
            "fetch", list_url, "--root", str(tmp_path), "--connect-to", server.origin, *FAST
        )
    assert ok.returncode == 0, ok.stderr[-2000:]
    # --verbose shows our INFO lines; without it, warnings only (Scrapy's DEBUG never)
    assert "INFO: new post posts/2026/09/29/initmeav9622448.md" in ok.stderr
    assert "WARNING: no article: " in bad.stderr and "INFO" not in bad.stderr
    assert "DEBUG" not in ok.stderr + bad.stderr
    assert (tmp_path / "posts/2026/09/29/initmeav9622448.md").exists()
    meta = frontmatter.load(tmp_path / "posts/2026/09/29/initmeav9622448.md").metadata
    assert meta["categories"] == ["新浪财经"]
    assert bad.returncode == 1 and summary(bad)[5] == 1
    db = sqlite3.connect(tmp_path / "index.db")
    assert db.execute("select reason from failures where url = ?", [list_url]).fetchall() == [
        ("no_body",)
    ]
    assert db.execute("select count(*) from articles").fetchone()[0] == 1


COUNT_RECORDS = """
import logging, sys
PER_PAGE = ("scrapy.core.engine", "scrapy.core.scraper", "crawler")  # Crawled, Scraped, new post
made = []
make = logging.Logger.makeRecord
def counting(self, name, level, *args, **kwargs):
    if level < logging.WARNING and name.startswith(PER_PAGE):
        made.append(name)
    return make(self, name, level, *args, **kwargs)
logging.Logger.makeRecord = counting
from crawler.cli import main
sys.argv = ["sina-archive", *sys.argv[1:]]
try:
    main()
finally:
    print("records below WARNING:", len(made), file=sys.stderr)
"""


@pytest.mark.parametrize("level, made", [("warning", False), ("debug", True)])
def test_records_below_the_log_level_are_not_made(tmp_path, level, made):
    url = manifest()["r3_fin_usstock_2026_detail.html"]["url"]
    with serving() as server:
        result = subprocess.run(
            [sys.executable, "-c", COUNT_RECORDS, "fetch", url, "--root", str(tmp_path),
             "--connect-to", server.origin, "-s", f"LOG_LEVEL={level}", *FAST],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    count = int(re.search(r"records below WARNING: (\d+)", result.stderr).group(1))
    assert (count > 0) is made  # at DEBUG, Scrapy's "Crawled" lines are made (and shown)
    assert ("DEBUG: Crawled (200)" in result.stderr) is made


def test_fetch_feed_url_crawls_it_once(tmp_path):
    url = "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=1"
    with serving() as server:
        result = run_cli(
            "fetch", url, "--root", str(tmp_path), "--connect-to", server.origin, *FAST
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert summary(result)[:3] == (1, 26, 26)
    assert len(list((tmp_path / "posts").rglob("*.md"))) == 26


def test_feed_url_on_the_command_line_is_recognised(tmp_path):
    url = "http://rss.sina.com.cn/roll/finance/hot_roll.xml"
    with serving() as server:
        result = run_cli(
            "crawl", "--feed", url, "--root", str(tmp_path), "--connect-to", server.origin, *FAST
        )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = frontmatter.load(next((tmp_path / "posts").rglob("*.md"))).metadata
    assert meta["categories"] == ["财经要闻汇总-新浪财经"]  # the feed's own title


def test_scrapy_crawl_from_the_repo_root(tmp_path):
    with serving() as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "feeds",
                "-s",
                f"ARCHIVE_ROOT={tmp_path}",
                "-s",
                f"ARCHIVE_FEEDS_FILE={FEEDS}",
                "-s",
                f"ARCHIVE_CONNECT_TO={server.origin}",
                "-s",
                "ARCHIVE_FEEDS=sina-finance-china",
                *FAST,
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=240,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((tmp_path / "posts").rglob("*.md"))) == 26


def test_proxy_from_environment_is_used(tmp_path):
    url = "http://ent.sina.com.cn/y/2009-11-09/13482762951.shtml"
    with serving() as server:
        result = run_cli(
            "fetch", url, "--root", str(tmp_path), *FAST, env={"http_proxy": server.origin}
        )
        proxied = server.requested(lambda host, path: host == "ent.sina.com.cn")
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(path == "/y/2009-11-09/13482762951.shtml" for _, path, _ in proxied)
    assert len(list((tmp_path / "posts").rglob("*.md"))) == 1


def test_nothing_fetched_exits_3(tmp_path):
    with serving({}) as server:
        origin = server.origin
    # the server is closed now: every connection is refused
    result = run_cli(
        "crawl",
        "--root",
        str(tmp_path),
        "--feeds",
        str(FEEDS),
        "--connect-to",
        origin,
        *FAST,
        "-s",
        "RETRY_TIMES=0",
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert summary(result)[5] == 3


def test_second_crawl_on_a_locked_root_exits_75(tmp_path):
    with CrawlLock(tmp_path):
        result = run_cli("crawl", "--root", str(tmp_path), "--feeds", str(FEEDS))
    assert result.returncode == 75
    assert "another crawl" in result.stderr and str(os.getpid()) in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["crawl", "--feed", "no-such-feed"], "unknown feed 'no-such-feed'"),
        (["fetch", "not-a-url"], "not an http(s) URL"),
        (["crawl", "-s", "NOEQUALS"], "NAME=VALUE"),
        (["crawl", "-s", "LOG_LEVEL=loud"], "LOG_LEVEL takes one of DEBUG, INFO"),
        (["crawl", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    result = run_cli(*args, "--root", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr


def test_bad_feeds_file_exits_2(tmp_path):
    feeds = tmp_path / "feeds.toml"
    feeds.write_text("[[feed]]\nname = 'x'\n", encoding="utf-8")
    result = run_cli("crawl", "--feeds", str(feeds), "--root", str(tmp_path / "root"))
    assert result.returncode == 2 and str(feeds) in result.stderr
