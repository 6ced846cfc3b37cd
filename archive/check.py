"""Compare the posts with the index and report (and repair) every disagreement."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.errors import ArchiveError
from archive.index import Index, article_row
from archive.paths import post_relpath, resolve_inside
from archive.reader import iter_post_paths, read_post_file
from archive.reindex import reindex
from archive.versions import save_version
from archive.writer import TEMP_PREFIX

#: Problem kinds, in the order they are reported.
KINDS = {
    "missing_file": "index row whose post file is missing",
    "no_row": "post without an index row",
    "sha256_mismatch": "post whose sha256 differs from its index row",
    "row_mismatch": "index row whose values differ from its post",
    "broken_post": "file under posts/ that is not a readable post",
    "outside_layout": "post not at posts/YYYY/MM/DD/<id>.md for its id and date",
    "duplicate_id": "two post files with the same id",
    "temp_file": "temp file left by an interrupted write",
    "fts_dirty": "full-text index may hold stale entries",
}


@dataclass(frozen=True)
class Problem:
    """One disagreement: its kind (a key of :data:`KINDS`), the path relative to the root
    (or ``index.db``) and a sentence."""

    kind: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {KINDS[self.kind]}: {self.detail}"


def check(
    root: Path, *, progress: Callable[[Sequence[Path]], Iterable[Path]] = list
) -> list[Problem]:
    """Return every problem of the archive at ``root`` (empty when it is consistent).

    Raises ArchiveError when ``root`` has no index.
    """
    root = Path(root)
    if not (root / "index.db").is_file():
        raise ArchiveError(f"no archive at {root}: index.db is missing")
    problems: list[Problem] = []
    with Index.for_root(root, readonly=True) as index:
        rows = {row["id"]: row for row in index.rows("articles")}
        if index.get_meta("fts_dirty") or not index.fts_current():
            problems.append(Problem("fts_dirty", "index.db", "run `sina-archive reindex`"))
    for top in ("posts", "versions"):
        for folder, _dirs, files in os.walk(root / top):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    path = Path(folder) / name
                    problems.append(
                        Problem("temp_file", path.relative_to(root).as_posix(), "partial write")
                    )
    seen: dict[str, str] = {}
    for path in progress(list(iter_post_paths(root))):
        relpath = path.relative_to(root).as_posix()
        try:
            stored = read_post_file(path, root)
        except ArchiveError as exc:
            problems.append(Problem("broken_post", relpath, str(exc)))
            continue
        post = stored.post
        try:
            expected = post_relpath(post.id, post.date)
        except (ArchiveError, ValueError) as exc:
            problems.append(Problem("outside_layout", relpath, str(exc)))
            continue
        if expected != relpath:
            problems.append(Problem("outside_layout", relpath, f"belongs at {expected}"))
        if post.id in seen:
            problems.append(Problem("duplicate_id", relpath, f"same id as {seen[post.id]}"))
            continue
        seen[post.id] = relpath
        row = rows.get(post.id)
        if row is None:
            problems.append(Problem("no_row", relpath, f"id {post.id}"))
            continue
        if row["sha256"] != stored.sha256:
            problems.append(Problem("sha256_mismatch", relpath, f"index has {row['sha256'][:12]}…"))
            continue
        want = article_row(post, relpath=relpath, sha256=stored.sha256)
        wrong = sorted(key for key, value in want.items() if row.get(key) != value)
        if wrong:
            problems.append(Problem("row_mismatch", relpath, "columns " + ", ".join(wrong)))
    broken = {p.path for p in problems if p.kind == "broken_post"}
    for post_id, row in sorted(rows.items()):
        if post_id not in seen and row["path"] not in broken:
            problems.append(Problem("missing_file", row["path"], f"id {post_id}"))
    order = list(KINDS)
    return sorted(problems, key=lambda p: (order.index(p.kind), p.path))


def repair(root: Path, problems: list[Problem]) -> list[str]:
    """Fix what can be fixed without losing a post; return one line per action.

    - ``outside_layout``: the file moves to its place when that place is free;
    - ``temp_file``: removed (it is a torn copy; the post it was replacing is intact);
    - ``no_row``, ``sha256_mismatch``, ``row_mismatch``, ``missing_file``, ``fts_dirty``: the
      index is rebuilt from the posts (a row whose file is gone is removed, so that the next
      crawl fetches the article again).

    - ``duplicate_id``: the copy not at its place in the layout is moved to ``versions/``.

    ``broken_post`` is left for a person: fixing it could lose a post.
    """
    root = Path(root)
    actions: list[str] = []
    rebuild = False
    for problem in problems:
        if problem.kind == "temp_file":
            (root / problem.path).unlink(missing_ok=True)
            actions.append(f"removed {problem.path}")
        elif problem.kind == "outside_layout" and problem.detail.startswith("belongs at "):
            target = problem.detail.removeprefix("belongs at ")
            destination = resolve_inside(root, target)
            if destination.exists():
                actions.append(f"left {problem.path}: {target} exists already")
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(resolve_inside(root, problem.path), destination)
            actions.append(f"moved {problem.path} to {target}")
            rebuild = True
        elif problem.kind == "duplicate_id":
            actions.append(_keep_one(root, problem))
            rebuild = True
        elif problem.kind in (
            "no_row",
            "sha256_mismatch",
            "row_mismatch",
            "missing_file",
            "fts_dirty",
        ):
            rebuild = True
    if rebuild:
        report = reindex(root)
        actions.append(f"rebuilt the index: {report.indexed} posts, {report.removed} rows removed")
    return actions


def _keep_one(root: Path, problem: Problem) -> str:
    """Of two files with one id, keep the one at its place; keep the other as a version."""
    other = problem.detail.removeprefix("same id as ")
    copies = []
    for relpath in (other, problem.path):
        stored = read_post_file(resolve_inside(root, relpath), root)
        in_place = post_relpath(stored.post.id, stored.post.date) == relpath
        copies.append((not in_place, relpath, stored))
    copies.sort(key=lambda c: c[0])  # the copy in place first; else the first one found
    _, loser, stored = copies[1]
    data = resolve_inside(root, loser).read_bytes()
    version = save_version(root, stored.post.id, data)
    resolve_inside(root, loser).unlink()
    return f"moved {loser} to {version} (same id as {copies[0][1]})"
