"""Every page of shared/fixtures/sina/pages/ against values checked by hand.

The values are in tests/data/real_pages.json.

The expected values were read off each page's HTML by hand, not by this extractor: title, date
(FORMAT.md's rule), source, editor, canonical URL, the first and last paragraph of the body and
the lead image, plus the widgets each page holds inside its body.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from archive.post import format_http_date
from crawler.pages import ArticlePage, NotAnArticle
from tests.conftest import FIXTURES, original_url

EXPECTED = json.loads((Path(__file__).parent / "data" / "real_pages.json").read_text("utf-8"))
ARTICLES = sorted(name for name, value in EXPECTED.items() if value["article"])
NOT_ARTICLES = sorted(name for name, value in EXPECTED.items() if not value["article"])
_STRIP = " \t\r\n\u3000\xa0"


def test_every_fixture_page_has_expected_values():
    pages = {p.name for p in (FIXTURES / "pages").glob("*.html")}
    assert pages == set(EXPECTED), "a fixture page has no hand-checked values (or vice versa)"


def paragraphs(body: str) -> list[str]:
    root = lxml.html.fragment_fromstring(body, create_parent="div")
    texts = [re.sub(r"\s+", " ", p.text_content()).strip(_STRIP) for p in root.iter("p")]
    return [t for t in texts if t]


def extract(name: str):
    url = original_url(name)
    return ArticlePage(url, (FIXTURES / "pages" / name).read_bytes()).to_article()


@pytest.mark.parametrize("name", ARTICLES)
def test_real_article_page(name):
    want = EXPECTED[name]
    article = extract(name)
    assert article.title == want["title"]
    assert format_http_date(article.published) == want["date"]
    assert article.source == want["source"]
    assert article.editor == want["editor"]
    assert article.link == want["canonical"]
    assert article.headimg == want["lead_image"]
    texts = paragraphs(article.body)
    if want["first_paragraph"]:
        assert re.sub(r"\s+", " ", want["first_paragraph"]) == texts[0]
        assert re.sub(r"\s+", " ", want["last_paragraph"]) == texts[-1]


@pytest.mark.parametrize("name", ARTICLES)
def test_real_article_page_loses_widgets(name):
    article = extract(name)
    root = lxml.html.fragment_fromstring(article.body, create_parent="div")
    for selector in EXPECTED[name]["widgets"] + ["script", "style", "iframe", "form", "noscript"]:
        assert not root.cssselect(selector), f"{selector} survived in {name}"
    assert "<!--" not in article.body
    assert "责任编辑" not in article.body
    assert "海量资讯、精准解读，尽在新浪财经APP" not in article.body
    assert not re.search(r"\son\w+\s*=", article.body)
    assert "javascript:" not in article.body.lower()
    for img in root.iter("img"):
        assert img.get("src", "").startswith("https://"), img.get("src")
        assert img.get("referrerpolicy") == "no-referrer"


@pytest.mark.parametrize("name", NOT_ARTICLES)
def test_real_non_article_page_is_refused(name):
    with pytest.raises(NotAnArticle) as info:
        extract(name)
    assert info.value.reason in {"no_body", "empty_body", "bad_encoding"}
    assert original_url(name) in info.value.detail


def test_gbk_page_labelled_utf8_is_reported_not_decoded_with_replacements():
    with pytest.raises(NotAnArticle) as info:
        extract("htm_news_sina_cn_index_gbk_mislabeled.html")
    assert info.value.reason == "bad_encoding"


def test_gb2312_pages_decode_as_gb18030():
    page = ArticlePage(
        original_url("r2_gbk_ent_y_2009-11-09_13482762951.html"),
        (FIXTURES / "pages" / "r2_gbk_ent_y_2009-11-09_13482762951.html").read_bytes(),
    )
    assert page.encoding == "gb18030"
    assert "\ufffd" not in page.text


def test_id_selectors_find_what_the_css_selectors_find_on_every_page():
    # ArticlePage looks ids up in libxml2's id table instead of walking the page; on every
    # captured page that must give exactly the elements the CSS selector gives.
    from archive.body import css
    from crawler.pages import BODY, DATE_LINE, KEYWORDS_WIDGET, SOURCE

    checked = 0
    for path in sorted((FIXTURES / "pages").glob("*.html")):
        try:
            page = ArticlePage(original_url(path.name), path.read_bytes())
        except NotAnArticle:
            continue
        for selector in (*BODY, *SOURCE, *DATE_LINE, KEYWORDS_WIDGET):
            if selector.startswith("#"):
                found = list(page._select(selector))
                assert found == css(selector)(page.tree), (path.name, selector)
                checked += 1
    assert checked > 100
