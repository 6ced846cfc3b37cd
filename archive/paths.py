"""The only home of the archive's naming rules: article ids and ``posts/YYYY/MM/DD/<id>.md``.

Paths are ASCII, deterministic (one article, one path) and never leave the archive root
whatever the input: ids are checked against :data:`ID_PATTERN` and resolved paths are checked
to stay under the root.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from archive.errors import UnsafePathError

#: Beijing time (UTC+8, no daylight saving since 1991): Sina's dates and our folder dates.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

#: An id is what names a post file: ASCII letters, digits, ``_`` and ``-``; 1 to 64 characters.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")

# Sina's article ids, newest scheme first. Sources: the URLs of the captured pages in
# shared/fixtures/sina/MANIFEST.tsv, e.g. .../doc-ikyamrmy5804517.shtml,
# finance.sina.cn/.../detail-ikknscsi2623250.d.html, k.sina.com.cn/article_<uid>_<id>.html and
# t.cj.sina.com.cn/articles/view/<uid>/<id> (one <id> scheme: it starts with <uid> in hex).
_SINA_IDS = (
    re.compile(r"/(?:doc|detail)-(i[a-z0-9]{6,20})(?:\.d)?\.s?html?$"),
    re.compile(r"/article_\d+_([0-9a-z]{10,32})\.html?$"),
    re.compile(r"/articles/view/\d+/([0-9a-z]{10,32})/?$"),
)


def article_id(link: str) -> str:
    """Return the stable id of the article at ``link`` (an absolute URL).

    The Sina doc id when the URL carries one (``ikyamrmy5804517`` from
    ``doc-ikyamrmy5804517.shtml``, ``detail-…`` pages, k.sina / t.cj article ids), else the
    first 16 hex digits of sha1(link) (FORMAT.md, "id").
    """
    path = urlsplit(link).path
    for pattern in _SINA_IDS:
        match = pattern.search(path)
        if match:
            return match.group(1)
    return hashlib.sha1(link.encode("utf-8")).hexdigest()[:16]


def check_id(post_id: str) -> str:
    """Return ``post_id`` unchanged when it is a valid id; raise UnsafePathError otherwise."""
    if not ID_PATTERN.match(post_id):
        raise UnsafePathError(
            f"unsafe post id {post_id!r}: ids are 1-64 ASCII letters, digits, '_' or '-'"
        )
    return post_id


def post_relpath(post_id: str, published: datetime) -> str:
    """Return ``posts/YYYY/MM/DD/<id>.md`` for a post, the date taken in Beijing time.

    ``published`` must be timezone-aware. Raises UnsafePathError for an invalid id and
    ValueError for a naive datetime.
    """
    if published.tzinfo is None:
        raise ValueError(f"naive datetime {published!r}: publication times must be aware")
    day = published.astimezone(BEIJING)
    return f"posts/{day:%Y/%m/%d}/{check_id(post_id)}.md"


def resolve_inside(root: Path, relpath: str) -> Path:
    """Return ``root / relpath``, raising UnsafePathError if it would resolve outside ``root``."""
    if "\x00" in relpath or relpath.startswith(("/", "\\")) or ".." in Path(relpath).parts:
        raise UnsafePathError(f"unsafe archive path {relpath!r} under {root}")
    base = _resolved(os.path.abspath(root))
    target = (base / relpath).resolve()
    if not target.is_relative_to(base):
        raise UnsafePathError(f"archive path {relpath!r} resolves outside {root}")
    return target


@functools.lru_cache(maxsize=64)
def _resolved(root: str) -> Path:
    """``Path(root).resolve()`` of an absolute ``root``, once (a crawl writes many posts)."""
    return Path(root).resolve()
