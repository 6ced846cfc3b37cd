"""The ``sina-archive`` command group: the commands that read and maintain the archive.

No Scrapy here: the crawling commands (``crawl``, ``fetch``) are added to this group by
:mod:`crawler.cli`, so one console script serves both. Every command takes ``--root DIR`` after
its name (default ``./data``, or ``$SINA_ARCHIVE_ROOT``); the reading commands print a table, or
``--json``, ``--nl`` (JSON lines) or ``--csv``. Each command opens the archive, calls one library
function and turns library errors into ``Error: …`` with a non-zero exit code.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from archive.api import Archive, PostNotFound
from archive.check import check, repair
from archive.errors import ArchiveError, LockedError
from archive.importer import import_tree
from archive.index import iso_utc
from archive.lock import CrawlLock
from archive.paths import BEIJING
from archive.post import Post
from archive.reindex import reindex

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DEFAULT_ROOT = "data"
EXIT_PROBLEMS = 1
EXIT_WRITE_FAILED = 74  # EX_IOERR: the archive cannot be written
EXIT_LOCKED = 75  # EX_TEMPFAIL: another process holds the archive's lock


def root_option(func: F) -> F:
    """Add ``--root DIR`` (the archive folder) to a command."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_ROOT,
        envvar="SINA_ARCHIVE_ROOT",
        show_default=True,
        help="Archive folder (posts/ and index.db). Env: SINA_ARCHIVE_ROOT.",
    )(func)


def output_options(func: F) -> F:
    """Add ``--json``, ``--nl`` and ``--csv`` (default: a table)."""
    for flag, text in (
        ("--csv", "Print CSV with a header row."),
        ("--nl", "Print one JSON object per line."),
        ("--json", "Print a JSON array."),
    ):
        func = click.option(flag, "fmt", flag_value=flag[2:], help=text)(func)
    return func


def filter_options(func: F) -> F:
    """Add the filters of ``list`` and ``export``."""
    options = [
        click.option(
            "--since", metavar="DATE", help="From this time on: YYYY-MM-DD (Beijing) or ISO 8601."
        ),
        click.option("--until", metavar="DATE", help="Before this time (exclusive), as --since."),
        click.option("--feed", help="Only posts of this feed (its name)."),
        click.option("--source", help="Only posts of this original publisher, e.g. 新京报."),
        click.option("--category", help="Only posts with this category."),
        click.option("--tag", help="Only posts with this tag."),
        click.option("--limit", type=click.IntRange(min=1), help="At most this many posts."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sina-archive")
def cli() -> None:
    """Keep a faithful, searchable archive of Sina Finance feeds.

    \b
    Crawl the default feeds into ./data:
      sina-archive crawl
    Crawl from cron every 5 minutes (silent unless something failed):
      */5 * * * * /srv/news/.venv/bin/sina-archive crawl -q --root /srv/news/data
    Read it:
      sina-archive list --since 2026-09-28
      sina-archive search 降准
    """


# --- helpers ---------------------------------------------------------------------------------


def parse_when(value: str | None, name: str) -> datetime | None:
    """Parse ``YYYY-MM-DD`` (midnight, Beijing time) or an ISO 8601 time (Beijing time when it
    has no zone). Raises click.BadParameter naming the option."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time", param_hint=name
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def open_archive(root: Path) -> Archive:
    """Open the archive at ``root`` for reading, or fail with ``Error: …`` (exit 1)."""
    try:
        return Archive(root)
    except (ArchiveError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text)
    if _width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        used += _width(ch)
        if used > limit - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def emit(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    fmt: str | None,
    fields: Sequence[str] = (),
    *,
    empty: str = "",
) -> None:
    """Print ``rows`` as a table of ``columns`` (default), JSON, JSON lines or CSV (with a
    header of ``fields``, or of the rows' keys, even when there is no row). A table with no
    row is not printed: ``empty`` goes to stderr instead (the exit code stays 0)."""
    if fmt is None and not rows and empty:
        click.echo(empty, err=True)
        return
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "nl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(rows[0]) if rows else list(fields or columns)
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                             for k, v in row.items()})  # fmt: skip
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = [
            [_cut(str(row.get(c, "")), 90 if c == "snippet" else 60) for c in columns]
            for row in rows
        ]
        widths = [max([_width(c)] + [_width(r[i]) for r in table]) for i, c in enumerate(columns)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True)
            ).rstrip()

        click.echo(line(columns))
        click.echo(line(["-" * w for w in widths]))
        for cells in table:
            click.echo(line(cells))


def beijing(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` in Beijing time, for tables."""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


#: The fields of a post in --json, --nl and --csv output (post_record's keys).
RECORD_FIELDS = (
    "id", "date", "beijing", "title", "link", "feed", "source", "editor", "author",
    "categories", "tags", "headimg", "updated",
)  # fmt: skip


def row_record(row: dict[str, Any]) -> dict[str, Any]:
    """An ``articles`` row as the same flat dict as :func:`post_record` (no file read)."""
    return {
        "id": row["id"],
        "date": row["date"],
        "beijing": beijing(datetime.fromisoformat(row["date"])),
        "title": row["title"],
        "link": row["link"],
        "feed": row["feed"] or "",
        "source": row["source"] or "",
        "editor": row["editor"] or "",
        "author": row["author"] or "",
        "categories": json.loads(row["categories"] or "[]"),
        "tags": json.loads(row["tags"] or "[]"),
        "headimg": row["headimg"] or "",
        "updated": "",
    }


def plural(count: int, word: str) -> str:
    """``1 problem``, ``2 problems``."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def post_record(post: Post, *, text: bool = False, html: bool = False) -> dict[str, Any]:
    """A post as a flat dict for output: front matter (dates ISO 8601 UTC) plus text/HTML."""
    record: dict[str, Any] = {
        "id": post.id,
        "date": iso_utc(post.date),
        "beijing": beijing(post.date),
        "title": post.title,
        "link": post.link,
        "feed": post.feed,
        "source": post.source,
        "editor": post.editor,
        "author": post.author,
        "categories": post.categories,
        "tags": post.tags,
        "headimg": post.headimg,
        "updated": iso_utc(post.updated) if post.updated else "",
    }
    if text:
        record["text"] = post.text
    if html:
        record["html"] = post.body
    return record


def with_progress(label: str) -> Callable[[Sequence[T]], Iterable[T]]:
    """A progress bar on a terminal (stderr), nothing under cron."""

    def wrap(items: Sequence[T]) -> Iterable[T]:
        if not sys.stderr.isatty():
            yield from items
            return
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


def locked(root: Path) -> CrawlLock:
    """Take the archive's lock for a command that writes: exit 75 when another process holds
    it, 74 when the lock file cannot be made (a read-only or full disk)."""
    lock = CrawlLock(root)
    try:
        lock.acquire()
    except LockedError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except (ArchiveError, sqlite3.Error) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    return lock


def run_locked(root: Path, work: Callable[[], T]) -> T:
    """Run ``work()`` holding the archive's lock (see :func:`locked`); library errors become
    ``Error: …`` with exit code 1."""
    lock = locked(root)
    try:
        return work()
    except (ArchiveError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        lock.release()


def finish(broken: Sequence[Any], summary: str) -> None:
    """List the files that could not be read (stderr), print the summary, exit 1 if any."""
    for item in broken:
        click.echo(f"{item.relpath}: {item.error}", err=True)
    click.echo(summary)
    sys.exit(EXIT_PROBLEMS if broken else 0)


# --- reading -----------------------------------------------------------------------------------


@cli.command("list")
@filter_options
@output_options
@root_option
def list_(
    root: Path, fmt: str | None, since: str | None, until: str | None, **filters: Any
) -> None:
    """List posts, newest first.

    DATE is YYYY-MM-DD (Beijing time) or an ISO 8601 time.

    \b
    Examples:
      sina-archive list --since 2026-09-28 --until 2026-09-29
      sina-archive list --source 新京报 --limit 5 --json
    """
    with open_archive(root) as archive:
        rows = archive.rows(
            since=parse_when(since, "--since"), until=parse_when(until, "--until"), **filters
        )
    narrowed = since or until or any(v is not None for k, v in filters.items() if k != "limit")
    emit(
        [row_record(r) for r in rows],
        ("beijing", "id", "source", "title"),
        fmt,
        RECORD_FIELDS,
        empty="no post matches these filters" if narrowed else "the archive has no post yet",
    )


@cli.command()
@click.argument("key", metavar="ID|URL")
@click.option("--html", "show_html", is_flag=True, help="Print the body's HTML, not its text.")
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    help="Show earlier version N (see `versions`) instead of the current post.",
)
@output_options
@root_option
def show(root: Path, key: str, show_html: bool, version: int | None, fmt: str | None) -> None:
    """Show one post: its front matter, then its text.

    \b
    Examples:
      sina-archive show initmeav9622448
      sina-archive show --html https://finance.sina.com.cn/roll/2018-12-28/doc-ihqfskcn2160999.shtml
    """
    with open_archive(root) as archive:
        try:
            post = archive.get(key, version=version)
        except ArchiveError as exc:  # not found, or its file is missing or broken
            raise click.ClickException(str(exc)) from exc
    if fmt:
        emit([post_record(post, text=True, html=show_html)], (), fmt)
        return
    for name, value in post.front_matter().items():
        if isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        click.echo(f"{name}: {value}")
    click.echo("")
    click.echo(post.body if show_html else post.text)


@cli.command()
@click.argument("key", metavar="ID|URL")
@output_options
@root_option
def versions(root: Path, key: str, fmt: str | None) -> None:
    """List the earlier versions of a post (kept when the article changed), oldest first.

    \b
    Examples:
      sina-archive versions initmeav9622448
      sina-archive show initmeav9622448 --version 1
    """
    with open_archive(root) as archive:
        try:
            found = archive.versions(key)
        except PostNotFound as exc:
            raise click.ClickException(str(exc)) from exc
    rows = [
        {
            "version": number,
            "replaced": iso_utc(v.replaced),
            "path": v.relpath,
            "sha256": v.sha256,
            "bytes": v.size,
        }
        for number, v in enumerate(found, 1)
    ]
    emit(rows, ("version", "replaced", "path", "bytes"), fmt, empty=f"{key} has no earlier version")


@cli.command()
@click.argument("query")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most N posts."
)
@output_options
@root_option
def search(root: Path, query: str, limit: int, fmt: str | None) -> None:
    """Full-text search of titles and texts; title matches first.

    Any Chinese word is found (a single character too); several words separated by spaces
    must all be there. Nothing found: no table, a line on stderr, exit code 0.

    \b
    Examples:
      sina-archive search 降准
      sina-archive search "宁德时代 300750" --json
    """
    with open_archive(root) as archive:
        try:
            hits = archive.search(query, limit=limit)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    rows = [
        {**post_record(hit.post), "title_hit": hit.title_hit, "snippet": hit.snippet}
        for hit in hits
    ]
    if fmt is None:  # the table says where the query was found: title hits come first
        rows = [{**row, "in": "title" if row["title_hit"] else "text"} for row in rows]
    emit(
        rows,
        ("beijing", "id", "in", "title", "snippet"),
        fmt,
        (*RECORD_FIELDS, "title_hit", "snippet"),
        empty=f"no post matches {query!r}",
    )


@cli.command()
@filter_options
@click.option("--csv", "fmt", flag_value="csv", help="CSV instead of JSON lines.")
@click.option("--html", "with_html", is_flag=True, help="Include the body's HTML too.")
@root_option
def export(
    root: Path,
    fmt: str | None,
    with_html: bool,
    since: str | None,
    until: str | None,
    **filters: Any,
) -> None:
    """Export posts with their text as JSON lines (default) or CSV.

    \b
    Examples:
      sina-archive export --since 2026-09-01 > september.jsonl
      sina-archive export --feed sina-finance-china --csv > china.csv
    """
    with open_archive(root) as archive:
        posts = archive.posts(
            since=parse_when(since, "--since"), until=parse_when(until, "--until"), **filters
        )
        rows = [post_record(p, text=True, html=with_html) for p in posts]
    fields = (*RECORD_FIELDS, "text", *(("html",) if with_html else ()))
    emit(rows, ("id",), fmt or "nl", fields)


@cli.command()
@output_options
@root_option
def stats(root: Path, fmt: str | None) -> None:
    """Count posts by day (Beijing date), by feed and by source.

    \b
    Example:
      sina-archive stats --json
    """
    with open_archive(root) as archive:
        counts = archive.stats()
    rows = [
        {"by": by, "value": value, "posts": n} for by, pairs in counts.items() for value, n in pairs
    ]
    if fmt:
        emit(rows, ("by", "value", "posts"), fmt)
        return
    for number, (by, pairs) in enumerate(counts.items()):
        if number:
            click.echo()  # a blank line between the tables
        click.echo(f"posts by {by}:")
        emit([{by: v, "posts": n} for v, n in pairs], (by, "posts"), None)


# --- maintenance -------------------------------------------------------------------------------


@cli.command("reindex")
@root_option
def reindex_(root: Path) -> None:
    """Rebuild index.db's articles and full-text index from the posts alone.

    Idempotent; crawl history (first_seen, last_fetched) restarts for posts the index did not
    know. Exit code 1 when some files could not be read (each is listed).

    \b
    Example:
      sina-archive reindex --root /srv/news/data
    """
    if not (root / "posts").is_dir():
        raise click.ClickException(f"no posts to index under {root}")
    report = run_locked(root, lambda: reindex(root, progress=with_progress("indexing posts")))
    finish(
        report.broken,
        f"indexed {plural(report.indexed, 'post')}, removed {plural(report.removed, 'row')}, "
        f"{len(report.broken)} unreadable",
    )


@cli.command("check")
@click.option("--repair", "do_repair", is_flag=True, help="Fix what can be fixed safely.")
@root_option
def check_(root: Path, do_repair: bool) -> None:
    """Compare the posts with the index; list every problem; exit 1 when there is any.

    Finds index rows whose file is missing, posts without a row, sha256 mismatches, files that
    are not readable posts, posts outside posts/YYYY/MM/DD/<id>.md, duplicate ids and temp files
    left by an interrupted write. --repair moves misplaced posts, removes temp files and
    rebuilds the index; it never deletes a post.

    \b
    Examples:
      sina-archive check
      sina-archive check --repair
    """
    try:
        problems = check(root, progress=with_progress("checking posts"))
        if problems and do_repair:
            for action in run_locked(root, lambda: repair(root, problems)):
                click.echo(action)
            problems = check(root)
    except (ArchiveError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in problems:
        click.echo(str(problem))
    click.echo(plural(len(problems), "problem") if problems else "ok: posts and index agree")
    sys.exit(EXIT_PROBLEMS if problems else 0)


@cli.command("import")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@root_option
def import_(source: Path, root: Path) -> None:
    """Import a Hexo _posts tree in the reference format (see README).

    Each post keeps its title exactly; its body is cleaned (QR code block out, the 责任编辑
    line into `editor`); a QR-code headimg is dropped. Running it again writes nothing.
    Exit code 1 when some files could not be read (each is listed).

    \b
    Example:
      sina-archive import ~/blog/source/_posts --root data
    """
    report = run_locked(
        root, lambda: import_tree(source, root, progress=with_progress("importing posts"))
    )
    finish(
        report.broken,
        f"imported {plural(report.imported, 'post')}, {report.unchanged} unchanged, "
        f"{len(report.broken)} unreadable",
    )


def main() -> None:
    """Entry point for the reading and maintenance commands alone, without Scrapy:
    ``python -m archive.cli list``."""
    cli(prog_name="sina-archive")


if __name__ == "__main__":
    main()


__all__ = ["cli", "emit", "main", "root_option"]
