"""Storing a post: the file, its earlier version, its index row and full-text entry, together.

One routine for every writer (the crawl's pipeline, the importer), so that the rules are the
same everywhere:

- a new article: the file is written atomically, then its row is committed;
- the same article with the same content: nothing is written (the row's ``last_fetched`` moves
  on); a row left behind its file by a crash between rename and commit is brought up to date;
- changed content: the file being replaced is first kept under ``versions/`` byte for byte
  (whether or not it still parses), then the new file and row replace the old ones, with
  ``updated`` set;
- what the first archiving decided is kept: feed, categories and author; source and tags are
  kept when the new version has none.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archive.errors import ArchiveError, UnsafePathError
from archive.index import Index, article_row, utc_now
from archive.paths import resolve_inside
from archive.post import Post
from archive.versions import list_versions, save_version
from archive.writer import write_post


@dataclass(frozen=True)
class StoreResult:
    """What :func:`store_post` did: ``status`` is ``new``, ``updated``, ``unchanged`` or
    ``healed`` (the row caught up with its file); ``relpath`` is the post's path; ``version``
    the path of the kept earlier version, if one was kept."""

    status: str
    relpath: str
    version: str = ""
    cpu_write: float = 0.0  # CPU seconds spent reading and writing files (post, version)
    cpu_index: float = 0.0  # CPU seconds spent on the index row and full-text entry


def store_post(
    root: Path,
    index: Index,
    post: Post,
    *,
    now: str | None = None,
    sync_later: set[Path] | None = None,
) -> StoreResult:
    """Store ``post`` (see the module docstring). ``post.updated`` is the time the source says
    the article changed, or None (then a change is dated ``now``, ISO 8601 UTC).

    ``sync_later`` (a caller that commits its index rows in batches): the folder of a *new*
    post is added to it instead of being fsynced at once; the caller runs
    :func:`archive.writer.sync_folders` before committing (a changed post, whose earlier
    version moves, is always synced at once).

    Raises UnsafePathError for an unsafe id, ArchiveError or sqlite3.Error when the archive
    cannot be written (nothing is half-written: files are atomic, rows transactional).
    """
    now = now or utc_now()
    began = time.process_time()
    old = index.get_article(post.id)
    looked = time.process_time()
    data, stored = _read(root, old)
    read = time.process_time() - looked
    if stored is not None:
        post.feed = stored.feed or post.feed
        post.categories = stored.categories or post.categories
        post.author = stored.author or post.author
        post.source = post.source or stored.source
        post.tags = post.tags or stored.tags
    elif old is not None and old.get("feed"):
        post.feed = old["feed"]
    reported = post.updated
    if stored is not None and data is not None:
        post.updated = stored.updated
        if post.to_text().encode("utf-8") == data:
            relpath = old["path"] if old else ""
            status = "unchanged"
            if old is not None and old["sha256"] == _sha(data):
                index.touch(post.id, now)
            else:
                status = "healed"
                _upsert(index, post, relpath, _sha(data), now, _indexed(root, old, data))
            return StoreResult(status, relpath, "", read, time.process_time() - began - read)
    version = ""
    started = time.process_time()
    if data is not None:
        version = save_version(root, post.id, data, datetime.fromisoformat(now))
        post.updated = reported or datetime.fromisoformat(now)
    result = write_post(root, post, sync_later=sync_later if old is None and data is None else None)
    wrote = time.process_time()
    _upsert(index, post, result.relpath, result.sha256, now, _indexed(root, old, data))
    indexed = time.process_time()
    if old is not None and old["path"] != result.relpath:
        try:
            resolve_inside(root, old["path"]).unlink(missing_ok=True)  # kept as a version
        except (OSError, UnsafePathError):
            pass
    status = "new" if old is None and data is None else "updated"
    index_cpu = (looked - began) + (indexed - wrote)
    return StoreResult(status, result.relpath, version, read + wrote - started, index_cpu)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _upsert(
    index: Index,
    post: Post,
    relpath: str,
    sha256: str,
    now: str,
    previous: tuple[str, str] | None,
) -> None:
    row = article_row(post, relpath=relpath, sha256=sha256)
    index.upsert_article(row, text=post.text, previous=previous, now=now)


def _read(root: Path, old: dict | None) -> tuple[bytes | None, Post | None]:
    """The bytes of the stored file (None when there is none) and the post they hold (None
    when they do not parse)."""
    if old is None:
        return None, None
    try:
        path = resolve_inside(root, old["path"])
        data = path.read_bytes()
    except (OSError, UnsafePathError):
        return None, None
    try:
        return data, Post.from_text(data.decode("utf-8"), source=str(path))
    except (ArchiveError, UnicodeDecodeError):
        return data, None


def _indexed(root: Path, old: dict | None, data: bytes | None) -> tuple[str, str] | None:
    """The (title, text) the row's full-text entry was made from: the file the row's sha256
    names, found on disk or among the kept versions; None when it is gone (the index is then
    flagged for a rebuild)."""
    if old is None:
        return None
    candidates: list[bytes] = []
    if data is not None and _sha(data) == old["sha256"]:
        candidates.append(data)
    else:
        for version in reversed(list_versions(root, old["id"])):
            if version.sha256 == old["sha256"]:
                candidates.append(resolve_inside(root, version.relpath).read_bytes())
                break
    for candidate in candidates:
        try:
            post = Post.from_text(candidate.decode("utf-8"))
        except (ArchiveError, UnicodeDecodeError):
            return None
        return post.title, post.text
    return None
