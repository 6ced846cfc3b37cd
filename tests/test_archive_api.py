"""The Python API: Archive(root).posts / get / search / stats on a small synthetic archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive import Archive, ArchiveError, Post, PostNotFound
from archive.index import Index, article_row
from archive.writer import write_post

BEIJING = timezone(timedelta(hours=8))


def store(root: Path, post: Post) -> None:
    result = write_post(root, post)
    with Index.for_root(root) as index:
        row = article_row(post, relpath=result.relpath, sha256=result.sha256)
        index.upsert_article(row, text=post.text)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    posts = [
        Post(
            title="央行宣布降准",
            date=datetime(2026, 9, 28, 9, 0, tzinfo=BEIJING),
            body="<p>　　央行今天宣布降准0.5个百分点。</p><p>{{ 双花括号 }}</p>",
            link="https://finance.sina.com.cn/china/2026-09-28/doc-iaaaaaaa1.shtml",
            id="iaaaaaaa1",
            categories=["金融", "新浪财经", "新浪财经－国內"],
            source="新京报",
            tags=["降准"],
            feed="china",
        ),
        Post(
            title="A股收评",
            date=datetime(2026, 9, 29, 15, 30, tzinfo=BEIJING),
            body="<p>A股三大指数收涨，分析称降准利好。</p>",
            link="https://finance.sina.com.cn/stock/2026-09-29/doc-ibbbbbbb2.shtml",
            id="ibbbbbbb2",
            categories=["金融", "新浪财经", "美股"],
            source="中国证券报",
            feed="stock",
        ),
        Post(
            title="深夜新闻",
            date=datetime(2026, 9, 29, 23, 30, tzinfo=BEIJING),  # 15:30 UTC, same Beijing day
            body="<p>没有关键词的正文内容。</p>",
            link="https://news.sina.com.cn/c/2026-09-29/doc-icccccccc3.shtml",
            id="icccccccc3",
            categories=["新闻"],
            source="新京报",
            feed="news",
        ),
    ]
    for post in posts:
        store(tmp_path, post)
    with Archive(tmp_path) as opened:
        yield opened


def ids(posts) -> list[str]:
    return [p.id for p in posts]


def test_posts_newest_first_with_filters(archive: Archive):
    assert ids(archive.posts()) == ["icccccccc3", "ibbbbbbb2", "iaaaaaaa1"]
    day = datetime(2026, 9, 29, tzinfo=BEIJING)
    assert ids(archive.posts(since=day, until=day + timedelta(days=1))) == [
        "icccccccc3",
        "ibbbbbbb2",
    ]
    assert ids(archive.posts(feed="china")) == ["iaaaaaaa1"]
    assert ids(archive.posts(source="新京报")) == ["icccccccc3", "iaaaaaaa1"]
    assert ids(archive.posts(category="美股")) == ["ibbbbbbb2"]
    assert ids(archive.posts(tag="降准")) == ["iaaaaaaa1"]
    assert ids(archive.posts(limit=1)) == ["icccccccc3"]
    with pytest.raises(ValueError, match="timezone-aware"):
        list(archive.posts(since=datetime(2026, 9, 29)))


def test_get_by_id_or_link_with_typed_front_matter(archive: Archive):
    post = archive.get("iaaaaaaa1")
    assert archive.get(post.link) == post
    assert post.date == datetime(2026, 9, 28, 1, 0, tzinfo=UTC)
    assert post.categories == ["金融", "新浪财经", "新浪财经－国內"] and post.comments is False
    assert "{{ 双花括号 }}" in post.body  # braces back from &#123; &#125;
    assert post.text == "　　央行今天宣布降准0.5个百分点。\n{{ 双花括号 }}"
    with pytest.raises(PostNotFound):
        archive.get("nope")


def test_search_ranks_title_hits_first_with_snippets(archive: Archive):
    hits = archive.search("降准")
    assert [h.post.id for h in hits] == ["iaaaaaaa1", "ibbbbbbb2"]
    assert hits[0].title_hit and not hits[1].title_hit
    assert "[降准]" in hits[1].snippet
    assert archive.search("加息") == []
    with pytest.raises(ValueError):
        archive.search("  ")


def test_stats_by_beijing_day_feed_and_source(archive: Archive):
    counts = archive.stats()
    assert counts["day"] == [("2026-09-29", 2), ("2026-09-28", 1)]
    assert dict(counts["source"]) == {"新京报": 2, "中国证券报": 1}
    assert dict(counts["feed"]) == {"china": 1, "stock": 1, "news": 1}


def test_missing_archive_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ArchiveError, match="no archive at"):
        Archive(tmp_path / "nothing")
