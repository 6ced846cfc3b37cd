"""The on-disk format of a sina-archive archive: posts, paths, atomic writer and SQLite index.

This package imports no Scrapy: downstream readers (scripts, Datasette, Hexo tooling) can use it
alone. The contract it implements is ``FORMAT.md`` (front-matter posts under
``posts/YYYY/MM/DD/<id>.md`` plus ``index.db``).
"""

from archive.api import Archive, PostNotFound, SearchHit
from archive.errors import ArchiveError, LockedError, PostFormatError, UnsafePathError
from archive.post import Post

__all__ = [
    "Archive",
    "ArchiveError",
    "LockedError",
    "Post",
    "PostFormatError",
    "PostNotFound",
    "SearchHit",
    "UnsafePathError",
]
