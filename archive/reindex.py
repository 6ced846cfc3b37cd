"""Rebuild ``index.db``'s ``articles`` table and full-text index from the posts alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from archive.errors import ArchiveError
from archive.index import Index, article_row, utc_now
from archive.paths import post_relpath
from archive.reader import BrokenPost, PostFile, iter_post_paths, read_post_file

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
    with Index.for_root(root) as index, index.batch():
        # One transaction: a reindex that is interrupted leaves the old index as it was.
        index.reset_fts()
        seen: dict[str, str] = {}  # id -> relpath: nothing more, so memory stays flat
        _index_posts(index, root, progress, seen, report)
        for post_id in sorted(index.article_ids() - set(seen)):
            index.forget_article(post_id)
            report.removed += 1
    return report


def _index_posts(
    index: Index,
    root: Path,
    progress: Callable[[Sequence[Path]], Iterable[Path]],
    seen: dict[str, str],
    report: ReindexReport,
) -> None:
    """Index every post file under ``root`` (in the caller's transaction). Of two files with
    one id, the one at the id's place in the layout wins; the other is reported."""
    now = utc_now()
    for path in progress(list(iter_post_paths(root))):
        try:
            stored = read_post_file(path, root)
        except ArchiveError as exc:
            report.broken.append(BrokenPost(path.relative_to(root).as_posix(), str(exc)))
            continue
        post = stored.post
        first_path = seen.get(post.id)
        previous = None
        if first_path is not None:
            first = read_post_file(root / first_path, root)
            if not _in_place(stored) or _in_place(first):
                report.broken.append(
                    BrokenPost(stored.relpath, f"same id as {first_path}: not indexed")
                )
                continue
            report.broken.append(BrokenPost(first_path, f"same id as {stored.relpath}"))
            previous = (first.post.title, first.post.text)
            report.indexed -= 1
        row = article_row(post, relpath=stored.relpath, sha256=stored.sha256)
        index.upsert_article(
            row, text=post.text, previous=previous, fresh_fts=previous is None, now=now
        )
        seen[post.id] = stored.relpath
        report.indexed += 1


def _in_place(stored: PostFile) -> bool:
    try:
        return stored.relpath == post_relpath(stored.post.id, stored.post.date)
    except (ArchiveError, ValueError):
        return False
