"""Earlier versions of posts: ``<root>/versions/<id>/<YYYYMMDDTHHMMSSZ>.md``.

When an article changes, its post is replaced atomically and the file it replaces is first kept
here, byte for byte, named after the UTC time it was replaced. Nothing archived is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from archive.paths import check_id, resolve_inside
from archive.writer import write_atomic

VERSIONS = "versions"
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Version:
    """One earlier version of a post: its path relative to the root, when it was replaced
    (aware UTC), the sha256 (hex) and size (bytes) of the file."""

    relpath: str
    replaced: datetime
    sha256: str
    size: int


def save_version(root: Path, post_id: str, data: bytes, when: datetime | None = None) -> str:
    """Keep ``data`` (the bytes of the post file about to be replaced) as a version of
    ``post_id``; return its path relative to ``root``. Raises UnsafePathError for a bad id,
    ArchiveError when it cannot be written."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    folder = f"{VERSIONS}/{check_id(post_id)}"
    relpath = f"{folder}/{when:{_STAMP}}.md"
    number = 1
    while resolve_inside(root, relpath).exists():  # two changes within one second
        number += 1
        relpath = f"{folder}/{when:{_STAMP}}-{number}.md"
    write_atomic(resolve_inside(root, relpath), data)
    return relpath


def list_versions(root: Path, post_id: str) -> list[Version]:
    """Return the earlier versions of ``post_id``, oldest first (empty when there are none)."""
    folder = resolve_inside(root, f"{VERSIONS}/{check_id(post_id)}")
    if not folder.is_dir():
        return []
    versions = []
    found = []
    for path in folder.glob("*.md"):
        if path.name.startswith("."):
            continue
        stamp, _, number = path.stem.partition("-")
        try:
            replaced = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue
        found.append((replaced, int(number) if number.isdigit() else 1, path))
    for replaced, _, path in sorted(found):
        data = path.read_bytes()
        versions.append(
            Version(
                path.relative_to(Path(root).resolve()).as_posix(),
                replaced,
                hashlib.sha256(data).hexdigest(),
                len(data),
            )
        )
    return versions
