"""Reading posts back from the archive: one file, or every file under ``posts/``."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.errors import ArchiveError, PostFormatError
from archive.post import Post

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostFile:
    """A post read from disk: its path relative to the root, the parsed post and the sha256
    (hex) of the file's bytes."""

    relpath: str
    post: Post
    sha256: str


@dataclass(frozen=True)
class BrokenPost:
    """A file under ``posts/`` that could not be read as a post, and why."""

    relpath: str
    error: str


def read_post(path: Path) -> Post:
    """Read and parse one post file.

    Raises PostFormatError (naming ``path``) when it is not a post, ArchiveError when it
    cannot be read or is not UTF-8.
    """
    return read_post_file(path, Path(path).parent).post


def read_post_file(path: Path, root: Path) -> PostFile:
    """Read one post file under ``root``; see :func:`read_post` for the errors."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostFormatError(f"{path}: not UTF-8 ({exc})") from exc
    post = Post.from_text(text, source=str(path))
    relpath = Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else ""
    return PostFile(relpath, post, hashlib.sha256(data).hexdigest())


def iter_post_paths(root: Path) -> Iterator[Path]:
    """Yield every ``*.md`` file under ``<root>/posts`` in sorted order, skipping names that
    start with a dot (the writer's temp files)."""
    base = Path(root) / "posts"
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.md")):
        if not path.name.startswith(".") and path.is_file():
            yield path


def iter_posts(root: Path, broken: list[BrokenPost] | None = None) -> Iterator[PostFile]:
    """Yield every readable post under ``<root>/posts``; a broken file is logged, appended to
    ``broken`` when given, and skipped."""
    root = Path(root)
    for path in iter_post_paths(root):
        try:
            yield read_post_file(path, root)
        except ArchiveError as exc:
            relpath = path.relative_to(root).as_posix()
            logger.warning("skipping %s: %s", relpath, exc)
            if broken is not None:
                broken.append(BrokenPost(relpath, str(exc)))
