"""Feeds: the feeds file (TOML) and the parsers that turn a feed document into entries.

Two kinds of feed document are read:

- ``rss``: RSS 0.9x/1.0/2.0 or Atom, parsed with feedparser (https://feedparser.readthedocs.io),
  which never raises on bad input but sets ``bozo``;
- ``sina_roll``: Sina's roll API (``https://feed.mix.sina.com.cn/api/roll/get?pageid=…&lid=…``),
  JSON ``{"result": {"data": [{docid, title, url, intro, media_name, keywords, ctime, intime,
  mtime, …}]}}`` with times as epoch seconds sent as strings, possibly wrapped in a JSONP
  callback. Shape taken from the real response in
  shared/fixtures/sina/api/r3_sina_roll_153_2516_2026-09-29_page1.json.

Parsers never raise on a bad document: they return a :class:`FeedDocument` whose ``error``
says what was wrong.
"""

from __future__ import annotations

import calendar
import html
import json
import re
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import feedparser

from crawler.items import FeedConfig, FeedDocument, FeedEntry
from crawler.pages import parse_page_time
from crawler.urls import normalize_url

KINDS = ("rss", "sina_roll")
DEFAULT_AUTHOR = "新浪财经"
#: ``<!ENTITY`` in the encodings a feed may come in (feedparser's expat expands no entity
#: either: this refusal is defence in depth, and says why).
_ENTITY_MARKERS = tuple(
    "<!ENTITY".encode(codec)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_HAS_ZONE = re.compile(r"(?:\b(?:GMT|UTC|UT|Z|[A-Z]{3})|[+-]\d{2}:?\d{2}|\dZ)\s*$")
_JSONP = re.compile(r"^\s*(?:try\s*\{\s*)?[\w$.]+\s*\(\s*(.*)\)\s*;?\s*(?:\}\s*catch.*)?$", re.S)


class FeedConfigError(ValueError):
    """The feeds file is missing, is not TOML, or a feed in it lacks a field or is invalid."""


def default_feeds_path() -> Path:
    """Return the path of the feeds file shipped with the package (``crawler/feeds.toml``)."""
    return Path(str(resources.files("crawler") / "feeds.toml"))


def load_feeds(path: Path | None = None) -> list[FeedConfig]:
    """Read a feeds file: ``[[feed]]`` tables with ``name``, ``url``, ``kind``, ``categories``
    (list of strings) and ``author`` (default 新浪财经).

    Raises FeedConfigError naming the file and the feed when anything is wrong.
    """
    path = path or default_feeds_path()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FeedConfigError(f"cannot read feeds file {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedConfigError(f"feeds file {path} is not valid TOML: {exc}") from exc
    tables = data.get("feed")
    if not isinstance(tables, list) or not tables:
        raise FeedConfigError(f"feeds file {path} has no [[feed]] tables")
    feeds: list[FeedConfig] = []
    names: set[str] = set()
    for number, table in enumerate(tables, 1):
        where = f"{path}, feed #{number}"
        name, url = table.get("name"), table.get("url")
        if not isinstance(name, str) or not name.strip():
            raise FeedConfigError(f"{where}: 'name' must be a non-empty string")
        if name in names:
            raise FeedConfigError(f"{where}: the name {name!r} is used twice")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise FeedConfigError(f"{where} ({name}): 'url' must be an http(s) URL")
        kind = table.get("kind")
        if kind is not None and kind not in KINDS:
            raise FeedConfigError(f"{where} ({name}): 'kind' must be one of {', '.join(KINDS)}")
        categories = table.get("categories")
        if categories is not None and (
            not isinstance(categories, list) or not all(isinstance(c, str) for c in categories)
        ):
            raise FeedConfigError(f"{where} ({name}): 'categories' must be a list of strings")
        author = table.get("author", DEFAULT_AUTHOR)
        if not isinstance(author, str):
            raise FeedConfigError(f"{where} ({name}): 'author' must be a string")
        names.add(name)
        feeds.append(
            FeedConfig(
                name=name,
                url=url,
                kind=kind,
                categories=tuple(categories) if categories is not None else None,
                author=author,
            )
        )
    return feeds


def select_feeds(path: Path | None, wanted: list[str]) -> list[FeedConfig]:
    """Return the feeds to crawl: every feed of the feeds file at ``path`` (None: the shipped
    one) when ``wanted`` is empty, else the feeds ``wanted`` names; a URL in ``wanted`` is an
    extra feed whose kind is recognised from the document, whose categories default to the
    feed's own title and whose author is 新浪财经.

    Raises FeedConfigError for a bad feeds file or a name the file does not have.
    """
    feeds = load_feeds(path)
    if not wanted:
        return feeds
    by_name = {feed.name: feed for feed in feeds}
    chosen = []
    for item in wanted:
        if item in by_name:
            chosen.append(by_name[item])
        elif item.startswith(("http://", "https://")):
            chosen.append(FeedConfig(name=item, url=item))
        else:
            raise FeedConfigError(
                f"unknown feed {item!r}: not a name in the feeds file "
                f"({', '.join(by_name)}) nor an http(s) URL"
            )
    return chosen


def detect_kind(body: bytes) -> str:
    """Recognise a feed document: ``sina_roll`` for JSON/JSONP, ``rss`` for anything else
    (feedparser decides then whether it is RSS or Atom)."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")) or re.match(rb"^(try\s*\{\s*)?[\w$.]+\s*\(", head):
        return "sina_roll"
    return "rss"


def parse_feed(
    body: bytes, url: str, *, feed: str, kind: str | None = None, content_type: str = ""
) -> FeedDocument:
    """Parse a feed document fetched from ``url`` into entries of the feed named ``feed``.

    ``kind`` is ``rss``, ``sina_roll`` or None (recognise it). Never raises on bad input.
    """
    kind = kind or detect_kind(body)
    if kind == "sina_roll":
        return parse_roll_json(body, url, feed=feed)
    return parse_rss(body, url, feed=feed, content_type=content_type)


def _dedupe(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            unique.append(entry)
    return unique


def entry_time(raw: Any, parsed: Any) -> datetime | None:
    """An entry's time from the feed's text ``raw`` and feedparser's ``parsed`` struct (UTC).

    Sina's feeds are read the way Sina writes them: epoch seconds (``1638256551``), and times
    without a zone (``2021-11-30 15:15:51``, ``2021年11月30日 15:15``) in Beijing time, which
    feedparser would take as UTC or not read at all.
    """
    text = str(raw or "").strip()
    if text.isdigit():
        return _epoch(text)
    if text.endswith(" CST"):  # China Standard Time on a Chinese site, not US Central
        text = text[: -len(" CST")]
    if text and not _HAS_ZONE.search(text):
        local = parse_page_time(text)
        if local is not None:
            return local
    return _struct_to_datetime(parsed)


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def parse_rss(body: bytes, url: str, *, feed: str, content_type: str = "") -> FeedDocument:
    """Parse RSS or Atom bytes with feedparser. Entries without a usable http(s) link are
    skipped; entries listed twice (same URL after normalisation) are kept once."""
    if any(marker in body for marker in _ENTITY_MARKERS):
        return FeedDocument(
            kind="rss",
            error="refused: the document declares XML entities (entity expansion and external "
            "entities are not read)",
        )
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    doc = FeedDocument(kind="rss", title=(parsed.feed.get("title") or "").strip())
    entries = []
    for item in parsed.entries:
        link = normalize_url(item.get("link") or "", url)
        if not link:
            continue
        entries.append(
            FeedEntry(
                url=link,
                guid=(item.get("id") or link).strip(),
                title=html.unescape(item.get("title") or "").strip(),
                feed=feed,
                # dict.get: FeedParserDict maps a missing key to another (feedparser issue 310)
                published=entry_time(
                    dict.get(item, "published"), dict.get(item, "published_parsed")
                ),
                updated=entry_time(dict.get(item, "updated"), dict.get(item, "updated_parsed")),
            )
        )
    doc.entries = _dedupe(entries)
    if not doc.entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
        doc.error = f"not a readable RSS/Atom document: {problem}"
    return doc


def _epoch(value: Any) -> datetime | None:
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_roll_json(body: bytes, url: str, *, feed: str) -> FeedDocument:
    """Parse a Sina roll API response (JSON or JSONP) into entries.

    An entry's URL is ``url`` (else ``wapurl``), its guid the ``docid``, published ``ctime``
    (else ``intime``), updated ``mtime``; ``media_name`` and ``keywords`` are kept as source
    and tags.
    """
    doc = FeedDocument(kind="sina_roll")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        doc.error = f"roll API response is not UTF-8: {exc}"
        return doc
    jsonp = _JSONP.match(text)
    if jsonp and not text.lstrip().startswith(("{", "[")):
        text = jsonp.group(1)
    try:
        data = json.loads(text)
    except ValueError as exc:
        doc.error = f"roll API response is not JSON: {exc}"
        return doc
    result = data.get("result") if isinstance(data, dict) else None
    items = result.get("data") if isinstance(result, dict) else None
    if not isinstance(items, list):
        doc.error = "roll API response has no result.data list"
        return doc
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = normalize_url(str(item.get("url") or item.get("wapurl") or ""), url)
        if not link:
            continue
        keywords = str(item.get("keywords") or "")
        entries.append(
            FeedEntry(
                url=link,
                guid=str(item.get("docid") or link),
                title=html.unescape(str(item.get("title") or "")).strip(),
                feed=feed,
                published=_epoch(item.get("ctime")) or _epoch(item.get("intime")),
                updated=_epoch(item.get("mtime")),
                source=str(item.get("media_name") or "").strip(),
                tags=tuple(k.strip() for k in re.split(r"[,，]", keywords) if k.strip()),
            )
        )
    doc.entries = _dedupe(entries)
    return doc
