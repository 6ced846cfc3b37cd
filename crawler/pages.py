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
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

import lxml.html
import nh3
from lxml import etree
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from archive.paths import BEIJING, article_id
from crawler.items import ArticleItem, FeedEntry
from crawler.urls import normalize_url

# --- selectors (CSS), most specific first -----------------------------------------------------
BODY = ("#artibody", "div#article", "section.art_content", "#art_content", ".article-body")
TITLE = ("h1.main-title", "h1#artibodyTitle", "h1.art_tit_h1", ".article-header h1", "h1.title")
DATE_LINE = (".date-source .date", "span.date", "#pub_date", ".time-source", ".weibo_time")
SOURCE = (
    ".date-source .source",
    ".source.ent-source",
    "span.source",
    "a.source",
    "#media_name",
    ".time-source [data-sudaclick=media_name]",
    ".time-source a",
)
EDITOR = (".article-editor", ".show_author", "p.editor")
KEYWORDS_WIDGET = "#keywords[data-wbkey]"
#: Widgets removed from the body (FORMAT.md "Body"), plus hidden blocks and ad slots.
WIDGETS = (
    ".appendQr_wrap",
    "#left_hzh_ad",
    ".app-kaihu-qr",
    ".tech-quotation",
    "#sina_keyword_ad_area2",
    ".article-editor",
    ".show_author",
    "[sax-type]",
    ".sinaads",
    "ins",
    "#wx_pic",
    ".fin_art_weixin",
    ".ct_hqimg",
    "[style*='display:none']",
    "[style*='display: none']",
    ".article-notice",
    "#sinashareto",
    ".blkComment",
    "[data-sudaclick*='guba']",
)
#: Widgets no CSS selector names: the WAP promotion line of the 2009 ent pages.
WIDGET_XPATHS = (".//p[.//a[contains(@href, 'waptuiguang')]]",)
#: Comments that open and close a boilerplate block (e.g. ``<!-- 总声明-->`` … ``<!-- 总声明-->``
#: around the 免责声明 disclaimer of finance pages): everything between a pair is removed.
BLOCK_MARKERS = ("总声明",)
#: The keywords meta of a whole site rather than of an article (t.cj.sina.com.cn).
SITE_KEYWORDS = ("财经头条,财经新闻,投资价值",)
#: Platform names that pages show where the publisher's name belongs (k.sina: 新浪看点).
PLATFORM_SOURCES = ("新浪看点", "财经头条", "新浪网", "新浪")
REMOVED_TAGS = ("script", "style", "noscript", "iframe", "form", "link", "meta", "object", "embed")
#: Images that are never a lead image: QR codes, logos, avatars, placeholders, pixels.
NOT_LEAD_IMAGE = re.compile(
    r"qr|erweima|logo|avatar|default_avatar|/deco/|icon|blank\.gif|spacer|1x1|/320X320\.png",
    re.I,
)

_DATE = re.compile(
    r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
)
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_EDITOR = re.compile(r"责任编辑\s*[:：]\s*(.*)", re.S)
_SPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n[ \t\r]*(?=\n)")
#: A video player in the body: a video-only article (k.sina) is kept although it has no text.
VIDEO_XPATH = ".//video | .//*[@id='Video_Cont'] | .//*[contains(@class, 'video-player')]"
#: Below this many characters of text (no spaces) a body is empty (an index page, a stub).
MIN_BODY_CHARS = 20

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "video", "source",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "style", "align", "title", "width", "height", "color", "size", "face"},
    "a": {"href", "target"},
    "img": {"src", "alt", "referrerpolicy"},
    "video": {"src", "poster", "controls"},
    "source": {"src", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


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


def _text(element: etree._Element) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


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
            self.tree = lxml.html.document_fromstring(self.text)
        except (etree.ParserError, ValueError) as exc:
            raise NotAnArticle("no_body", f"{url}: not an HTML document: {exc}") from exc

    # -- small lookups --------------------------------------------------------------------------

    def _first(self, selectors: Iterable[str], root: etree._Element | None = None):  # type: ignore[no-untyped-def]
        root = self.tree if root is None else root
        for selector in selectors:
            yield from root.cssselect(selector)

    def _meta(self, *keys: str) -> str:
        for key in keys:
            for attr in ("property", "name", "itemprop"):
                for element in self.tree.xpath(f"//meta[@{attr}=$key]", key=key):
                    content = (element.get("content") or "").strip()
                    if content:
                        return content
        return ""

    # -- fields ---------------------------------------------------------------------------------

    def title(self) -> str:
        """The headline as published (not ``<title>`` with its ``_新浪财经_新浪网`` suffix)."""
        for element in self._first(TITLE):
            text = _text(element)
            if text:
                return text
        og = self._meta("og:title")
        if og:
            return _SPACE.sub(" ", og).strip()
        titles = self.tree.xpath("//title")
        if titles:
            return _text(titles[0]).split("_")[0].strip()
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
        shown = next((t for t in map(_text, self._first(SOURCE)) if t), "")
        meta = self._meta("article:author", "mediaid")
        if shown and (shown not in PLATFORM_SOURCES or not meta):
            return shown
        if meta:
            return meta
        for element in self._first((".time-source",)):
            rest = _DATE.sub("", _text(element)).strip()
            if rest:
                return rest
        return ""

    def canonical_url(self) -> str:
        """``og:url`` / ``rel=canonical`` (percent-decoded, https, tracking dropped), else the
        page's own URL."""
        candidates = [self._meta("og:url")]
        candidates += [e.get("href") or "" for e in self.tree.xpath("//link[@rel='canonical']")]
        for candidate in candidates:
            url = normalize_url(candidate, self.url)
            if url:
                return url
        return normalize_url(self.url) or self.url

    def tags(self) -> tuple[str, ...]:
        """Keywords: the ``keywords`` meta, else ``#keywords[data-wbkey]`` (less its generic
        last word 新闻); site-wide words (``sina.cn``) are dropped."""
        raw = self._meta("keywords")
        if _SPACE.sub("", raw) in (_SPACE.sub("", self.title()), *SITE_KEYWORDS):
            raw = ""  # a page without keywords repeats its headline or the site's defaults
        if not raw:
            for element in self._first((KEYWORDS_WIDGET,)):
                raw = ",".join(
                    w for w in re.split(r"[,，]", element.get("data-wbkey", "")) if w != "新闻"
                )
        words: list[str] = []
        for word in re.split(r"[,，]", raw):
            word = word.strip()
            if word and word not in words and word not in ("sina.cn", "新浪"):
                words.append(word)
        return tuple(words)

    def body_element(self) -> etree._Element | None:
        """The element holding the article body, or None when the page has none."""
        for selector in BODY:
            for element in self.tree.cssselect(selector):
                if len(_text(element)) >= MIN_BODY_CHARS or element.xpath(".//img"):
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
        editor = self._take_editor(container)
        body, headimg = clean_body(container, link)
        cleaned = lxml.html.fragment_fromstring(body, create_parent="div")
        if (
            len(_SPACE.sub("", cleaned.text_content())) < MIN_BODY_CHARS
            and not has_video
            and not cleaned.xpath(".//img")
        ):
            raise NotAnArticle("empty_body", f"{self.url}: the article body is empty")
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
        """Return the 责任编辑 name (from ``.article-editor``/``.show_author`` anywhere on the
        page, else a paragraph of the body that starts with 责任编辑) and remove that line."""
        candidates = list(self._first(EDITOR))
        candidates += [p for p in container.iter("p") if _text(p).startswith("责任编辑")]
        for element in candidates:
            match = _EDITOR.search(_text(element))
            if match:
                if element.getparent() is not None:
                    _drop(element)
                return match.group(1).strip()
        return ""


def _drop(element: etree._Element) -> None:
    """Remove ``element`` but keep its tail text in the tree."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _drop_marked_blocks(container: etree._Element) -> None:
    """Remove the siblings between two equal :data:`BLOCK_MARKERS` comments."""
    for marker in BLOCK_MARKERS:
        opened: etree._Element | None = None
        for comment in container.xpath(".//comment()"):
            if (comment.text or "").strip() != marker:
                continue
            if opened is not None and opened.getparent() is comment.getparent():
                node = opened.getnext()
                while node is not None and node is not comment:
                    following = node.getnext()
                    _drop(node)
                    node = following
                opened = None
            else:
                opened = comment


def _image_src(img: etree._Element, base: str) -> str:
    src = ""
    for attr in ("data-src", "real_src", "data-original", "src"):
        value = (img.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            src = value
            break
    if not src:
        return ""
    url = urljoin(base, src)
    if url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    return url


def clean_body(container: etree._Element, base: str) -> tuple[str, str]:
    """Clean an article body in place and return ``(html, lead_image_url)``.

    Removes scripts, styles, forms, frames, comments and the widgets of :data:`WIDGETS`;
    makes image and link URLs absolute (images https, from lazy ``data-src``/``real_src``) with
    ``referrerpolicy="no-referrer"``; drops ``on*`` attributes and ``javascript:`` URLs (nh3,
    https://github.com/rust-ammonia/ammonia, as the last pass). The lead image is the first
    image left that is not a QR code, logo, avatar or pixel; ``""`` when there is none.
    """
    _drop_marked_blocks(container)
    for comment in container.xpath(".//comment()"):
        _drop(comment)
    for element in list(container.iter(*REMOVED_TAGS)):
        _drop(element)
    for selector in WIDGETS:
        for element in container.cssselect(selector):
            _drop(element)
    for xpath in WIDGET_XPATHS:
        for element in container.xpath(xpath):
            _drop(element)
    lead = ""
    for img in list(container.iter("img")):
        src = _image_src(img, base)
        if not src:
            _drop(img)
            continue
        for attr in ("data-src", "real_src", "data-original", "srcset"):
            img.attrib.pop(attr, None)
        img.set("src", src)
        img.set("referrerpolicy", "no-referrer")
        if not lead and not NOT_LEAD_IMAGE.search(src) and not _is_pixel(img):
            lead = src
    for anchor in container.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href:
            anchor.set("href", urljoin(base, href))
    inner = (container.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in container
    )
    html = nh3.clean(
        inner,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        generic_attribute_prefixes={"cms-"},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    html = _BLANK_LINES.sub("", html.replace("\r\n", "\n").replace("\r", "\n")).strip()
    return html, lead


def _is_pixel(img: etree._Element) -> bool:
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().rstrip("px")
        if value.isdigit() and int(value) <= 2:
            return True
    return False
