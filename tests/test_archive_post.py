"""Post: FORMAT.md's front matter, written and read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import frontmatter
import pytest
import yaml

from archive.errors import PostFormatError
from archive.post import KEYS, Post, format_http_date, parse_http_date, yaml_string

BEIJING = timezone(timedelta(hours=8))
HOSTILE_TITLES = [
    "它's a 'quoted' title",
    '"倒查20年"，挽回损失523亿！',
    "工信部：引导: 5G",
    "A股 # 不是注释",
    "---",
    "--- 分隔线 ---",
    "@开头",
    "*星号",
    "&锚点",
    "!标签",
    "%百分号",
    "100%直接通邮！",
    "|竖线",
    ">大于",
    "? 问号",
    "- 列表",
    "[方括号]",
    "{花括号}",
    "yes",
    "null",
    "3.14",
    "2021-11-30",
    "0！",
    "emoji 📈🚀",
    "  前后空格  ",
    "tab\there",
    "…中文省略号…",
]


def make_post(**changes) -> Post:
    values = dict(
        title="工信部：引导电子信息企业深化5G、人工智能等技术创新应用",
        date=datetime(2021, 11, 30, 15, 15, 51, tzinfo=BEIJING),
        body="<p>　　11月30日，工业和信息化部举行……</p>",
        link="https://finance.sina.com.cn/china/2021-11-30/doc-ikyamrmy5804517.shtml",
        id="ikyamrmy5804517",
        categories=["金融", "新浪财经", "新浪财经－国內"],
        headimg="https://n.sinaimg.cn/finance/a.png",
        source="中国证券报",
        editor="何中夫",
    )
    values.update(changes)
    return Post(**values)


def test_to_text_has_reference_shape():
    text = make_post().to_text()
    assert text.startswith("---\ntitle: '工信部：引导电子信息企业深化5G、人工智能等技术创新应用'\n")
    assert "categories:\n - 金融\n - 新浪财经\n - 新浪财经－国內\n" in text
    assert "\nauthor: 新浪财经\ncomments: false\n" in text
    assert "\ndate: Tue, 30 Nov 2021 07:15:51 GMT\n" in text
    assert "\nheadimg: 'https://n.sinaimg.cn/finance/a.png'\n" in text
    assert text.endswith("---\n\n<div>\n<p>　　11月30日，工业和信息化部举行……</p>\n</div>\n")
    assert "\r" not in text and not text.startswith("\ufeff")


def test_keys_in_format_order_and_typed():
    meta = yaml.safe_load(make_post(tags=["5G"], feed="china").to_text().split("---\n")[1])
    assert list(meta) == [k for k in KEYS if k != "updated"]
    assert meta["feed"] == "china"
    assert meta["comments"] is False
    assert meta["categories"] == ["金融", "新浪财经", "新浪财经－国內"]
    assert meta["tags"] == ["5G"]
    assert meta["thumbnail"] == meta["headimg"]


def test_optional_keys_left_out_and_empty_lists_stay_lists():
    meta = yaml.safe_load(make_post(categories=[], tags=[]).to_text().split("---\n")[1])
    assert meta["categories"] == []
    assert "tags" not in meta and "updated" not in meta


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_round_trip(title):
    text = make_post(title=title, source=title, editor=title).to_text()
    loaded = frontmatter.loads(text)
    assert loaded["title"] == title
    assert loaded["source"] == title
    assert Post.from_text(text).title == title


def test_title_line_breaks_fold_to_one_space():
    post = make_post(title="第一行\n第二行\r\n\u2028第三行")
    assert frontmatter.loads(post.to_text())["title"] == "第一行 第二行 第三行"


def test_control_characters_round_trip_in_double_quotes():
    value = "bell\x07 nul\x00 del\x7f"
    assert yaml.safe_load(yaml_string(value)) == value
    assert yaml_string("plain") == "plain"
    assert yaml_string("a: b") == "'a: b'"


def test_braces_are_escaped_for_hexo_and_restored_on_read():
    post = make_post(body="<p>{{ x }} {% raw %} {# c #}</p>")
    text = post.to_text()
    assert "{" not in text.split("<div>", 1)[1] and "}" not in text.split("<div>", 1)[1]
    assert "&#123;&#123; x &#125;&#125;" in text
    assert Post.from_text(text).body == "<p>{{ x }} {% raw %} {# c #}</p>"


def test_from_text_round_trip_is_exact():
    post = make_post(tags=["a", "b"], updated=datetime(2021, 12, 1, tzinfo=UTC))
    again = Post.from_text(post.to_text())
    assert again == post.__class__(**{**post.__dict__, "date": post.date.astimezone(UTC)})
    assert again.to_text() == post.to_text()


def test_reference_posts_parse(fixtures):
    for path in sorted((fixtures / "posts").glob("*.md")):
        post = Post.from_text(path.read_text("utf-8"), source=str(path))
        assert post.title and post.categories[0] == "金融"
        assert "&#123;" not in post.body
    seed = Post.from_text((fixtures / "posts" / "seed.md").read_text("utf-8"))
    assert seed.title == "工信部：引导电子信息企业深化5G、人工智能等技术创新应用"
    assert format_http_date(seed.date) == "Tue, 30 Nov 2021 07:15:51 GMT"
    assert seed.body.startswith('<p cms-style="font-L">　　11月30日')


@pytest.mark.parametrize(
    "text, message",
    [
        ("no front matter", "no front matter"),
        ("---\ntitle: [unclosed\n---\n", "not valid YAML"),
        ("---\n- a list\n---\n", "not a mapping"),
        ("---\ntitle: x\n---\n", "no 'date'"),
        ("---\ntitle: x\ndate: yesterday\n---\n", "'date'"),
        ("---\ntitle: [x]\ndate: Tue, 30 Nov 2021 07:15:51 GMT\n---\n", "'title' must be a string"),
    ],
)
def test_bad_posts_raise_naming_the_source(text, message):
    with pytest.raises(PostFormatError, match=message) as info:
        Post.from_text(text, source="posts/x.md")
    assert "posts/x.md" in str(info.value)


def test_http_dates():
    assert parse_http_date("Tue, 30 Nov 2021 07:15:51 GMT") == datetime(
        2021, 11, 30, 7, 15, 51, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        format_http_date(datetime(2021, 1, 1))
    with pytest.raises(ValueError):
        parse_http_date("2021-11-30")
