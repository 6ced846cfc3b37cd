"""The body of a post (FORMAT.md, "Body"): cleaning an article's HTML and reading its text.

Shared by the crawler (pages fetched from Sina) and the importer (posts of the reference Hexo
archive): the same widgets go, the same URL rules apply, the same lead-image rule picks
``headimg``.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin

import lxml.html
import nh3
from lxml import etree
from lxml.cssselect import CSSSelector

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
    "[id^='ad_']",
    ".otherContent_01",
    "[id^='quote_']",
    ".artical-player-wrap",
)
#: Widgets no CSS selector names: the WAP promotion line of the 2009 ent pages.
WIDGET_XPATHS = (".//p[.//a[contains(@href, 'waptuiguang')]]",)
#: Comments that open and close a boilerplate block (e.g. ``<!-- 总声明-->`` … ``<!-- 总声明-->``
#: around the 免责声明 disclaimer of finance pages): everything between a pair is removed.
BLOCK_MARKERS = ("总声明",)
REMOVED_TAGS = ("script", "style", "noscript", "iframe", "form", "link", "meta", "object", "embed")
#: Elements dropped when cleaning leaves them without text or image (empty captions, ad slots,
#: video and product-card placeholders filled by scripts on the live page).
EMPTY_DROPPED = frozenset(
    {"div", "span", "p", "center", "font", "a", "strong", "b", "i", "em", "u", "section",
     "li", "ul", "ol", "label", "small", "sup", "sub", "figure", "figcaption", "h1", "h2",
     "h3", "h4", "h5", "h6", "blockquote", "table", "tbody", "tr", "td", "th"}
)  # fmt: skip
_BLANK = " \t\r\n\f\v\xa0\u3000"
#: Images that are never a lead image: QR codes, logos, avatars, placeholders, pixels.
NOT_LEAD_IMAGE = re.compile(
    r"qr|erweima|logo|avatar|default_avatar|/deco/|icon|blank\.gif|spacer|1x1|/320X320\.png",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # control characters and spaces inside a URL
_BLANK_LINES = re.compile(r"\n[ \t\r]*(?=\n)")
_INDENT = re.compile(r"\n[ \t]+")
_EDITOR = re.compile(r"责任编辑\s*[:：]\s*(.*)", re.S)
_SPACE = re.compile(r"\s+")
_INLINE_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_BLOCKS = (
    "p",
    "div",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "center",
    "pre",
)
#: Where a body names its editor (the line becomes the ``editor`` key).
EDITOR = (".article-editor", ".show_author", "p.editor")

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "video", "source",
}  # fmt: skip
#: Inline CSS kept in ``style`` (layout and type only: no ``background``/``url()``, no
#: ``behavior``).
_ALLOWED_STYLES = {
    "text-align", "text-indent", "font-family", "font-size", "font-weight", "font-style",
    "color", "text-decoration", "line-height", "margin", "margin-top", "margin-bottom",
    "padding", "width", "height", "max-width", "border", "vertical-align",
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

#: The last pass over a body (https://nh3.readthedocs.io/: a Cleaner made once is reused).
_SANITIZER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    attributes=_ALLOWED_ATTRIBUTES,
    generic_attribute_prefixes={"cms-"},
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
    filter_style_properties=_ALLOWED_STYLES,
)
_ANY_WIDGET = ", ".join(WIDGETS)


@functools.lru_cache(maxsize=256)
def css(selector: str) -> CSSSelector:
    """A compiled CSS selector (translating CSS to XPath costs more than running it)."""
    return CSSSelector(selector)


def drop(element: etree._Element) -> None:
    """Remove ``element`` (and what it holds) but keep its tail text in the tree."""
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
                    drop(node)
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
    src = _CONTROL.sub("", src)
    if not src:
        return ""
    url = urljoin(base, src)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return ""  # javascript:, data:, ftp: … never become an image or the lead image
    return "https://" + rest


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
        drop(comment)
    for element in list(container.iter(*REMOVED_TAGS)):
        drop(element)
    for element in css(_ANY_WIDGET)(container):  # one call; an element inside a dropped one
        drop(element)  # is dropped from the detached subtree, which changes nothing
    for xpath in WIDGET_XPATHS:
        for element in container.xpath(xpath):
            drop(element)
    lead = ""
    for img in list(container.iter("img")):
        src = _image_src(img, base)
        if not src or _is_pixel(img):
            drop(img)
            continue
        for attr in ("data-src", "real_src", "data-original", "srcset"):
            img.attrib.pop(attr, None)
        img.set("src", src)
        img.set("referrerpolicy", "no-referrer")
        if not lead and not NOT_LEAD_IMAGE.search(src):
            lead = src
    for anchor in container.iter("a"):
        href = _CONTROL.sub("", anchor.get("href") or "").strip()
        if href and "=" in href and "/" not in href:
            anchor.attrib.pop("href")  # a broken attribute such as href= target=_blank
        elif href:
            anchor.set("href", urljoin(base, href))
    _drop_empty(container)
    inner = (container.text or "") + "".join(
        # (lxml.html.tostring would also strip <meta http-equiv>: none is left, all meta went)
        etree.tostring(child, encoding="unicode", method="html")
        for child in container
    )
    html = _SANITIZER.clean(inner)
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    html = _BLANK_LINES.sub("", _INDENT.sub("\n", html)).strip()
    return html, lead


#: Elements whose text is blank (full-width spaces and nbsp count as blank) and that hold no
#: image or video.
_EMPTY = etree.XPath(
    ".//*[not(normalize-space(translate(., '\u3000\u00a0', '  ')))]"
    "[not(self::img or self::video or .//img or .//video)]"
)


def _drop_empty(container: etree._Element) -> None:
    """Drop the elements of :data:`EMPTY_DROPPED` left with no text, image or video (inner ones
    first, so an emptied parent goes too)."""
    for element in reversed(_EMPTY(container)):
        if element.tag in EMPTY_DROPPED:
            drop(element)


_EDITOR_PARAGRAPHS = etree.XPath(".//p[starts-with(normalize-space(.), '责任编辑')]")


def take_editor(container: etree._Element, extra: list[etree._Element] | None = None) -> str:
    """Return the 责任编辑 name of a body and remove its line.

    Looks at ``extra`` elements first (page-level editor lines outside the body), then the
    body's ``.article-editor``/``.show_author``/``p.editor`` and any paragraph that starts with
    责任编辑. Returns ``""`` when there is none.
    """
    candidates = list(extra or [])
    for selector in EDITOR:
        candidates += css(selector)(container)
    candidates += _EDITOR_PARAGRAPHS(container)
    for element in candidates:
        match = _EDITOR.search(element_text(element))
        if match:
            drop(element)
            return match.group(1).strip()
    return ""


def clean_fragment(html: str, base: str = "") -> tuple[str, str, str]:
    """Clean a body given as an HTML fragment; return ``(html, lead_image_url, editor)``.

    The same rules as :func:`clean_body`, plus the editor line taken out (:func:`take_editor`).
    """
    container = lxml.html.fragment_fromstring(html or "<p></p>", create_parent="div")
    editor = take_editor(container)
    cleaned, lead = clean_body(container, base)
    return cleaned, lead, editor


def html_text(html: str) -> str:
    """Return the plain text of a body: one line per paragraph or block, white space folded,
    full-width indents kept; ``""`` for an empty body."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if isinstance(element.tag, str):
            element.text = _fold(element.text)
        element.tail = _fold(element.tail)
    for element in root.iter("br", *_BLOCKS):
        element.tail = "\n" + (element.tail or "")
        if element.tag != "br":
            element.text = "\n" + (element.text or "")
    lines = (line.strip(" ") for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line.strip())


def _fold(text: str | None) -> str | None:
    return _INLINE_SPACE.sub(" ", text) if text else text


def element_text(element: etree._Element) -> str:
    """The text of an element with white space folded to single spaces and trimmed."""
    return _SPACE.sub(" ", element.text_content()).strip()


def _is_pixel(img: etree._Element) -> bool:
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().rstrip("px")
        if value.isdigit() and int(value) <= 2:
            return True
    return False
