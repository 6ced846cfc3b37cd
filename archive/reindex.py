"""Rebuild ``index.db``'s ``articles`` table and full-text index from the posts alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from archive.errors import ArchiveError
from archive.index import Index, article_row, utc_now
from archive.reader import BrokenPost, iter_post_paths, read_post_file

T = TypeVar("T")


def _no_progress(items: Sequence[T]) -> Iterable[T]:
    return items


@dataclass
class ReindexReport:
    """What a reindex did: posts indexed, rows removed (their file is gone), broken files."""

    indexed: int = 0
    removed: int = 0
    broken: list[BrokenPost] = field(default_factory=list)


def reindex(
    root: Path, *, progress: Callable[[Sequence[Path]], Iterable[Path]] = _no_progress
) -> ReindexReport:
    """Rebuild the ``articles`` rows and the FTS index of the archive at ``root`` from its
    posts; idempotent. Every column comes back as the crawl wrote it except the crawl-history
    columns (``first_seen`` is kept for ids already indexed, ``last_fetched`` is now).

    ``progress`` wraps the list of post paths (e.g. a progress bar). Broken posts are reported
    and skipped; rows whose post is gone are removed. Operational tables (failures, runs) are
    kept.
    """
    report = ReindexReport()
    root = Path(root)
    with Index.for_root(root) as index:
        index.reset_fts()
        seen: set[str] = set()
        with index.batch():
            _index_posts(index, root, progress, seen, report)
        for post_id in sorted(index.article_ids() - seen):
            with index.transaction():
                index.db.execute("delete from articles where id = ?", [post_id])
                index.db.execute("delete from entry_urls where id = ?", [post_id])
            report.removed += 1
    return report


def _index_posts(
    index: Index,
    root: Path,
    progress: Callable[[Sequence[Path]], Iterable[Path]],
    seen: set[str],
    report: ReindexReport,
) -> None:
    """Index every post file under ``root`` (one transaction: the caller's batch)."""
    now = utc_now()
    for path in progress(list(iter_post_paths(root))):
        try:
            stored = read_post_file(path, root)
        except ArchiveError as exc:
            report.broken.append(BrokenPost(path.relative_to(root).as_posix(), str(exc)))
            continue
        row = article_row(stored.post, relpath=stored.relpath, sha256=stored.sha256)
        index.upsert_article(row, text=stored.post.text, fresh_fts=True, now=now)
        seen.add(stored.post.id)
        report.indexed += 1
