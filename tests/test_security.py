"""Security: nothing written outside the root, no active content in posts, no XML entity
expansion. (The host allow-list, size cap and robots.txt are shown end to end in
test_reliability.py and test_faults.py.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.body import clean_fragment
from archive.errors import UnsafePathError
from archive.paths import ID_PATTERN, article_id, post_relpath, resolve_inside
from archive.post import Post
from archive.writer import write_post
from crawler.feeds import parse_feed

FORBIDDEN_TAGS = {"script", "iframe", "form", "object", "embed", "style", "input", "svg", "math"}


def active_content(html: str) -> list[str]:
    """What in ``html`` could run: forbidden elements, on* attributes, javascript: URLs."""
    if not html.strip():
        return []
    found = []
    for element in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in FORBIDDEN_TAGS:
            found.append(element.tag)
        for name, value in element.attrib.items():
            squashed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            runs_script = squashed.startswith("javascript:") or "url(javascript:" in squashed
            if name.lower().startswith("on") or runs_script:
                found.append(f"{element.tag}[{name}={value}]")
    return found


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_url_gives_a_safe_id_and_path(tmp_path_factory, url):
    post_id = article_id(url)
    assert ID_PATTERN.match(post_id)
    relpath = post_relpath(post_id, datetime(2021, 1, 1, tzinfo=UTC))
    root = Path("/tmp/sina-archive-root")
    assert resolve_inside(root, relpath).is_relative_to(root)


@pytest.mark.parametrize(
    "url",
    [
        "https://finance.sina.com.cn/../../etc/doc-ipasswd01.shtml",
        "https://finance.sina.com.cn/%2e%2e/%2e%2e/doc-i..%2f..%2f.shtml",
        "https://finance.sina.com.cn/a/doc-i" + "a" * 300 + ".shtml",
        "https://finance.sina.com.cn/a/doc-i\x00abc.shtml",
        "file:///etc/passwd",
        "/absolute/path",
    ],
)
def test_hostile_urls_stay_inside_the_root(tmp_path, url):
    post = Post(title="t", date=datetime(2021, 1, 1, tzinfo=UTC), body="<p>x</p>", link=url)
    post.id = article_id(url)
    result = write_post(tmp_path, post)
    assert (tmp_path / result.relpath).resolve().is_relative_to(tmp_path.resolve())


@pytest.mark.parametrize("bad", ["../x", "..", "a/../../b", "/abs", "x\x00y", "%2e%2e", "x" * 300])
def test_unsafe_ids_are_never_written(tmp_path, bad):
    post = Post(title="t", date=datetime(2021, 1, 1, tzinfo=UTC), body="<p>x</p>", id=bad)
    with pytest.raises(UnsafePathError):
        write_post(tmp_path, post)
    assert list(tmp_path.iterdir()) == []


HOSTILE_HTML = [
    "<script>alert(1)</script><p>x</p>",
    "<p onclick=alert(1) onmouseover='x()'>x</p>",
    "<a href='javascript:alert(1)'>x</a><a href=' JaVaScRiPt:alert(1)'>y</a>",
    "<a href='java&#x09;script:alert(1)'>x</a>",
    "<iframe src='https://evil.example/'></iframe>",
    "<form action='/x'><input name=a></form>",
    "<img src=x onerror=alert(1)><svg onload=alert(1)></svg>",
    "<object data=x></object><embed src=x>",
    "<scr<script>ipt>alert(1)</script>",
    "<style>@import 'x'</style><p style='background:url(javascript:alert(1))'>x</p>",
    "<!--<script>alert(1)</script>--><p>x</p>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("html", HOSTILE_HTML)
def test_posts_carry_no_active_content(html):
    cleaned, _, _ = clean_fragment(html, "https://finance.sina.com.cn/")
    assert active_content(cleaned) == [], cleaned


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<script>", "</script>", "<p ", "onclick=", "'", '"', ">", "<a href=", "javascript:",
             "<iframe>", "<form>", "x", "中文", "<!--", "-->", "<img src=", " onerror=", "&#x6a;"]
        ),
        max_size=30,
    )
)  # fmt: skip
def test_no_mix_of_hostile_fragments_yields_active_content(parts):
    cleaned, _, _ = clean_fragment("".join(parts), "https://finance.sina.com.cn/")
    assert active_content(cleaned) == [], cleaned


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "aaaaaaaaaa">\n'
    + "".join(f'<!ENTITY a{i} "' + (f"&a{i - 1};" if i else "&a;") * 10 + '">\n' for i in range(9))
    + "]>\n<rss version='2.0'><channel><title>&a8;</title><item><title>&a8;</title>"
    "<link>https://finance.sina.com.cn/a/doc-iaaaaaaa1.shtml</link></item></channel></rss>"
).encode()
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b"<rss version='2.0'><channel><item><title>&x;</title>"
    b"<link>https://finance.sina.com.cn/a/doc-iaaaaaaa1.shtml</link></item></channel></rss>"
)


@pytest.mark.parametrize("body", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_xml_entity_declarations_are_refused(body):
    doc = parse_feed(body, "https://rss.sina.com.cn/x.xml", feed="f")
    assert doc.entries == [] and doc.error.startswith("refused: the document declares XML entities")


@pytest.mark.parametrize(
    "src",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "vbscript:x",
        "ftp://x/y.png",
        "data:image/png;base64,AA",
    ],
)
def test_no_lead_image_but_http_images(src):
    cleaned, lead, _ = clean_fragment(
        f'<p>正文</p><img data-src="{src}">', "https://finance.sina.com.cn/"
    )
    assert lead == "" and "<img" not in cleaned


def test_uppercase_http_image_becomes_https():
    _, lead, _ = clean_fragment(
        '<img src="HTTP://n.sinaimg.cn/a.jpg">', "https://finance.sina.com.cn/"
    )
    assert lead == "https://n.sinaimg.cn/a.jpg"
