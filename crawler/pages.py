"""ArticlePage: extract an article from a Sina page (every layout of shared/fixtures/sina/pages).

Layouts are recognised from the page, not from the host name:

- ``#artibody``: finance.sina.com.cn, tech.sina.com.cn, k.sina.com.cn, t.cj.sina.com.cn and the
  2009-2012 GB2312 pages (``h1#artibodyTitle``, ``span#pub_date``, ``span#media_name``);
- ``div#article``: news.sina.com.cn (2018-2024: ``h1.main-title``, ``.date-source``);
- ``section.art_content``: mobile finance.sina.cn (``h1.art_tit_h1``).

All selectors live at the top of this module. Times on the pages are Beijing time (UTC+8).
"""

from __future__ import annotations

import codecs
import functools
import html
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import lxml.html
from lxml import etree
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from archive.body import EDITOR, clean_body, css, element_text, take_editor
from archive.paths import BEIJING, article_id
from crawler.items import ArticleItem, FeedEntry
from crawler.urls import is_sina_host, normalize_url

# --- selectors (CSS), most specific first -----------------------------------------------------
BODY = ("#artibody", "div#article", "section.art_content", "#art_content", ".article-body")
TITLE = ("h1.main-title", "h1#artibodyTitle", "h1.art_tit_h1", ".article-header h1", "h1.title")
DATE_LINE = (".date-source .date", "span.date", "#pub_date", ".time-source", ".weibo_time")
SOURCE = (
    "div.date-source .source",  # what 20 of the 29 captured pages have: a walk over <div>s
    ".date-source .source",
    ".source.ent-source",
    "span.source",
    "a.source",
    "#media_name",
    ".time-source [data-sudaclick=media_name]",
    ".time-source a",
)
KEYWORDS_WIDGET = "#keywords[data-wbkey]"
#: The keywords meta of a whole site rather than of an article (t.cj.sina.com.cn).
SITE_KEYWORDS = ("财经头条,财经新闻,投资价值",)
#: Platform names that pages show where the publisher's name belongs (k.sina: 新浪看点).
PLATFORM_SOURCES = ("新浪看点", "财经头条", "新浪网", "新浪")

_DATE = re.compile(
    r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
)
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_SPACE = re.compile(r"\s+")
#: Characters of text in an element, white space aside (counted by libxml2, not Python).
_TEXT_LENGTH = etree.XPath("string-length(translate(normalize-space(.), ' \u3000', ''))")
#: A video player in the body: a video-only article (k.sina) is kept although it has no text.
VIDEO_XPATH = ".//video | .//*[@id='Video_Cont'] | .//*[contains(@class, 'video-player')]"
#: A selector of one id, with at most one attribute that must be present.
_ID_SELECTOR = re.compile(r"#([A-Za-z][\w-]*)(?:\[([A-Za-z][\w-]*)\])?\Z")
_BY_ID = etree.XPath("id($id)")
_CANONICAL_LINKS = etree.XPath("//link[@rel='canonical']")
#: Below this many characters of text (no spaces) a body is empty (an index page, a stub).
MIN_BODY_CHARS = 20


class NotAnArticle(Exception):
    """The page holds no article; ``reason`` is a short slug (``no_body``, ``empty_body``,
    ``no_title``, ``bad_encoding``, ``no_date``) used in stats and the failures table."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _codec(label: str | None) -> str | None:
    """Map an encoding label to a Python codec; GB2312/GBK labels decode as GB18030, their
    superset (WHATWG Encoding, https://encoding.spec.whatwg.org/#names-and-labels)."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("'\"")).name
    except LookupError:
        return None
    if name in ("gb2312", "gbk", "gb18030", "hz"):
        return "gb18030"
    if name == "latin-1" or name == "iso8859-1":
        return "cp1252"
    return name


def decode_page(body: bytes, content_type: str = "", *, url: str = "") -> tuple[str, str]:
    """Decode an HTML page to text; return ``(text, codec)``.

    The encoding comes from the BOM, else the HTTP ``Content-Type`` charset, else the page's
    ``<meta>`` charset, else UTF-8. When the declared encoding does not decode the bytes
    cleanly, the other declaration is tried; if none decodes cleanly, NotAnArticle
    (``bad_encoding``) is raised naming ``url``: a page is never archived with replacement
    characters.
    """
    bom_codec, bom = read_bom(body)
    if bom_codec:
        try:
            return body[len(bom) :].decode(bom_codec), bom_codec
        except UnicodeDecodeError as exc:
            raise NotAnArticle("bad_encoding", f"{url}: bytes do not match their BOM") from exc
    candidates: list[str] = []
    for label in (
        http_content_type_encoding(content_type) if content_type else None,
        html_body_declared_encoding(body),
        "utf-8",
    ):
        codec = _codec(label)
        if codec and codec not in candidates:
            candidates.append(codec)
    for codec in candidates:
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    raise NotAnArticle(
        "bad_encoding",
        f"{url}: bytes do not decode cleanly as {' or '.join(candidates)} (declared encodings)",
    )


def parse_page_time(text: str) -> datetime | None:
    """Parse a page's time: ISO 8601 (``2019-09-11T01:53:41+08:00``; without a zone it is
    Beijing time) or a Chinese date line (``2018年09月28日 07:08``, ``2011年08月22日 14:58``,
    Beijing time). Return an aware datetime or None."""
    text = (text or "").replace("\xa0", " ")
    iso = _ISO.match(text)
    if iso:
        year, month, day, hour, minute, second, zone = iso.groups()
        tz = BEIJING
        if zone == "Z":
            tz = UTC
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return _make_time(year, month, day, hour, minute, second, tz)
    line = _DATE.search(text)
    if line:
        return _make_time(*line.groups(), BEIJING)
    return None


def _make_time(year, month, day, hour, minute, second, tz) -> datetime | None:  # type: ignore[no-untyped-def]
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=tz
        )
    except ValueError:
        return None


@functools.lru_cache(maxsize=16)
def _parser(codec: str) -> lxml.html.HTMLParser | None:
    """An HTML parser for bytes in ``codec``, or None when libxml2 does not know the codec
    (then the decoded text is parsed)."""
    if codec.startswith("utf-8") and codec != "utf-8":
        return None  # utf-8-sig and the like: the BOM was stripped from the text only
    try:
        return lxml.html.HTMLParser(encoding=codec)
    except LookupError:
        return None


class ArticlePage:
    """A fetched page and the article in it.

    ``url`` is the URL the page was fetched at (its real URL, not a test server's), ``body`` the
    raw bytes and ``content_type`` the HTTP header. Decoding happens in the constructor and
    raises NotAnArticle (``bad_encoding``).
    """

    def __init__(self, url: str, body: bytes, content_type: str = "") -> None:
        self.url = url
        self.text, self.encoding = decode_page(body, content_type, url=url)
        try:
            # The bytes parse faster than the decoded text; decode_page proved the encoding.
            parser = _parser(self.encoding)
            self.tree = lxml.html.document_fromstring(
                body if parser is not None else self.text, parser=parser
            )
        except (etree.ParserError, ValueError) as exc:
            raise NotAnArticle("no_body", f"{url}: not an HTML document: {exc}") from exc
        self._as_parsed = True  # False once to_article starts cleaning the body
        self._absent_ids: set[str] = set()  # ids the page as parsed does not hold

    # -- small lookups --------------------------------------------------------------------------

    def _first(self, selectors: Iterable[str]):  # type: ignore[no-untyped-def]
        """The elements each selector finds in the page, selector after selector."""
        for selector in selectors:
            yield from self._select(selector)

    def _note_absent_ids(self, selectors: Iterable[str]) -> None:
        """Remember which id selectors' ids the page as parsed does not hold (before cleaning
        changes it), so that their lookups stay quick afterwards."""
        for selector in selectors:
            by_id = _ID_SELECTOR.match(selector)
            if by_id and not _BY_ID(self.tree, id=by_id.group(1)):
                self._absent_ids.add(by_id.group(1))

    def _select(self, selector: str) -> Iterator[etree._Element]:
        """The elements ``selector`` finds in the page, in document order.

        An id selector (``#artibody``, ``#keywords[data-wbkey]``) is first looked up in
        libxml2's table of the page's ids, XPath ``id()`` (2 µs instead of a 90 µs walk over
        every element). The table holds the first element with each id (and ``<a name>``).
        When it holds none for an id of the page as parsed, no element has the id, and no
        walk runs. Only when the caller wants more than the table gives (a repeated id, an
        ``<a name>`` or a removed element in the way), or once cleaning has changed the page
        (a freed element leaves the table, while a later one with its id was never in it),
        does the CSS walk run, lazily.
        """
        by_id = _ID_SELECTOR.match(selector)
        if by_id is None:
            yield from css(selector)(self.tree)
            return
        wanted, attribute = by_id.groups()
        first = None
        listed = _BY_ID(self.tree, id=wanted)
        if not listed and (self._as_parsed or wanted in self._absent_ids):
            return  # no element has this id: the walk would find none
        for element in listed:
            # The HTML parser also files <a name=…> as ids; and an element taken out of the
            # page stays in the table.
            if (
                element.get("id") == wanted
                and (attribute is None or element.get(attribute) is not None)
                and element.getroottree().getroot() is self.tree
            ):
                first = element
                yield element
        for element in css(selector)(self.tree):
            if element is not first:
                yield element

    @functools.cached_property
    def metas(self) -> dict[str, str]:
        """The page's ``<meta>`` values by ``property``/``name``/``itemprop`` (the first
        non-empty one of each), read in one pass."""
        found: dict[str, str] = {}
        for element in self.tree.iter("meta"):
            content = (element.get("content") or "").strip()
            if not content:
                continue
            for attr in ("property", "name", "itemprop"):
                key = element.get(attr)
                if key and key not in found:
                    found[key] = content
        return found

    def _meta(self, *keys: str) -> str:
        for key in keys:
            if key in self.metas:
                return self.metas[key]
        return ""

    # -- fields ---------------------------------------------------------------------------------

    def title(self) -> str:
        """The headline as published (not ``<title>`` with its ``_新浪财经_新浪网`` suffix)."""
        return self._title

    @functools.cached_property
    def _title(self) -> str:
        """The headline as published (not ``<title>`` with its ``_新浪财经_新浪网`` suffix)."""
        for element in self._first(TITLE):
            text = element_text(element)
            if text:
                return text
        og = self._meta("og:title")
        if og:
            return _SPACE.sub(" ", og).strip()
        titles = self.tree.xpath("//title")
        if titles:
            return element_text(titles[0]).split("_")[0].strip()
        return ""

    def published(self) -> datetime | None:
        """The publication time: ``article:published_time`` meta, else Sina's
        ``weibo: article:create_at`` meta (the same time, to the second), else the date line."""
        for key in ("article:published_time", "weibo: article:create_at"):
            value = parse_page_time(self._meta(key))
            if value:
                return value
        for element in self._first(DATE_LINE):
            value = parse_page_time(element.text_content())
            if value:
                return value
        return None

    def source(self) -> str:
        """The original publisher shown on the page (``.source``, ``#media_name``,
        ``article:author``, ``mediaid``)."""
        shown = next((t for t in map(element_text, self._first(SOURCE)) if t), "")
        meta = self._meta("article:author", "mediaid")
        if shown and (shown not in PLATFORM_SOURCES or not meta):
            return shown
        if meta:
            return meta
        for element in self._first((".time-source",)):
            rest = _DATE.sub("", element_text(element)).strip()
            if rest:
                return rest
        return ""

    def canonical_url(self) -> str:
        """``og:url`` / ``rel=canonical`` (percent-decoded, https, tracking dropped), else the
        page's own URL. A canonical URL that cannot be this article's (another Sina doc id,
        a site's home page, a host that is not Sina's) is ignored: it would merge posts."""
        own = normalize_url(self.url) or self.url
        for candidate in self._canonical_candidates():
            url = normalize_url(candidate, self.url)
            if url and self._plausible_canonical(url, own):
                return url
        return own

    def _canonical_candidates(self) -> Iterator[str]:
        """``og:url``, then each ``<link rel=canonical>`` (looked for only when needed)."""
        yield self._meta("og:url")
        for element in _CANONICAL_LINKS(self.tree):
            yield element.get("href") or ""

    @staticmethod
    def _plausible_canonical(url: str, own: str) -> bool:
        parts = urlsplit(url)
        if parts.path in ("", "/") or not is_sina_host(parts.hostname):
            return False
        ours, theirs = article_id(own), article_id(url)
        has_doc_id = not re.fullmatch(r"[0-9a-f]{16}", ours)
        return not has_doc_id or ours == theirs

    def tags(self) -> tuple[str, ...]:
        """Keywords: the ``keywords`` meta, else ``#keywords[data-wbkey]`` (less its generic
        last word 新闻); site-wide words (``sina.cn``) are dropped."""
        raw = self._meta("keywords")
        if _SPACE.sub("", raw) in (_SPACE.sub("", self.title()), *SITE_KEYWORDS):
            raw = ""  # a page without keywords repeats its headline or the site's defaults
        if not raw:
            for element in self._select(KEYWORDS_WIDGET):
                raw = ",".join(
                    w for w in re.split(r"[,，]", element.get("data-wbkey", "")) if w != "新闻"
                )
                if raw:
                    break
        words: list[str] = []
        for word in re.split(r"[,，]", raw):
            word = word.strip()
            if word and word not in words and word not in ("sina.cn", "新浪"):
                words.append(word)
        return tuple(words)

    def body_element(self) -> etree._Element | None:
        """The element holding the article body, or None when the page has none."""
        for selector in BODY:
            for element in self._select(selector):
                if _TEXT_LENGTH(element) >= MIN_BODY_CHARS or element.xpath(".//img"):
                    return element
        return None

    # -- the article ----------------------------------------------------------------------------

    def to_article(self, entry: FeedEntry | None = None, **config: object) -> ArticleItem:
        """Extract the article; ``entry`` (the feed entry that led here) fills in what the page
        lacks (title, time). ``config`` passes ``feed``, ``categories``, ``author``.

        Raises NotAnArticle with reason ``no_body``, ``empty_body``, ``no_title`` or
        ``no_date`` when the page holds no article.
        """
        container = self.body_element()
        if container is None:
            raise NotAnArticle("no_body", f"{self.url}: no article body (#artibody, #article…)")
        title = self.title() or (entry.title if entry else "")
        if not title:
            raise NotAnArticle("no_title", f"{self.url}: no headline")
        published = self.published() or (entry.published if entry else None)
        if published is None:
            raise NotAnArticle("no_date", f"{self.url}: no publication time on page or entry")
        link = self.canonical_url()
        has_video = bool(container.xpath(VIDEO_XPATH))
        self._note_absent_ids((*SOURCE, KEYWORDS_WIDGET))  # looked up after cleaning
        self._as_parsed = False
        editor = self._take_editor(container)
        body, headimg = clean_body(container, link)
        if _TEXT_LENGTH(container) < MIN_BODY_CHARS and "<img" not in body:
            if not has_video:
                raise NotAnArticle("empty_body", f"{self.url}: the article body is empty")
            # A video-only article (k.sina): the player cannot be archived; the post keeps the
            # article's metadata and a link to the page that plays it.
            body = (
                f'<p class="video-only"><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
            )
        updated = entry.updated if entry else None
        if updated is not None and updated <= published:
            updated = None
        return ArticleItem(
            url=entry.url if entry else self.url,
            link=link,
            id=article_id(link),
            title=title,
            published=published,
            body=body,
            feed=str(config.get("feed", entry.feed if entry else "")),
            categories=tuple(config.get("categories") or ()),  # type: ignore[call-overload]
            author=str(config.get("author") or "新浪财经"),
            headimg=headimg,
            source=self.source() or (entry.source if entry else ""),
            editor=editor,
            tags=self.tags() or (entry.tags if entry else ()),
            updated=updated,
        )

    def _take_editor(self, container: etree._Element) -> str:
        """Return the 责任编辑 name (page-level editor lines first, then the body's) and remove
        that line."""
        in_body = take_editor(container)
        if in_body:
            return in_body
        return take_editor(container, css(", ".join(EDITOR))(self.tree))
