"""Errors raised by the archive package; each message names the path or URL at fault."""


class ArchiveError(Exception):
    """Base class of every error the archive package raises on purpose."""


class PostFormatError(ArchiveError):
    """A post file (or text) does not follow FORMAT.md: no front matter, bad YAML, wrong types."""


class UnsafePathError(ArchiveError):
    """A path computed from input would leave the archive root or break the naming rules."""


class LockedError(ArchiveError):
    """Another process holds the archive's crawl lock."""
