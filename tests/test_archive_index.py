"""The SQLite index: rows, crawl history, failures with backoff, WAL mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from archive.index import Index, article_row
from archive.post import Post


def sample() -> Post:
    return Post(
        title="标题",
        date=datetime(2021, 11, 30, 7, 15, 51, tzinfo=UTC),
        body="<p>x</p>",
        link="https://finance.sina.com.cn/a/doc-iabc123.shtml",
        id="iabc123",
        categories=["金融", "新浪财经"],
        tags=["5G"],
    )


def test_article_row_columns():
    row = article_row(sample(), relpath="posts/2021/11/30/iabc123.md", sha256="00", feed="f")
    assert row["date"] == "2021-11-30T07:15:51+00:00"
    assert json.loads(row["categories"]) == ["金融", "新浪财经"]
    assert json.loads(row["tags"]) == ["5G"]


def test_upsert_keeps_first_seen(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        row = article_row(sample(), relpath="p.md", sha256="00", feed="f")
        index.upsert_article(row, now="2026-01-01T00:00:00+00:00")
        index.upsert_article(row, now="2026-01-02T00:00:00+00:00")
        stored = index.get_article("iabc123")
        assert stored["first_seen"] == "2026-01-01T00:00:00+00:00"
        assert stored["last_fetched"] == "2026-01-02T00:00:00+00:00"
        assert index.count_articles() == 1
        assert {"iabc123", sample().link} <= index.known_keys()
        assert index.db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_failures_count_attempts_and_back_off(tmp_path: Path):
    url = "https://finance.sina.com.cn/a/doc-igone.shtml"
    with Index.for_root(tmp_path) as index:
        index.record_failure(url, feed="f", reason="http_404", backoff=3600)
        index.record_failure(url, feed="f", reason="http_404", backoff=3600)
        (row,) = index.failures()
        assert row["attempts"] == 2 and row["reason"] == "http_404"
        assert row["next_try"] > row["last_try"]
        assert url in index.blocked_urls(max_attempts=5)
        assert url not in index.blocked_urls(max_attempts=5, now="2999-01-01T00:00:00+00:00")
        assert url in index.blocked_urls(max_attempts=2, now="2999-01-01T00:00:00+00:00")


def test_archiving_a_url_clears_its_failure(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        index.record_failure(sample().link, feed="f", reason="timeout")
        index.upsert_article(article_row(sample(), relpath="p.md", sha256="00", feed="f"))
        assert index.failures() == []
