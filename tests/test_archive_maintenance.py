"""reindex, check (--repair) and import on small archives and the reference posts."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive import Archive
from archive.check import check, repair
from archive.fts import index_tokens
from archive.importer import import_tree
from archive.index import Index, article_row
from archive.post import Post
from archive.reader import read_post
from archive.reindex import reindex
from archive.store import store_post
from archive.writer import write_post


def make_post(post_id: str, title: str = "标题", text: str = "正文内容") -> Post:
    return Post(
        title=title,
        date=datetime(2026, 9, 28, 1, 0, tzinfo=UTC),
        body=f"<p>{text}</p>",
        link=f"https://finance.sina.com.cn/c/doc-{post_id}.shtml",
        id=post_id,
        feed="china",
    )


def make(root: Path, post_id: str, title: str = "标题", text: str = "正文内容") -> Post:
    post = make_post(post_id, title, text)
    result = write_post(root, post)
    with Index.for_root(root) as index:
        index.upsert_article(
            article_row(post, relpath=result.relpath, sha256=result.sha256), text=post.text
        )
    return post


def rows(root: Path) -> dict[str, dict]:
    with Index.for_root(root) as index:
        return {
            row["id"]: {k: v for k, v in row.items() if k not in ("first_seen", "last_fetched")}
            for row in index.rows("articles")
        }


def test_reindex_from_posts_alone_gives_the_same_rows(tmp_path: Path):
    make(tmp_path, "iaaaaaa1", text="央行宣布降准")
    make(tmp_path, "ibbbbbb2", title='它\'s "引号": 标题', text="其他")
    before = rows(tmp_path)
    (tmp_path / "index.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"index.db{suffix}").unlink(missing_ok=True)
    report = reindex(tmp_path)
    assert (report.indexed, report.removed, report.broken) == (2, 0, [])
    assert rows(tmp_path) == before
    assert reindex(tmp_path).indexed == 2 and rows(tmp_path) == before  # idempotent
    with Archive(tmp_path) as archive:
        assert [h.post.id for h in archive.search("降准")] == ["iaaaaaa1"]
    assert check(tmp_path) == []


def test_reindex_keeps_the_crawl_history_of_known_posts(tmp_path: Path):
    make(tmp_path, "iaaaaaa1")
    with Index.for_root(tmp_path) as index, index.transaction():
        index.db.execute(
            "update articles set first_seen = ?, last_fetched = ?",
            ["2026-09-28T01:00:00+00:00", "2026-09-28T02:00:00+00:00"],
        )
    write_post(tmp_path, make_post("ibbbbbb2"))  # a post the index does not know
    reindex(tmp_path)
    with Index.for_root(tmp_path) as index:
        known, unknown = index.get_article("iaaaaaa1"), index.get_article("ibbbbbb2")
        assert known is not None and unknown is not None
        assert (known["first_seen"], known["last_fetched"]) == (
            "2026-09-28T01:00:00+00:00",
            "2026-09-28T02:00:00+00:00",
        )
        assert unknown["first_seen"] == unknown["last_fetched"] > "2026-11"


def test_an_index_made_before_0_5_still_searches_and_reindex_upgrades_it(tmp_path: Path):
    make(tmp_path, "iaaaaaa1", title="央行宣布降准", text="下调存款准备金率")
    make(tmp_path, "ibbbbbb2", title="市场", text="分析人士认为降准释放资金")
    conn = sqlite3.connect(tmp_path / "index.db")
    with conn:  # the full-text tables as 0.4 made them: positions, unicode61, no titles_fts
        conn.execute("drop table titles_fts")
        conn.execute("drop table articles_fts")
        conn.execute(
            "create virtual table articles_fts using fts5("
            "title, text, content=[articles], tokenize='unicode61')"
        )
        for rowid, post_id in conn.execute("select rowid, id from articles").fetchall():
            post = read_post(next(tmp_path.rglob(f"{post_id}.md")))
            conn.execute(
                "insert into articles_fts (rowid, title, text) values (?, ?, ?)",
                [rowid, index_tokens(post.title), index_tokens(post.text)],
            )
    conn.close()
    with Archive(tmp_path) as archive:  # read-only: no title hits, but every hit
        assert {h.post.id for h in archive.search("降准")} == {"iaaaaaa1", "ibbbbbb2"}
        assert [h.post.id for h in archive.search("准备金率")] == ["iaaaaaa1"]
    assert [p.kind for p in check(tmp_path)] == ["fts_dirty"]
    # A crawl may write to it before anyone runs reindex: an updated post replaces its entries.
    with Index.for_root(tmp_path) as index:
        store_post(tmp_path, index, make_post("iaaaaaa1", title="央行宣布降准", text="改过的正文"))
    with Archive(tmp_path) as archive:
        assert [(h.post.id, h.title_hit) for h in archive.search("降准")][0] == ("iaaaaaa1", True)
        assert [h.post.id for h in archive.search("准备金率")] == []
        assert [h.post.id for h in archive.search("改过")] == ["iaaaaaa1"]
    assert [p.kind for p in check(tmp_path)] == ["fts_dirty"]  # the old form, until reindex
    assert reindex(tmp_path).indexed == 2 and check(tmp_path) == []
    conn = sqlite3.connect(tmp_path / "index.db")
    (sql,) = conn.execute("select sql from sqlite_master where name = 'articles_fts'").fetchone()
    assert "detail=none" in sql
    with Archive(tmp_path) as archive:
        assert [(h.post.id, h.title_hit) for h in archive.search("降准")] == [
            ("iaaaaaa1", True),
            ("ibbbbbb2", False),
        ]


def test_reindex_in_a_process_pool_gives_the_same_rows_and_search(tmp_path: Path):
    for n in range(30):
        make(tmp_path, f"iaaaa{n:03d}", title=f"标题{n}", text=f"第{n}篇，央行宣布降准")
    before = rows(tmp_path)
    report = reindex(tmp_path, workers=2)
    assert (report.indexed, report.broken) == (30, [])
    assert rows(tmp_path) == before
    with Archive(tmp_path) as archive:
        assert len(archive.search("降准", limit=100)) == 30
    assert check(tmp_path) == []


def test_check_finds_each_problem_and_repair_fixes_what_it_can(tmp_path: Path):
    kept = make(tmp_path, "iaaaaaa1")
    lost = make(tmp_path, "ibbbbbb2")
    changed = make(tmp_path, "icccccc3")
    posts = tmp_path / "posts" / "2026" / "09" / "28"
    (posts / "ibbbbbb2.md").unlink()  # missing_file
    text = (posts / "icccccc3.md").read_text("utf-8").replace("正文内容", "改过的正文")
    (posts / "icccccc3.md").write_text(text, "utf-8")  # sha256_mismatch
    orphan = Post(title="孤儿", date=kept.date, body="<p>x</p>", id="idddddd4")
    (posts / "idddddd4.md").write_text(orphan.to_text(), "utf-8")  # no_row
    (posts / "broken.md").write_text("no front matter", "utf-8")  # broken_post
    misplaced = tmp_path / "posts" / "2020" / "01" / "01"
    misplaced.mkdir(parents=True)
    moved = Post(title="放错", date=kept.date, body="<p>y</p>", id="ieeeeee5")
    (misplaced / "ieeeeee5.md").write_text(moved.to_text(), "utf-8")  # outside_layout (+ no_row)
    (posts / ".tmp-abc.part").write_text("torn", "utf-8")  # temp_file

    kinds = {(p.kind, Path(p.path).name) for p in check(tmp_path)}
    assert kinds == {
        ("missing_file", "ibbbbbb2.md"),
        ("sha256_mismatch", "icccccc3.md"),
        ("no_row", "idddddd4.md"),
        ("no_row", "ieeeeee5.md"),
        ("broken_post", "broken.md"),
        ("outside_layout", "ieeeeee5.md"),
        ("temp_file", ".tmp-abc.part"),
    }
    actions = repair(tmp_path, check(tmp_path))
    assert any("moved posts/2020/01/01/ieeeeee5.md" in a for a in actions)
    left = {(p.kind, Path(p.path).name) for p in check(tmp_path)}
    assert left == {("broken_post", "broken.md")}  # never deleted: a person decides
    assert (posts / "ieeeeee5.md").exists() and (posts / "broken.md").exists()
    with Archive(tmp_path) as archive:
        assert archive.get("icccccc3").text == "改过的正文"
        assert [h.post.id for h in archive.search("改过")] == ["icccccc3"]
        with pytest.raises(KeyError):
            archive.get(lost.id)
        assert archive.get(changed.id).text == "改过的正文"


def test_import_reference_posts(fixtures, tmp_path: Path):
    source = tmp_path / "_posts" / "金融" / "新浪财经"
    shutil.copytree(fixtures / "posts", source)
    (source / "not-a-post.md").write_text("just text", "utf-8")
    root = tmp_path / "archive"
    report = import_tree(tmp_path / "_posts", root)
    assert report.imported == 4 and [b.relpath for b in report.broken] == [
        "金融/新浪财经/not-a-post.md"
    ]
    with Archive(root) as archive:
        posts = {p.title: p for p in archive.posts()}
    originals = {
        Post.from_text(p.read_text("utf-8")).title: p for p in (fixtures / "posts").glob("*.md")
    }
    assert set(posts) == set(originals)  # titles byte-identical
    for title, original in originals.items():
        raw = original.read_text("utf-8")
        assert f"title: '{title.replace(chr(39), chr(39) * 2)}'" in raw
        post = posts[title]
        assert "343233024.png" not in post.headimg  # the QR code is no lead image
        assert "appendQr" not in post.body and "责任编辑" not in post.body
        assert post.editor
    seed = posts["工信部：引导电子信息企业深化5G、人工智能等技术创新应用"]
    assert seed.headimg == "" and seed.editor == "何中夫"
    assert seed.body.startswith('<p cms-style="font-L">　　11月30日')
    quoted = posts['"倒查20年"，挽回损失523亿！']
    assert quoted.headimg.endswith("0d5b-902058d68719f3a15fcabdebcf3b63dc.png")
    again = import_tree(tmp_path / "_posts", root)
    assert (again.imported, again.unchanged) == (0, 4)
    assert check(root) == []
