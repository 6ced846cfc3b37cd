"""The items that flow through the crawl: feed → entry → page → article (→ post, in archive/).

All datetimes are timezone-aware; all URLs are absolute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedConfig:
    """One configured feed (a ``[[feed]]`` table of feeds.toml).

    ``kind`` is ``rss`` (RSS or Atom, read with feedparser), ``sina_roll`` (Sina's roll JSON
    API) or ``None`` to recognise it from the document. ``categories`` is the category path
    written to each post; ``None`` means "the feed's own title".
    """

    name: str
    url: str
    kind: str | None = None
    categories: tuple[str, ...] | None = None
    author: str = "新浪财经"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a feed: the article it points to and what the feed says of it.

    ``url`` is the article URL with redirect wrappers unwrapped, https for Sina hosts and
    tracking query dropped; ``guid`` is the feed's own id for the entry (or ``url``);
    ``published``/``updated`` are aware datetimes or None when the feed gives none.
    """

    url: str
    guid: str
    title: str
    feed: str
    published: datetime | None = None
    updated: datetime | None = None
    source: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class FeedDocument:
    """A parsed feed: its title, its entries and, for a broken document, why.

    ``error`` is a short sentence when the document could not be read as the feed kind
    (then ``entries`` holds whatever could be read, often nothing).
    """

    kind: str
    title: str = ""
    entries: list[FeedEntry] = field(default_factory=list)
    error: str = ""


@dataclass
class ArticleItem:
    """An article extracted from a page, ready to become a post.

    ``link`` is the canonical URL, ``url`` the URL the page was requested at (they differ when
    the page names another canonical URL); ``body`` is cleaned HTML without a wrapper;
    ``published`` is aware.
    """

    url: str
    link: str
    id: str
    title: str
    published: datetime
    body: str
    feed: str = ""
    categories: tuple[str, ...] = ()
    author: str = "新浪财经"
    headimg: str = ""
    source: str = ""
    editor: str = ""
    tags: tuple[str, ...] = ()
    updated: datetime | None = None


@dataclass
class PageFailure:
    """A URL (feed or page) that could not be archived, with a short ``reason`` slug
    (``http_404``, ``no_body``, ``bad_encoding`` …) and a human ``detail``."""

    url: str
    feed: str
    reason: str
    detail: str = ""
    retry_after: float = 0.0  # seconds the server asked us to wait (Retry-After), 0 if none


@dataclass
class FeedPolled:
    """A feed document read without error: its URL, its feed, how many entries it listed and
    the time of its newest entry (None when it listed none with a time)."""

    url: str
    feed: str
    entries: int
    newest: datetime | None = None
