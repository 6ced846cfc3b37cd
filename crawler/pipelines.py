"""Item pipelines: article → post (PostPipeline), post → file + index row (StoragePipeline).

Stats keys (``area/event``): ``article/new``, ``article/unchanged``, ``article/updated``,
``article/failed``, ``article/dropped/<reason>``, ``archive/write_failed`` (the message of a
write that failed: the crawl stops), ``cpu/write`` and ``cpu/index`` (CPU seconds spent
writing post files and versions and syncing their folders, and on index rows and their
commits).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro

from archive.errors import ArchiveError, UnsafePathError
from archive.index import Index, iso_utc, utc_now
from archive.lock import CrawlLock
from archive.paths import check_id
from archive.post import Post
from archive.store import store_post
from archive.writer import sweep_temp_files, sync_folders
from crawler.items import ArticleItem, FeedPolled, PageFailure
from crawler.run import CrawlSummary

logger = logging.getLogger(__name__)

#: Failures that may pass by themselves soon (besides every 5xx status): retried sooner.
TRANSIENT_REASONS = frozenset(
    {
        "timeout",
        "dns",
        "connection_refused",
        "connection_lost",
        "truncated",
        "http_429",
        "http_408",
        "write_error",
    }
)


@dataclass
class PostItem:
    """A post ready to be stored, with the feed and the URL it was requested at."""

    post: Post
    feed: str
    url: str


def to_post(item: ArticleItem) -> Post:
    """Build the :class:`archive.post.Post` of an article (FORMAT.md's keys)."""
    return Post(
        title=item.title,
        date=item.published,
        body=item.body,
        link=item.link,
        id=item.id,
        categories=list(item.categories),
        headimg=item.headimg,
        author=item.author,
        source=item.source,
        editor=item.editor,
        tags=list(item.tags),
        updated=item.updated,
        feed=item.feed,
    )


class PostPipeline:
    """Validate an :class:`ArticleItem` and turn it into a :class:`PostItem`.

    Drops (with ``article/dropped/<reason>``) an article whose id is unsafe or whose date is
    naive; other items pass through.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostPipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Return a PostItem for an ArticleItem (other items unchanged); raise DropItem for
        an unsafe id or a naive time."""
        if not isinstance(item, ArticleItem):
            return item
        try:
            check_id(item.id)
            if item.published.tzinfo is None:
                raise ValueError("naive publication time")
        except (UnsafePathError, ValueError) as exc:
            self.stats.inc_value("article/dropped/invalid")
            raise DropItem(f"{item.url}: {exc}") from exc
        return PostItem(post=to_post(item), feed=item.feed, url=item.url)


class StoragePipeline:
    """Write each post atomically under ``ARCHIVE_ROOT`` and upsert its ``articles`` row;
    record each :class:`PageFailure` in the ``failures`` table.

    Takes the archive's crawl lock unless ``ARCHIVE_LOCK_HELD`` says the caller holds it
    (raises LockedError at open then). An article met twice in one run (two feeds, two URLs)
    is stored once.

    Index rows are committed in batches (every ``ARCHIVE_COMMIT_EVERY`` items or
    ``ARCHIVE_COMMIT_SECONDS`` seconds, and at the end): a post's file is always on disk before
    its row commits, so a crash leaves at most posts whose row is not committed yet, which the
    next run stores again (unchanged files are not rewritten).
    """

    def __init__(
        self,
        root: Path,
        stats: StatsCollector,
        *,
        lock_held: bool,
        backoff: float = 3600.0,
        transient_backoff: float = 300.0,
        commit_every: int = 50,
        commit_seconds: float = 2.0,
    ) -> None:
        self.root = root
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self._uncommitted = 0
        self._batch_started = 0.0
        self.backoff = backoff
        self.transient_backoff = transient_backoff
        self.stats = stats
        self.lock = None if lock_held else CrawlLock(root)
        self.index: Index | None = None
        self.stored: set[str] = set()
        self._batch_ids: set[str] = set()  # ids stored in the uncommitted batch
        self._unsynced: set[Path] = set()  # folders of its new posts, fsynced before commit

    spider_name = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        settings = crawler.settings
        pipeline = cls(
            Path(settings.get("ARCHIVE_ROOT")),
            crawler.stats,
            lock_held=settings.getbool("ARCHIVE_LOCK_HELD"),
            backoff=settings.getfloat("ARCHIVE_RETRY_BACKOFF"),
            transient_backoff=settings.getfloat("ARCHIVE_RETRY_BACKOFF_TRANSIENT"),
            commit_every=settings.getint("ARCHIVE_COMMIT_EVERY", 50),
            commit_seconds=settings.getfloat("ARCHIVE_COMMIT_SECONDS", 2.0),
        )
        pipeline.crawler = crawler
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        """Take the lock (unless held), sweep temp files of a killed crawl, open the index.
        Raises LockedError when another crawl holds the lock."""
        crawler = getattr(self, "crawler", None)
        self.spider_name = getattr(getattr(crawler, "spider", None), "name", "") or ""
        if self.lock:
            self.lock.acquire()
        removed = sweep_temp_files(self.root)  # left by a crawl that was killed mid-write
        if removed:
            logger.warning("removed %d temp files of an interrupted write", removed)
        self.index = Index.for_root(self.root)

    def close_spider(self, spider: Spider | None = None) -> None:
        """Commit the last batch, record the run in ``runs``, close the index, release the
        lock."""
        if self.index:
            try:
                self._commit()
            except sqlite3.Error as exc:
                self._index_failed(exc)  # the run is ending: nothing to drop
            stats = self.stats.get_stats()
            summary = CrawlSummary.from_stats(stats)
            started = stats.get("start_time")
            self.index.record_run(
                {
                    "started": started.isoformat(timespec="seconds") if started else "",
                    "finished": utc_now(),
                    "command": self.spider_name,
                    "feeds": summary.feeds,
                    "entries": summary.entries,
                    "new": summary.new,
                    "unchanged": summary.unchanged,
                    "duplicate": summary.duplicate,
                    "failed": summary.failed,
                    "deferred": summary.deferred,
                    "exit_code": summary.exit_code(),
                }
            )
            self.index.close()
        if self.lock:
            self.lock.release()

    def _commit(self) -> None:
        assert self.index is not None
        started = time.process_time()
        sync_folders(self._unsynced)  # the batch's new posts are durable before their rows
        synced = time.process_time()
        if self.index.db.conn.in_transaction:
            self.index.db.conn.commit()  # FTS5 writes the batch's terms now
        self.stats.inc_value("cpu/write", synced - started)
        self.stats.inc_value("cpu/index", time.process_time() - synced)
        self._uncommitted = 0
        self._batch_ids.clear()

    def _roll_back(self) -> None:
        """Drop the uncommitted batch. An item's statements join the batch without a savepoint
        (:meth:`archive.index.Index.transaction`), so an error half-way through a row would
        otherwise be committed with it. The batch's posts are on disk; their ids are forgotten
        here, so the next crawl (or ``check --repair``) indexes them again."""
        assert self.index is not None
        if self.index.db.conn.in_transaction:
            self.index.db.conn.rollback()
            logger.warning("the index rows of this batch are not committed")
        self.stored -= self._batch_ids
        self._batch_ids.clear()
        self._uncommitted = 0

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Store a post, record a failure or a feed poll (see the class docstring). Raises
        DropItem for an unsafe path, and for a write that failed (the crawl then stops)."""
        assert self.index is not None
        if not self.index.db.conn.in_transaction:
            self.index.db.conn.execute("begin")
            self._batch_started = time.monotonic()
        try:
            if isinstance(item, FeedPolled):
                newest = iso_utc(item.newest) if item.newest else ""
                self.index.record_feed(item.feed, item.url, entries=item.entries, newest=newest)
            elif isinstance(item, PageFailure):
                self._record_failure(item)
            elif isinstance(item, PostItem):
                self._store(item)
        except UnsafePathError as exc:
            self.stats.inc_value("article/failed")
            self.stats.inc_value("article/dropped/unsafe_path")
            raise DropItem(str(exc)) from exc
        except ArchiveError as exc:  # a file could not be written: no SQL of this item ran
            self._stop_run(exc)
            raise DropItem(f"cannot write the archive: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._index_failed(exc) from exc
        except Exception:
            self._roll_back()
            raise
        self._uncommitted += 1
        if (
            self._uncommitted >= self.commit_every
            or time.monotonic() - self._batch_started >= self.commit_seconds
        ):
            try:
                self._commit()
            except sqlite3.Error as exc:
                raise self._index_failed(exc) from exc
        return item

    def _index_failed(self, exc: sqlite3.Error) -> DropItem:
        """The index could not be written (mid-item or at a commit): drop the batch, stop the
        crawl; return the DropItem to raise."""
        self._roll_back()
        self._stop_run(exc)
        return DropItem(f"cannot write the archive: {exc}")

    def _record_failure(self, item: PageFailure) -> None:
        assert self.index is not None
        transient = item.reason in TRANSIENT_REASONS or item.reason.startswith("http_5")
        self.index.record_failure(
            item.url,
            feed=item.feed,
            reason=item.reason,
            detail=item.detail,
            backoff=max(self.transient_backoff if transient else self.backoff, item.retry_after),
        )

    def _store(self, item: PostItem) -> None:
        """Store a post with :func:`archive.store.store_post` and count what it did."""
        assert self.index is not None
        post = item.post
        if post.id in self.stored:
            self.stats.inc_value("entry/duplicate")
            self.index.remember_url(item.url, post.id)
            return
        self.stored.add(post.id)
        self._batch_ids.add(post.id)
        result = store_post(self.root, self.index, post, sync_later=self._unsynced)
        started = time.process_time()
        self.index.remember_url(item.url, post.id)
        self.stats.inc_value("cpu/write", result.cpu_write)
        self.stats.inc_value("cpu/index", result.cpu_index + time.process_time() - started)
        if result.status == "new":
            self.stats.inc_value("article/new")
            logger.info("new post %s from %s", result.relpath, item.url)
        elif result.status == "updated":
            self.stats.inc_value("article/updated")
            logger.info("updated post %s (earlier: %s)", result.relpath, result.version)
        else:
            self.stats.inc_value("article/unchanged")

    def _stop_run(self, exc: Exception) -> None:
        """A write failed (disk full, read-only, I/O error): stop the crawl, once, so that
        nothing more is fetched for nothing; the CLI exits 74."""
        if self.stats.get_value("archive/write_failed"):
            return
        self.stats.set_value("archive/write_failed", str(exc))
        logger.error("cannot write the archive at %s: %s; stopping the crawl", self.root, exc)
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.engine is not None:
            deferred_from_coro(crawler.engine.close_spider_async(reason="archive_write_failed"))
