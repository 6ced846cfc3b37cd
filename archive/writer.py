"""Atomic writes of post files: a crash leaves the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archive.errors import ArchiveError
from archive.paths import post_relpath, resolve_inside
from archive.post import Post

#: Prefix of the temp files the writer makes; readers skip names that start with a dot.
TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class WriteResult:
    """What :func:`write_post` did: the post's path relative to the root, its sha256 (hex, of
    the file's bytes) and whether the file was (re)written (False: same bytes already there)."""

    relpath: str
    sha256: str
    changed: bool


def write_atomic(path: Path, data: bytes, *, sync_later: set[Path] | None = None) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename,
    fsync of the folder (the rename is durable only then).

    With ``sync_later``, the folder is added to it instead of being fsynced: the caller runs
    :func:`sync_folders` before it relies on the file (before committing its index row). A
    crash before that may lose the new file, never leave a torn one.

    Creates missing parent folders. Raises ArchiveError naming ``path`` when the disk is full,
    the folder is read-only or any other OS error occurs; the temp file is removed then, and
    an existing file at ``path`` is left as it was.
    """
    try:
        created = _make_folders(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from exc
    for folder in created:  # a new day folder is durable only once its parent's entry is
        _fsync_dir(folder.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ArchiveError(f"cannot write {path}: {exc.strerror or exc}") from exc
    _sync_folder(path.parent, sync_later)


def _sync_folder(folder: Path, sync_later: set[Path] | None) -> None:
    """fsync ``folder`` now, or add it to ``sync_later`` (see :func:`write_atomic`)."""
    if sync_later is None:
        _fsync_dir(folder)
    else:
        sync_later.add(folder)


def sync_folders(folders: set[Path]) -> None:
    """fsync each folder of ``folders`` (see :func:`write_atomic`) and empty the set."""
    for folder in sorted(folders):
        _fsync_dir(folder)
    folders.clear()


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
    return list(reversed(missing))


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_post(root: Path, post: Post, *, sync_later: set[Path] | None = None) -> WriteResult:
    """Write ``post`` under ``root`` at ``posts/YYYY/MM/DD/<id>.md`` unless the same bytes are
    already there (``sync_later``: see :func:`write_atomic`).

    Raises UnsafePathError for an id or date that would not give a safe path, ArchiveError for
    an OS error (see :func:`write_atomic`).
    """
    relpath = post_relpath(post.id, post.date)
    path = resolve_inside(root, relpath)
    data = post.to_text().encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    try:
        if path.read_bytes() == data:
            # Left by a crawl that was killed before syncing its folder, maybe: sync it too.
            _sync_folder(path.parent, sync_later)
            return WriteResult(relpath, digest, changed=False)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
    write_atomic(path, data, sync_later=sync_later)
    return WriteResult(relpath, digest, changed=True)


def sweep_temp_files(root: Path) -> int:
    """Remove the temp files an interrupted write left under ``posts/`` and ``versions/``
    (call it only while holding the archive's lock); return how many were removed."""
    removed = 0
    for folder in ("posts", "versions"):
        base = Path(root) / folder
        if not base.is_dir():
            continue
        for path in base.rglob(TEMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed
