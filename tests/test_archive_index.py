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
        feed="f",
    )


def test_article_row_columns():
    row = article_row(sample(), relpath="posts/2021/11/30/iabc123.md", sha256="00")
    assert row["date"] == "2021-11-30T07:15:51+00:00" and row["feed"] == "f"
    assert json.loads(row["categories"]) == ["金融", "新浪财经"]
    assert json.loads(row["tags"]) == ["5G"]


def test_upsert_keeps_first_seen(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        row = article_row(sample(), relpath="p.md", sha256="00")
        index.upsert_article(row, text="正文", now="2026-01-01T00:00:00+00:00")
        index.upsert_article(
            row, text="正文", previous=("标题", "正文"), now="2026-01-02T00:00:00+00:00"
        )
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
        index.upsert_article(article_row(sample(), relpath="p.md", sha256="00"), text="")
        assert index.failures() == []


def add(index: Index, post_id: str, title: str, text: str) -> None:
    post = Post(
        title=title,
        date=datetime(2021, 11, 30, tzinfo=UTC),
        body="",
        link=f"https://finance.sina.com.cn/{post_id}.shtml",
        id=post_id,
    )
    index.upsert_article(article_row(post, relpath=f"{post_id}.md", sha256="00"), text=text)


def test_search_chinese_words_and_mixed_queries(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "央行宣布降准", "央行今天宣布下调存款准备金率0.5个百分点。")
        add(index, "a2", "A股收评", "A股三大指数收涨，宁德时代(300750)涨超5%，5G概念走强。")
        add(index, "a3", "市场观察", "分析人士认为，降准释放长期资金约1万亿元。")

        def ids(query: str) -> list[str]:
            return [row["id"] for row in index.search(query)]

        assert ids("降准") == ["a1", "a3"]  # the title hit first
        assert ids("央行宣布降准") == ["a1"]
        assert ids("0.5个百分点") == ["a1"]
        assert ids("A股") == ["a2"]
        assert ids("5G") == ["a2"]
        assert ids("宁德时代 300750") == ["a2"]
        assert ids("宁德时代(300750)") == ["a2"]
        assert ids("准备金") == ["a1"]
        assert ids("降息") == [] and ids("时代宁德") == []


def test_search_follows_updates_and_deletes(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "标题", "旧的正文提到降准")
        post = Post(
            title="标题",
            date=datetime(2021, 11, 30, tzinfo=UTC),
            body="",
            link="https://finance.sina.com.cn/a1.shtml",
            id="a1",
        )
        row = article_row(post, relpath="a1.md", sha256="01")
        index.upsert_article(row, text="新的正文提到加息", previous=("标题", "旧的正文提到降准"))
        assert index.search("降准") == [] and len(index.search("加息")) == 1
        assert index.get_meta("fts_dirty") is None
        index.delete_article("a1", previous=("标题", "新的正文提到加息"))
        assert index.search("加息") == [] and index.count_articles() == 0


def test_update_without_previous_text_flags_the_fts_dirty(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "标题", "正文")
        add(index, "a1", "标题", "正文")
        assert index.get_meta("fts_dirty") == "1"
        index.reset_fts()
        assert index.get_meta("fts_dirty") is None and index.search("正文") == []
