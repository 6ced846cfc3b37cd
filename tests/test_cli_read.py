"""Reading an archive crawled from the real fixtures: search, list/show/export/stats in every
output format, reindex and check, Datasette; and a README that documents every command."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from archive import Archive
from archive.cli import cli
from archive.fts import normalize, phrase_terms
from tests.conftest import REPO, run_cli

HAN_PAIR = re.compile(r"[\u4e00-\u9fff]{2}")


@pytest.fixture(scope="module")
def texts(real_archive: Path) -> dict[str, str]:
    """Every post's title and text, NFKC-normalised as the index sees them."""
    with Archive(real_archive) as archive:
        return {p.id: normalize(p.title + "\n" + p.text) for p in archive.posts()}


def words_from_bodies(texts: dict[str, str], count: int = 60) -> list[str]:
    chooser = random.Random(20261130)
    words = set()
    for text in texts.values():
        pairs = HAN_PAIR.findall(text)
        words.update(chooser.sample(pairs, min(3, len(pairs))))
    return sorted(chooser.sample(sorted(words), min(count, len(words))))


def test_search_finds_every_post_holding_a_two_character_word(real_archive, texts):
    words = words_from_bodies(texts)
    assert len(words) >= 50
    with Archive(real_archive) as archive:
        for word in words:
            expected = {pid for pid, text in texts.items() if word in text}
            found = {hit.post.id for hit in archive.search(word, limit=100)}
            assert found == expected, word


def test_search_finds_longer_and_mixed_queries(real_archive, texts):
    with Archive(real_archive) as archive:
        for query in ("华为抢跑5G芯片大战", "5G", "iPhone", "A股", "中国芯", "存储芯片"):
            expected = {pid for pid, text in texts.items() if normalize(query) in text}
            assert expected, query
            assert {h.post.id for h in archive.search(query, limit=100)} == expected, query


@pytest.mark.parametrize("absent", ["龘靐", "量子纠缠", "比特币矿机", "zzqxj"])
def test_search_finds_nothing_for_absent_words(real_archive, texts, absent):
    assert not any(absent in text for text in texts.values())
    with Archive(real_archive) as archive:
        assert archive.search(absent) == []


def test_title_hits_rank_first(real_archive):
    with Archive(real_archive) as archive:
        hits = archive.search("芯片")
    flags = [hit.title_hit for hit in hits]
    assert flags == sorted(flags, reverse=True) and flags[0] and not flags[-1]


def test_reindex_then_check_is_clean_and_rows_come_back(real_archive, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(real_archive, root)
    columns = (
        "id, link, title, date, feed, categories, author, source, editor, tags, headimg, "
        "path, sha256"
    )

    def rows():
        with sqlite3.connect(root / "index.db") as db:
            return db.execute(f"select {columns} from articles order by id").fetchall()

    crawled = rows()
    for name in ("index.db", "index.db-wal", "index.db-shm"):
        (root / name).unlink(missing_ok=True)
    result = run_cli("reindex", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert "indexed 26 posts, removed 0 rows, 0 unreadable" in result.stdout
    assert result.stderr == ""  # no progress bar under a pipe
    assert rows() == crawled
    again = run_cli("reindex", "--root", str(root))
    assert again.returncode == 0 and rows() == crawled
    checked = run_cli("check", "--root", str(root))
    assert checked.returncode == 0 and "ok: posts and index agree" in checked.stdout


def test_check_reports_problems_with_paths_and_exit_1(real_archive, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(real_archive, root)
    victim = next((root / "posts").rglob("*.md"))
    victim.write_text(victim.read_text("utf-8") + "<p>tampered</p>\n", "utf-8")
    result = run_cli("check", "--root", str(root))
    assert result.returncode == 1
    assert str(victim.relative_to(root)) in result.stdout and "sha256" in result.stdout
    repaired = run_cli("check", "--repair", "--root", str(root))
    assert repaired.returncode == 0, repaired.stdout
    assert "tampered" in victim.read_text("utf-8")  # the post is kept, the index follows it


def test_datasette_search_finds_what_search_finds(real_archive, texts):
    from datasette.app import Datasette

    queries = words_from_bodies(texts, 15) + ["华为抢跑", "A股", "5G", "存储芯片"]

    async def datasette_ids(query: str) -> set[str]:
        datasette = Datasette([str(real_archive / "index.db")], immutables=[])
        response = await datasette.client.get(
            "/index/articles.json",
            params={"_search": query, "_shape": "array", "_col": "id", "_size": "max"},
        )
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}

    with Archive(real_archive) as archive:
        for query in queries:
            ours = {hit.post.id for hit in archive.search(query, limit=1000)}
            theirs = asyncio.run(datasette_ids(query))
            if phrase_terms(query):  # Datasette cannot confirm phrases: it may find more
                assert theirs >= ours, query
            else:
                assert theirs == ours, query
    assert asyncio.run(datasette_ids("A股")) > {"8c5588221035701c"}  # A and 股, not together
    db = sqlite3.connect(real_archive / "index.db")
    (sql,) = db.execute("select sql from sqlite_master where name = 'articles_fts'").fetchone()
    assert "content=[articles]" in sql  # what Datasette and sqlite-utils detect


def test_list_formats(real_archive):
    root = ["--root", str(real_archive)]
    table = run_cli("list", "--since", "2018-09-28", "--until", "2018-09-29", *root)
    assert table.returncode == 0 and len(table.stdout.strip().splitlines()) == 2 + 14
    as_json = json.loads(run_cli("list", "--json", "--source", "澎湃新闻", *root).stdout)
    assert {row["id"] for row in as_json} == {"ifxeuwwr9050078", "ifxeuwwr9106729"}
    lines = run_cli("list", "--nl", "--limit", "3", *root).stdout.strip().splitlines()
    assert [json.loads(line)["id"] for line in lines][0] == "initmeav9622448"
    rows = list(csv.DictReader(io.StringIO(run_cli("list", "--csv", *root).stdout)))
    assert len(rows) == 26 and rows[0]["title"] == "财报前夕，美光“超级多头”重申2000美元目标价"
    bad = run_cli("list", "--since", "yesterday", *root)
    assert bad.returncode == 2 and "--since" in bad.stderr
    # an empty table is not printed: a line on stderr says why, the exit code stays 0
    none = run_cli("list", "--source", "无此来源", *root)
    assert none.returncode == 0 and none.stdout == ""
    assert "no post matches these filters" in none.stderr
    assert run_cli("list", "--source", "无此来源", "--csv", *root).stdout.startswith("id,date,")
    unchanged = run_cli("versions", "initmeav9622448", *root)
    assert unchanged.returncode == 0 and unchanged.stdout == ""
    assert "initmeav9622448 has no earlier version" in unchanged.stderr


def test_show_search_export_stats(real_archive):
    root = ["--root", str(real_archive)]
    shown = run_cli("show", "initmeav9622448", *root)
    assert shown.returncode == 0
    assert "title: 财报前夕" in shown.stdout and "在看多存储芯片股美光科技" in shown.stdout
    html = run_cli(
        "show",
        "--html",
        "https://finance.sina.com.cn/stock/usstock/c/2026-09-29/doc-initmeav9622448.shtml",
        *root,
    )  # noqa: E501
    assert "<p>" in html.stdout
    missing = run_cli("show", "nope", *root)
    assert missing.returncode == 1 and "Error: no post with id or link 'nope'" in missing.stderr
    found = json.loads(run_cli("search", "芯片", "--json", *root).stdout)
    assert found[0]["title_hit"] and "[芯片]" in found[-1]["snippet"]
    assert [hit["date"] for hit in found[1:]] == sorted(
        (h["date"] for h in found[1:]), reverse=True
    )
    table = run_cli("search", '"芯片*', *root).stdout.splitlines()
    assert table[0].split()[:5] == ["beijing", "id", "in", "title", "snippet"]
    assert table[2].split()[3] == "title" and all("[芯片]" in line for line in table[2:])
    exported = [json.loads(x) for x in run_cli("export", *root).stdout.splitlines()]
    assert len(exported) == 26 and all(row["text"] for row in exported[:3])
    exported_csv = list(csv.DictReader(io.StringIO(run_cli("export", "--csv", *root).stdout)))
    assert len(exported_csv) == 26 and "text" in exported_csv[0]
    nothing = run_cli("search", "龘靐", *root)
    assert nothing.returncode == 0 and "no post matches '龘靐'" in nothing.stderr
    assert nothing.stdout == ""
    assert json.loads(run_cli("search", "龘靐", "--json", *root).stdout) == []
    assert run_cli("stats", *root).stdout.startswith("posts by day:\n")
    counted = json.loads(run_cli("stats", "--json", *root).stdout)
    assert {"by": "day", "value": "2018-09-28", "posts": 14} in counted


def test_every_command_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text("utf-8")
    from crawler.cli import cli as full_cli  # adds crawl and fetch

    assert full_cli is cli
    for name, command in cli.commands.items():
        assert f"`sina-archive {name}" in readme, f"README does not document {name}"
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt not in ("--help",):
                    assert opt in readme, f"README does not document {name} {opt}"
