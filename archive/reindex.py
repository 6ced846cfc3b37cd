"""Rebuild ``index.db``'s ``articles`` table and full-text index from the posts alone."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from archive.errors import ArchiveError
from archive.fts import index_tokens
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
    root: Path,
    *,
    progress: Callable[[Sequence[Path]], Iterable[Path]] = _no_progress,
    workers: int | None = None,
) -> ReindexReport:
    """Rebuild the ``articles`` rows and the FTS index of the archive at ``root`` from its
    posts; idempotent. Every column comes back as the crawl wrote it except the crawl-history
    columns (``first_seen`` and ``last_fetched`` are kept for ids already indexed, else now).

    ``progress`` wraps the list of post paths (e.g. a progress bar); ``workers`` is the number
    of processes that parse posts (default: one below :data:`PARALLEL_FROM` posts, else one per
    core). Broken posts are reported
    and skipped; rows whose post is gone are removed. Operational tables (failures, runs) are
    kept.
    """
    report = ReindexReport()
    root = Path(root)
    with Index.for_root(root) as index, index.batch():
        # One transaction: a reindex that is interrupted leaves the old index as it was.
        index.reset_fts()
        seen: dict[str, str] = {}  # id -> relpath: nothing more, so memory stays flat
        _index_posts(index, root, progress, seen, report, workers)
        for post_id in sorted(index.article_ids() - set(seen)):
            index.forget_article(post_id)
            report.removed += 1
        index.clear_archived_failures()
    return report


#: Below this many posts, reindex parses in its own process; above, in a pool of processes
#: while it inserts (parsing is about half of the work, and uses the other cores).
PARALLEL_FROM = 2000
_CHUNK = 128  # posts per task given to a worker
_WINDOW = 4  # tasks in flight per worker: bounds the memory of results not yet inserted


def _prepare(path: Path, root: Path) -> tuple:
    """Read one post and make everything its index row needs (runs in a worker): ``("ok",
    row, title tokens, text tokens, in place?)`` or ``("broken", relpath, error)``."""
    try:
        stored = read_post_file(path, root)
    except ArchiveError as exc:
        return ("broken", path.relative_to(root).as_posix(), str(exc))
    post = stored.post
    row = article_row(post, relpath=stored.relpath, sha256=stored.sha256)
    return ("ok", row, index_tokens(post.title), index_tokens(post.text), _in_place(stored))


def _prepare_chunk(paths: list[Path], root: Path) -> list[tuple]:
    return [_prepare(path, root) for path in paths]


def _prepared(paths: Sequence[Path], root: Path, workers: int) -> Iterator[tuple]:
    """Yield :func:`_prepare` of each path, in order; in a process pool when ``workers`` > 1."""
    if workers <= 1:
        for path in paths:
            yield _prepare(path, root)
        return
    chunks = [list(paths[i : i + _CHUNK]) for i in range(0, len(paths), _CHUNK)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(_prepare_chunk, chunk, root))
            if len(pending) >= workers * _WINDOW:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _index_posts(
    index: Index,
    root: Path,
    progress: Callable[[Sequence[Path]], Iterable[Path]],
    seen: dict[str, str],
    report: ReindexReport,
    workers: int | None = None,
) -> None:
    """Index every post file under ``root`` (in the caller's transaction). Of two files with
    one id, the one at the id's place in the layout wins; the other is reported."""
    now = utc_now()
    paths = list(iter_post_paths(root))
    if workers is None:
        workers = (os.cpu_count() or 1) if len(paths) >= PARALLEL_FROM else 1
    placed: dict[str, bool] = {}
    for _, result in zip(progress(paths), _prepared(paths, root, workers), strict=True):
        if result[0] == "broken":
            report.broken.append(BrokenPost(result[1], result[2]))
            continue
        _, row, title_tokens, text_tokens, in_place = result
        post_id, relpath = row["id"], row["path"]
        first_path = seen.get(post_id)
        previous = None
        if first_path is not None:
            if not in_place or placed[post_id]:
                report.broken.append(BrokenPost(relpath, f"same id as {first_path}: not indexed"))
                continue
            first = read_post_file(root / first_path, root)
            report.broken.append(BrokenPost(first_path, f"same id as {relpath}"))
            previous = (first.post.title, first.post.text)
            report.indexed -= 1
        if previous is None:
            index.add_rebuilt(row, (title_tokens, text_tokens), now)
        else:  # a second file with this id replaces the first one's row and entry
            index.upsert_article(
                row, text="", tokens=(title_tokens, text_tokens), previous=previous, now=now
            )
        seen[post_id] = relpath
        placed[post_id] = in_place
        report.indexed += 1


def _in_place(stored: PostFile) -> bool:
    try:
        return stored.relpath == post_relpath(stored.post.id, stored.post.date)
    except (ArchiveError, ValueError):
        return False
