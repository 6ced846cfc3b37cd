"""Post: one archived article as front matter plus an HTML body, in the format of FORMAT.md.

A post file looks like this (keys in this order; ``link`` and later keys are ours, the keys up to
``thumbnail`` are the reference format of the Hexo archive it descends from)::

    ---
    title: '工信部：引导电子信息企业深化5G、人工智能等技术创新应用'
    categories:
     - 金融
     - 新浪财经
    headimg: 'https://n.sinaimg.cn/....png'
    author: 新浪财经
    comments: false
    date: Tue, 30 Nov 2021 07:15:51 GMT
    thumbnail: 'https://n.sinaimg.cn/....png'
    link: 'https://finance.sina.com.cn/.../doc-ikyamrmy5804517.shtml'
    id: ikyamrmy5804517
    source: 中国证券报
    editor: 何中夫
    ---

    <div>
    <p>　　11月30日，……</p>
    </div>

Times are written as RFC 1123 dates in GMT (RFC 7231 section 7.1.1.1 "IMF-fixdate").
"""

from __future__ import annotations

import email.utils
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from archive.body import html_text
from archive.errors import PostFormatError

#: Characters YAML 1.1 treats as line breaks; a title folds each run of them to one space.
_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]+")
#: Characters that YAML cannot hold in a plain or single-quoted scalar (non-printable, BOM, breaks).
_NEEDS_DOUBLE_QUOTES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufeff\ufffe\uffff\r\n\x85\u2028\u2029]"
)
#: A conservative set of strings that may be written as plain scalars: nothing that starts like
#: a number (YAML 1.2 loaders such as js-yaml 4 read ``0o17`` or ``1e3`` as numbers).
_PLAIN_SAFE = re.compile(r"^[^\s!&*\[\]{}|>'\"%@`#,?:\-<=~0-9+.][^#'\"\[\]{}\t]*(?<!\s)$")
_FRONT_MATTER = re.compile(r"\A(?:[ \t]*\r?\n)*---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.S | re.M)

#: libyaml's safe loader when PyYAML was built with it (same results, several times faster).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The order of front-matter keys (FORMAT.md); the keys up to ``editor`` are always present.
#: ``feed`` (the name of the feed that listed the article) is ours, added after FORMAT.md's
#: keys so that the index can be rebuilt from the posts alone.
KEYS = (
    "title",
    "categories",
    "headimg",
    "author",
    "comments",
    "date",
    "thumbnail",
    "link",
    "id",
    "source",
    "editor",
    "tags",
    "updated",
    "feed",
)


def format_http_date(value: datetime) -> str:
    """Return ``value`` as an RFC 1123 date in GMT, e.g. ``Tue, 30 Nov 2021 07:15:51 GMT``.

    Raises ValueError when ``value`` is naive: archive times are always timezone-aware.
    """
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: archive times must be timezone-aware")
    return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)


def parse_http_date(value: str) -> datetime:
    """Parse an RFC 1123 / RFC 2822 date into an aware UTC datetime.

    Raises ValueError when ``value`` is not such a date or carries no zone.
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not an RFC 1123 date: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"RFC 1123 date without a zone: {value!r}")
    return parsed.astimezone(UTC)


def fold_line_breaks(text: str) -> str:
    """Fold every run of line breaks (YAML 1.1's, including NEL and U+2028/9) to one space."""
    return _LINE_BREAKS.sub(" ", text)


def _single_quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _double_quoted(value: str) -> str:
    dumped = yaml.dump(
        value, default_style='"', allow_unicode=True, width=float("inf"), explicit_end=False
    )
    return dumped.removesuffix("\n...\n").rstrip("\n")


def yaml_string(value: str, *, quote: bool = False) -> str:
    """Return ``value`` as a YAML scalar that loads back (YAML 1.1, PyYAML and js-yaml) unchanged.

    Plain style is used when it is safe and ``quote`` is false, single quotes otherwise, and
    double quotes with escapes only for characters no other style can carry (control
    characters, lone surrogates, line breaks).
    """
    if _NEEDS_DOUBLE_QUOTES.search(value):
        return _double_quoted(value)
    if quote or not _PLAIN_SAFE.match(value):
        return _single_quoted(value)
    return value if _loads_back(value) else _single_quoted(value)


@functools.lru_cache(maxsize=1024)
def _loads_back(value: str) -> bool:
    """Whether ``value`` written plain loads back as the same string (not ``2021``, ``yes``,
    ``null`` …); cached: authors, sources, feeds and categories repeat from post to post."""
    try:
        return yaml.load(value, Loader=_SafeLoader) == value
    except yaml.YAMLError:
        return False


def escape_braces(html: str) -> str:
    """Write ``{`` and ``}`` as ``&#123;`` and ``&#125;`` so Hexo's template engine skips them."""
    return html.replace("{", "&#123;").replace("}", "&#125;")


def unescape_braces(html: str) -> str:
    """Turn ``&#123;`` and ``&#125;`` back into braces (the inverse of :func:`escape_braces`)."""
    return html.replace("&#123;", "{").replace("&#125;", "}")


@dataclass
class Post:
    """One article as archived: the front matter of FORMAT.md plus the body HTML.

    ``body`` is the article's HTML *without* the ``<div>`` wrapper and with real braces; the
    escaping of FORMAT.md is applied by :meth:`to_text` and undone by :meth:`from_text`.
    ``date`` and ``updated`` are timezone-aware datetimes (any zone; written in GMT).
    """

    title: str
    date: datetime
    body: str
    link: str = ""
    id: str = ""
    categories: list[str] = field(default_factory=list)
    headimg: str = ""
    author: str = "新浪财经"
    comments: bool = False
    source: str = ""
    editor: str = ""
    tags: list[str] = field(default_factory=list)
    updated: datetime | None = None
    feed: str = ""

    @property
    def text(self) -> str:
        """The plain text of the body: one line per paragraph, white space folded (computed
        once per body)."""
        return _cached_text(self.body)

    @property
    def thumbnail(self) -> str:
        """The same value as ``headimg`` (FORMAT.md keeps both keys for Hexo themes)."""
        return self.headimg

    def front_matter(self) -> dict[str, Any]:
        """Return the front matter as a dict of typed values in FORMAT.md's key order.

        ``date``/``updated`` are RFC 1123 GMT strings, as they appear in the file; ``tags``,
        ``updated`` and ``feed`` are left out when empty, ``link`` … ``editor`` are always
        present.
        """
        meta: dict[str, Any] = {
            "title": fold_line_breaks(self.title),
            "categories": list(self.categories),
            "headimg": self.headimg,
            "author": self.author,
            "comments": self.comments,
            "date": format_http_date(self.date),
            "thumbnail": self.headimg,
            "link": self.link,
            "id": self.id,
            "source": self.source,
            "editor": self.editor,
        }
        if self.tags:
            meta["tags"] = list(self.tags)
        if self.updated is not None:
            meta["updated"] = format_http_date(self.updated)
        if self.feed:
            meta["feed"] = self.feed
        return meta

    def to_text(self) -> str:
        """Serialise the post to the exact text of its file (UTF-8, LF line ends, no BOM)."""
        lines = ["---"]
        for key, value in self.front_matter().items():
            if isinstance(value, bool):
                lines.append(f"{key}: {'true' if value else 'false'}")
            elif isinstance(value, list) and not value:
                lines.append(f"{key}: []")
            elif isinstance(value, list):
                lines.append(f"{key}:")
                lines.extend(f" - {yaml_string(fold_line_breaks(item))}" for item in value)
            elif key in ("title", "headimg", "thumbnail", "link"):
                lines.append(f"{key}: {yaml_string(value, quote=True)}")
            else:
                lines.append(f"{key}: {yaml_string(value)}")
        lines.append("---")
        body = escape_braces(self.body.strip("\n"))
        return "\n".join(lines) + "\n\n<div>\n" + body + "\n</div>\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> Post:
        """Parse a post file's text; ``source`` (a path or URL) names it in errors.

        Accepts the reference archive's variants: a blank line before the first ``---``, CRLF
        line ends, ``<div>`` with trailing spaces, escaped braces. Raises PostFormatError when
        the front matter is missing, is not YAML, or lacks a key or type FORMAT.md requires.
        """
        text = text.removeprefix("\ufeff")
        match = _FRONT_MATTER.match(text)
        if not match:
            raise PostFormatError(f"{source}: no front matter between '---' lines")
        try:
            meta = yaml.load(match.group(1), Loader=_SafeLoader)
        except yaml.YAMLError as exc:
            raise PostFormatError(f"{source}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(meta, dict):
            raise PostFormatError(f"{source}: front matter is not a mapping")
        for key in ("title", "date"):
            if key not in meta:
                raise PostFormatError(f"{source}: front matter has no '{key}'")
        try:
            return cls(
                title=_as_str(meta["title"], "title"),
                date=_as_date(meta["date"], "date"),
                body=_strip_wrapper(unescape_braces(text[match.end() :])),
                link=_as_str(meta.get("link") or "", "link"),
                id=_as_str(meta.get("id") or "", "id"),
                categories=_as_list(meta.get("categories"), "categories"),
                headimg=_as_str(meta.get("headimg") or "", "headimg"),
                author=_as_str(meta.get("author") or "", "author"),
                comments=bool(meta.get("comments", False)),
                source=_as_str(meta.get("source") or "", "source"),
                editor=_as_str(meta.get("editor") or "", "editor"),
                tags=_as_list(meta.get("tags"), "tags"),
                updated=_as_date(meta["updated"], "updated") if meta.get("updated") else None,
                feed=_as_str(meta.get("feed") or "", "feed"),
            )
        except (TypeError, ValueError) as exc:
            raise PostFormatError(f"{source}: {exc}") from exc


@functools.lru_cache(maxsize=64)
def _cached_text(body: str) -> str:
    return html_text(body)


def _as_str(value: Any, key: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise TypeError(f"'{key}' must be a string, got {value!r}")
    return str(value)


def _as_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"'{key}' must be a list, got {value!r}")
    return [_as_str(item, key) for item in value]


def _as_date(value: Any, key: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_http_date(_as_str(value, key))
    except ValueError as exc:
        raise ValueError(f"'{key}': {exc}") from exc


def _strip_wrapper(body: str) -> str:
    body = body.strip()
    if body.startswith("<div>") and body.endswith("</div>"):
        body = body[len("<div>") : -len("</div>")]
    return body.strip("\n").strip(" ").strip("\n")
