"""Naming rules: ids from Sina URLs, posts/YYYY/MM/DD/<id>.md in Beijing time, no escape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.errors import UnsafePathError
from archive.paths import article_id, check_id, post_relpath, resolve_inside


@pytest.mark.parametrize(
    "link, expected",
    [
        (
            "https://finance.sina.com.cn/china/2021-11-30/doc-ikyamrmy5804517.shtml",
            "ikyamrmy5804517",
        ),
        ("https://finance.sina.cn/sa/2005-08-26/detail-ikknscsi2623250.d.html", "ikknscsi2623250"),
        ("https://k.sina.com.cn/article_6598441619_1894c3a9300100elpc.html", "1894c3a9300100elpc"),
        (
            "https://t.cj.sina.com.cn/articles/view/6479293414/182322be600100i6z0",
            "182322be600100i6z0",
        ),
    ],
)
def test_sina_ids(link, expected):
    assert article_id(link) == expected


def test_other_links_get_a_sha1_prefix():
    link = "https://finance.sina.com.cn/china/20120109/155711159525.shtml"
    value = article_id(link)
    assert len(value) == 16 and int(value, 16) >= 0
    assert article_id(link) == value
    assert article_id(link + "x") != value


def test_folder_date_is_beijing_date():
    late_utc = datetime(2021, 11, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 Dec in Beijing
    assert post_relpath("abc", late_utc) == "posts/2021/12/01/abc.md"


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "a\x00b", "ä", "x" * 65, ".hidden", "-x", "abc\n", "abc\r"]
)
def test_unsafe_ids_are_refused(bad):
    with pytest.raises(UnsafePathError):
        check_id(bad)


@pytest.mark.parametrize("bad", ["../x.md", "/etc/passwd", "posts/../../x", "a\x00b"])
def test_paths_never_leave_the_root(tmp_path: Path, bad):
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path, bad)


def test_symlink_out_of_root_is_refused(tmp_path: Path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "posts").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path / "root", "posts/x.md")  # the link leads out of the root
    assert resolve_inside(tmp_path / "root", "posts2/x.md").name == "x.md"


def test_resolve_inside_gives_what_resolve_gives(tmp_path: Path):
    root = tmp_path / "root"
    (root / "posts" / "2026" / "09").mkdir(parents=True)
    (root / "posts" / "2026" / "09" / "a.md").write_text("a")
    (root / "elsewhere").mkdir()
    (root / "posts" / "2026" / "10").symlink_to(root / "elsewhere")  # a link inside the root
    (root / "posts" / "2026" / "09" / "b.md").symlink_to(root / "elsewhere" / "b.md")
    (tmp_path / "via").symlink_to(root)  # the root itself reached through a link
    for start in (root, tmp_path / "via"):
        for relpath in (
            "posts/2026/09/a.md",  # every component exists
            "posts/2026/09/new.md",  # the file does not exist yet
            "posts/2027/01/01/x.md",  # nor its folders
            "posts/2026/10/x.md",  # a linked folder
            "posts/2026/09/b.md",  # a linked file
            "posts/./2026//09/a.md",
            "",
        ):
            expected = (root / relpath).resolve()
            assert resolve_inside(start, relpath) == expected, relpath
    assert resolve_inside(root, "posts/2026/10/x.md") == root / "elsewhere" / "x.md"
    (root / "posts" / "2026" / "09" / "c.md").symlink_to(tmp_path / "outside.md")
    with pytest.raises(UnsafePathError):
        resolve_inside(root, "posts/2026/09/c.md")  # a linked file that leads out


def test_a_root_that_becomes_a_link_out_is_refused(tmp_path: Path):
    # The root is resolved once per process; a root missing then, or swapped for a symlink
    # since, must not let a path out (a faster check tried in 0.5.2 missed both at first).
    outside = tmp_path / "outside"
    (outside / "posts").mkdir(parents=True)
    missing = tmp_path / "missing"
    resolve_inside(missing, "posts/x.md")  # first seen while it does not exist
    missing.symlink_to(outside)
    with pytest.raises(UnsafePathError):
        resolve_inside(missing, "posts/x.md")
    real = tmp_path / "real"
    (real / "posts").mkdir(parents=True)
    assert resolve_inside(real, "posts/x.md") == real / "posts" / "x.md"
    real.rename(tmp_path / "moved")
    real.symlink_to(outside)
    with pytest.raises(UnsafePathError):
        resolve_inside(real, "posts/x.md")
