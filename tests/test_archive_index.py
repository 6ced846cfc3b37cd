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


TEXTS: dict[str, tuple[str, str]] = {}  # path -> (title, text) of the rows add() made


def add(index: Index, post_id: str, title: str, text: str, day: int = 30) -> None:
    post = Post(
        title=title,
        date=datetime(2021, 11, day, tzinfo=UTC),
        body="",
        link=f"https://finance.sina.com.cn/{post_id}.shtml",
        id=post_id,
    )
    TEXTS[f"{post_id}.md"] = (title, text)
    index.upsert_article(article_row(post, relpath=f"{post_id}.md", sha256="00"), text=text)


def search_ids(index: Index, query: str) -> list[str]:
    return [row["id"] for row in index.search(query, texts=lambda row: TEXTS[row["path"]])]


def test_search_chinese_words_and_mixed_queries(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "央行宣布降准", "央行今天宣布下调存款准备金率0.5个百分点。")
        add(index, "a2", "A股收评", "A股三大指数收涨，宁德时代(300750)涨超5%，5G概念走强。")
        add(index, "a3", "市场观察", "分析人士认为，降准释放长期资金约1万亿元。")

        def ids(query: str) -> list[str]:
            return search_ids(index, query)

        assert ids("降准") == ["a1", "a3"]  # the title hit first
        assert ids("央行宣布降准") == ["a1"]
        assert ids("0.5个百分点") == ["a1"]
        assert ids("A股") == ["a2"]
        assert ids("5G") == ["a2"]
        assert ids("宁德时代 300750") == ["a2"]
        assert ids("宁德时代(300750)") == ["a2"]
        assert ids("准备金") == ["a1"]
        assert ids("降息") == [] and ids("时代宁德") == []


def test_search_confirms_longer_words_as_phrases(tmp_path: Path):
    # The index keeps which bigrams a post holds, not where: 华为, 为抢 and 抢跑 all occur in
    # a2, apart, so the index offers it and the confirmation on its text turns it down.
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "华为抢跑5G芯片大战", "正文")
        add(index, "a2", "手机", "华为发布新机。为抢市场，各家抢跑。")
        add(index, "a3", "芯片", "业内称华为抢跑，对手跟进。")
        assert search_ids(index, "华为抢跑") == ["a1", "a3"]
        assert search_ids(index, "为抢") == ["a1", "a3", "a2"]  # a substring of 华为抢跑 too
        assert search_ids(index, "抢跑 芯片") == ["a1", "a3"]
        # A lone character next to a longer term is a prefix of the index's tokens: exact.
        assert search_ids(index, "抢 华为抢跑") == ["a1", "a3"]
        assert search_ids(index, "跑 华为抢跑") == ["a1", "a3"]
        # Without texts, the post files are read; a post that cannot be read is not confirmed.
        assert [row["id"] for row in index.search("华为抢跑")] == ["a1"]


def test_search_lists_title_hits_then_newest_first(tmp_path: Path):
    with Index.for_root(tmp_path) as index:
        add(index, "a1", "旧闻", "提到降准", day=1)
        add(index, "a2", "降准", "正文", day=2)
        add(index, "a3", "新闻", "也提到降准", day=3)
        add(index, "a4", "降准落地", "正文", day=4)
        rows = index.search("降准")
        assert [(row["id"], row["title_hit"]) for row in rows] == [
            ("a4", 1),
            ("a2", 1),
            ("a3", 0),
            ("a1", 0),
        ]
        assert [row["id"] for row in index.search("降准", limit=3)] == ["a4", "a2", "a3"]


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
