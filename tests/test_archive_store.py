"""store_post and the index's transactions: nothing half-written, versions in order, a row
left behind its file by a crash catches up, an interrupted reindex keeps the old index."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

import archive.store
from archive import Archive
from archive.check import check, repair
from archive.index import Index, article_row
from archive.post import Post
from archive.reindex import reindex
from archive.store import store_post
from archive.versions import list_versions, save_version


def make(text: str, **changes) -> Post:
    values = dict(
        title="标题",
        date=datetime(2026, 9, 28, 1, 0, tzinfo=UTC),
        body=f"<p>{text}</p>",
        link="https://finance.sina.com.cn/c/doc-iaaaaaa1.shtml",
        id="iaaaaaa1",
        feed="china",
        categories=["金融"],
    )
    values.update(changes)
    return Post(**values)


def ids(root: Path, query: str) -> list[str]:
    with Archive(root) as archive:
        return [hit.post.id for hit in archive.search(query)]


def test_new_unchanged_updated_with_versions_and_kept_metadata(tmp_path):
    with Index.for_root(tmp_path) as index:
        assert store_post(tmp_path, index, make("央行宣布降准")).status == "new"
        assert store_post(tmp_path, index, make("央行宣布降准")).status == "unchanged"
        refetched = make("央行宣布加息", feed="other", categories=["新浪财经"], author="别人")
        result = store_post(tmp_path, index, refetched, now="2026-09-29T00:00:00+00:00")
    assert result.status == "updated" and result.version.startswith("versions/iaaaaaa1/")
    with Archive(tmp_path) as archive:
        post = archive.get("iaaaaaa1")
        assert post.updated == datetime(2026, 9, 29, tzinfo=UTC)
        assert (post.feed, post.categories, post.author) == ("china", ["金融"], "新浪财经")
        assert "降准" in archive.get("iaaaaaa1", version=1).text
    assert ids(tmp_path, "加息") == ["iaaaaaa1"] and ids(tmp_path, "降准") == []
    assert check(tmp_path) == []


def test_every_store_reports_its_cpu_by_stage(tmp_path, monkeypatch):
    # --stats-json's cpu/write and cpu/index come from here: the row lookup counts as index
    # work, reading the stored file as write work. Each reading of the fake CPU clock doubles
    # it, so every interval is distinct and a part counted in the wrong stage shows.
    ticks = (2**n for n in range(60))
    monkeypatch.setattr(archive.store, "time", SimpleNamespace(process_time=lambda: next(ticks)))
    with Index.for_root(tmp_path) as index:
        new = store_post(tmp_path, index, make("央行宣布降准"))
        unchanged = store_post(tmp_path, index, make("央行宣布降准"))
    # new: lookup 1→2 (index), read 2→4 (write), file 8→16 (write), row 16→32 (index)
    assert (new.status, new.cpu_write, new.cpu_index) == ("new", 2 + 8, 1 + 16)
    # unchanged: lookup 64→128, read 128→256 (write), compare and touch 256→512 (index)
    assert unchanged.status == "unchanged"
    assert (unchanged.cpu_write, unchanged.cpu_index) == (128, 64 + 256)


def test_an_unreadable_stored_post_is_kept_as_a_version(tmp_path):
    with Index.for_root(tmp_path) as index:
        store_post(tmp_path, index, make("第一版"))
        path = tmp_path / "posts/2026/09/28/iaaaaaa1.md"
        path.write_bytes(b"\xff\xfe not a post")
        store_post(tmp_path, index, make("第二版"))
    (version,) = list_versions(tmp_path, "iaaaaaa1")
    assert (tmp_path / version.relpath).read_bytes() == b"\xff\xfe not a post"


def test_a_row_left_behind_its_file_catches_up(tmp_path):
    """A crash between the rename of a changed post and its row's commit."""
    with Index.for_root(tmp_path) as index:
        store_post(tmp_path, index, make("旧的正文降准"))
        path = tmp_path / "posts/2026/09/28/iaaaaaa1.md"
        save_version(tmp_path, "iaaaaaa1", path.read_bytes())
        path.write_text(make("新的正文加息").to_text(), "utf-8")  # renamed in, row not committed
        assert [p.kind for p in check(tmp_path)] == ["sha256_mismatch"]
        assert store_post(tmp_path, index, make("新的正文加息")).status == "healed"
        assert index.get_meta("fts_dirty") is None
    assert check(tmp_path) == []
    assert ids(tmp_path, "加息") == ["iaaaaaa1"] and ids(tmp_path, "降准") == []


def test_a_failed_write_commits_nothing(tmp_path, monkeypatch):
    with Index.for_root(tmp_path) as index:

        def broken(*args):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(index, "_fts_insert", broken)
        row = article_row(make("正文"), relpath="posts/x.md", sha256="00")
        with pytest.raises(sqlite3.OperationalError):
            index.upsert_article(row, text="正文")
    other = sqlite3.connect(tmp_path / "index.db")
    assert other.execute("select count(*) from articles").fetchone() == (0,)


def test_an_interrupted_reindex_keeps_the_old_index(tmp_path, monkeypatch):
    with Index.for_root(tmp_path) as index:
        for n in range(5):
            link = f"https://finance.sina.com.cn/c/doc-iaaaaa{n}.shtml"
            store_post(tmp_path, index, make(f"第{n}篇降准", id=f"iaaaaa{n}", link=link))
    import archive.reindex as module

    real, calls = module.read_post_file, []

    def interrupted(path, root):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(path, root)

    monkeypatch.setattr(module, "read_post_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reindex(tmp_path)
    assert len(ids(tmp_path, "降准")) == 5
    assert check(tmp_path) == []


def test_versions_are_listed_oldest_first_even_within_one_second(tmp_path):
    when = datetime(2026, 9, 29, tzinfo=UTC)
    for n in range(12):
        save_version(tmp_path, "iaaaaaa1", f"v{n}".encode(), when)
    contents = [(tmp_path / v.relpath).read_bytes() for v in list_versions(tmp_path, "iaaaaaa1")]
    assert contents == [f"v{n}".encode() for n in range(12)]


def test_duplicate_ids_are_resolved_by_repair_without_losing_a_file(tmp_path):
    with Index.for_root(tmp_path) as index:
        store_post(tmp_path, index, make("正文"))
    copy = tmp_path / "posts/2020/01/01"
    copy.mkdir(parents=True)
    (copy / "iaaaaaa1.md").write_text(make("另一份").to_text(), "utf-8")
    kinds = {p.kind for p in check(tmp_path)}
    assert "duplicate_id" in kinds
    repair(tmp_path, check(tmp_path))
    assert check(tmp_path) == []
    assert len(list_versions(tmp_path, "iaaaaaa1")) == 1
    assert (tmp_path / "posts/2026/09/28/iaaaaaa1.md").exists()


def test_a_failed_row_in_a_crawl_batch_drops_the_batch_not_half_a_row(tmp_path, monkeypatch):
    # In a crawl's batch the statements of a post join the batch without a savepoint, so an
    # error half-way through a row must roll the whole batch back; its posts stay on disk and
    # check --repair indexes them.
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.pipelines import PostItem, StoragePipeline

    pipeline = StoragePipeline(tmp_path, get_crawler().stats, lock_held=True)
    pipeline.open_spider()
    assert pipeline.index is not None
    first = make("第一篇", id="iaaaaaa1", link="https://finance.sina.com.cn/c/doc-iaaaaaa1.shtml")
    pipeline.process_item(PostItem(first, "china", first.link))

    def broken(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(pipeline.index, "_fts_insert", broken)
    second = make("第二篇", id="ibbbbbb2", link="https://finance.sina.com.cn/c/doc-ibbbbbb2.shtml")
    with pytest.raises(DropItem, match="cannot write the archive"):
        pipeline.process_item(PostItem(second, "china", second.link))
    monkeypatch.undo()
    pipeline.close_spider()
    other = sqlite3.connect(tmp_path / "index.db")
    assert other.execute("select count(*) from articles").fetchone() == (0,)
    assert sorted(p.kind for p in check(tmp_path)) == ["no_row", "no_row"]
    repair(tmp_path, check(tmp_path))
    assert check(tmp_path) == [] and ids(tmp_path, "第二篇") == ["ibbbbbb2"]


def test_a_post_of_a_rolled_back_batch_met_again_in_the_run_is_stored(tmp_path, monkeypatch):
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.pipelines import PostItem, StoragePipeline

    pipeline = StoragePipeline(tmp_path, get_crawler().stats, lock_held=True)
    pipeline.open_spider()
    assert pipeline.index is not None
    post = make("正文", id="iaaaaaa1")
    pipeline.process_item(PostItem(post, "china", post.link))

    def broken(*args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(pipeline.index, "_fts_insert", broken)
    other = make("别的", id="ibbbbbb2", link="https://finance.sina.com.cn/c/doc-ibbbbbb2.shtml")
    with pytest.raises(DropItem):
        pipeline.process_item(PostItem(other, "china", other.link))
    monkeypatch.undo()
    again = make("正文", id="iaaaaaa1")  # the same article from a second feed
    pipeline.process_item(PostItem(again, "world", again.link + "?from=world"))
    pipeline.close_spider()
    with Index.for_root(tmp_path) as index:
        assert index.get_article("iaaaaaa1") is not None
        assert index.url_ids() == {again.link + "?from=world": "iaaaaaa1"}


def test_a_crawl_batch_fsyncs_the_folder_of_its_new_posts_once_before_commit(tmp_path, monkeypatch):
    from scrapy.utils.test import get_crawler

    import archive.writer
    from crawler.pipelines import PostItem, StoragePipeline

    events: list[str] = []
    real_fsync_dir = archive.writer._fsync_dir

    def fsync_dir(folder):
        events.append(f"fsync {folder.relative_to(tmp_path).as_posix()}")
        real_fsync_dir(folder)

    monkeypatch.setattr(archive.writer, "_fsync_dir", fsync_dir)
    pipeline = StoragePipeline(tmp_path, get_crawler().stats, lock_held=True, commit_every=10)
    pipeline.open_spider()
    assert pipeline.index is not None
    (tmp_path / "posts/2026/09/28").mkdir(parents=True)  # the day folder exists already
    for n in range(3):
        post = make(f"第{n}篇", id=f"iaaaaaa{n}", link=f"https://finance.sina.com.cn/c/{n}.shtml")
        pipeline.process_item(PostItem(post, "china", post.link))
    assert events == []  # three new posts, no folder fsync yet, nothing committed
    conn = pipeline.index.db.conn
    monkeypatch.setattr(pipeline.index.db, "conn", CommitSpy(conn, events))
    pipeline._commit()
    assert events == ["fsync posts/2026/09/28", "commit"]
    monkeypatch.undo()
    pipeline.close_spider()
    assert check(tmp_path) == []


class CommitSpy:
    """A sqlite3 connection that records its commits."""

    def __init__(self, conn: sqlite3.Connection, events: list[str]) -> None:
        self._conn, self._events = conn, events

    def commit(self) -> None:
        self._events.append("commit")
        self._conn.commit()

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_failed_commit_stops_the_run_and_forgets_the_batch(tmp_path, monkeypatch):
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.pipelines import PostItem, StoragePipeline

    crawler = get_crawler()
    pipeline = StoragePipeline(tmp_path, crawler.stats, lock_held=True, commit_every=1)
    pipeline.open_spider()
    assert pipeline.index is not None
    conn = pipeline.index.db.conn

    class FailingCommit(CommitSpy):
        def commit(self) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(pipeline.index.db, "conn", FailingCommit(conn, []))
    post = make("正文", id="iaaaaaa1")
    with pytest.raises(DropItem, match="cannot write the archive"):
        pipeline.process_item(PostItem(post, "china", post.link))
    assert crawler.stats.get_value("archive/write_failed") == "disk I/O error"
    monkeypatch.undo()
    assert not conn.in_transaction and "iaaaaaa1" not in pipeline.stored
    again = make("正文", id="iaaaaaa1")
    pipeline.process_item(PostItem(again, "world", again.link))
    pipeline.close_spider()
    with Index.for_root(tmp_path) as index:
        assert index.get_article("iaaaaaa1") is not None
