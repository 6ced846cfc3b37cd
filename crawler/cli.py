"""The crawling commands of ``sina-archive``: ``crawl`` (the cron job) and ``fetch``.

They are added to the group of :mod:`archive.cli`, so that one console script serves both.
Exit codes: see :mod:`crawler.run`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from archive.cli import cli, locked, root_option
from archive.errors import ArchiveError
from crawler.feeds import FeedConfigError, select_feeds
from crawler.run import (
    EXIT_NOTHING_FETCHED,
    EXIT_USAGE,
    EXIT_WRITE_FAILED,
    CrawlSummary,
    coerce_setting,
    collect_young_less_often,
    run_spider,
)


def _settings_options(func: Any) -> Any:
    options = [
        click.option(
            "--connect-to",
            metavar="ORIGIN",
            help="Send every request to ORIGIN (e.g. http://127.0.0.1:8000) with the real "
            "Host header, like curl --connect-to: crawl a captured copy served locally. "
            "The archive keeps the real URLs.",
        ),
        click.option("--ignore-robots", is_flag=True, help="Do not obey robots.txt."),
        click.option(
            "--stats-json",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the crawl's Scrapy stats (counts, CPU seconds by stage) to this file.",
        ),
        click.option(
            "-s",
            "--set",
            "overrides",
            multiple=True,
            metavar="NAME=VALUE",
            help="Override a Scrapy setting (repeatable), e.g. -s DOWNLOAD_DELAY=2.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log each feed and new post (INFO)."),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            help="For cron: print the summary line only when something failed; warnings "
            "(failures, empty or stale feeds) still go to stderr.",
        ),
        root_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run(spider: str, root: Path, settings: dict[str, Any], opts: dict[str, Any]) -> None:
    settings["ARCHIVE_ROOT"] = str(root)
    settings["ARCHIVE_LOCK_HELD"] = True
    settings["LOG_LEVEL"] = "WARNING"
    if opts["connect_to"]:
        origin = urlsplit(opts["connect_to"])
        if (
            origin.scheme not in ("http", "https")
            or not origin.hostname
            or origin.path not in ("", "/")
        ):
            raise click.BadParameter(
                f"{opts['connect_to']!r} is not an origin like http://127.0.0.1:8000",
                param_hint="--connect-to",
            )
        settings["ARCHIVE_CONNECT_TO"] = opts["connect_to"]
    if opts["ignore_robots"]:
        settings["ROBOTSTXT_OBEY"] = False
    for override in opts["overrides"]:
        name, sep, value = override.partition("=")
        if not sep or not name:
            raise click.UsageError(f"-s takes NAME=VALUE, got {override!r}")
        try:
            settings[name] = coerce_setting(name, value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-s") from exc
    collect_young_less_often()
    lock = locked(root)
    try:
        stats = run_spider(spider, settings, verbose=opts["verbose"])
    except FeedConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except ArchiveError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_WRITE_FAILED)
    finally:
        lock.release()
    if opts["stats_json"]:
        opts["stats_json"].write_text(
            json.dumps(stats, default=str, indent=1, sort_keys=True), encoding="utf-8"
        )
    summary = CrawlSummary.from_stats(stats)
    code = summary.exit_code()
    if not opts["quiet"] or code != 0:
        click.echo(summary.line())
    if code == EXIT_WRITE_FAILED:
        click.echo(f"Error: cannot write the archive: {summary.write_error}", err=True)
    if code == EXIT_NOTHING_FETCHED:
        click.echo(
            "Error: nothing could be fetched: no feed or page answered (network down, proxy?)",
            err=True,
        )
    sys.exit(code)


@cli.command()
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Feeds file (TOML) instead of the shipped crawler/feeds.toml.",
)
@click.option(
    "--feed",
    "feed_names",
    multiple=True,
    metavar="NAME|URL",
    help="Crawl only this feed of the feeds file, or this feed URL (repeatable).",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Fetch every listed article again, archived or not; a changed article gets a new "
    "version (the old one is kept).",
)
@_settings_options
def crawl(
    feeds_file: Path | None, feed_names: tuple[str, ...], refresh: bool, root: Path, **opts: Any
) -> None:
    """Poll the feeds and archive every new article (the cron job).

    Ends with one line: feeds polled, entries seen, new, unchanged, duplicate, failed,
    deferred. Exit codes: 0 nothing failed in this run, 1 some feeds or entries failed, 2 usage
    error, 3 nothing could be fetched, 74 the archive could not be written (disk full,
    read-only), 75 another crawl holds the lock.

    \b
    Examples:
      sina-archive crawl
      sina-archive crawl --root /srv/news/data --feed sina-finance-china
      sina-archive crawl --feed 'https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686'
      sina-archive crawl -q    # from cron: silent unless something failed
    """
    try:
        select_feeds(feeds_file, list(feed_names))
    except FeedConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    settings: dict[str, Any] = {"ARCHIVE_FEEDS": list(feed_names), "ARCHIVE_REFRESH": refresh}
    if feeds_file:
        settings["ARCHIVE_FEEDS_FILE"] = str(feeds_file)
    _run("feeds", root, settings, opts)


@cli.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="Category of the posts (repeatable; default 新浪财经). A feed URL's entries take "
    "the feed's title.",
)
@_settings_options
def fetch(urls: tuple[str, ...], categories: tuple[str, ...], root: Path, **opts: Any) -> None:
    """Archive article pages now, or crawl a feed URL once.

    An article URL is fetched even when it is archived already (that refreshes its post).
    Exit codes as for crawl.

    \b
    Example:
      sina-archive fetch https://finance.sina.com.cn/roll/2018-12-28/doc-ihqfskcn2160999.shtml
    """
    for url in urls:
        if not url.startswith(("http://", "https://")):
            click.echo(f"Error: not an http(s) URL: {url}", err=True)
            sys.exit(EXIT_USAGE)
    settings: dict[str, Any] = {"ARCHIVE_FETCH_URLS": list(urls)}
    if categories:
        settings["ARCHIVE_DEFAULT_CATEGORIES"] = list(categories)
    _run("fetch", root, settings, opts)


def main() -> None:
    """Entry point of the ``sina-archive`` console script."""
    cli(prog_name="sina-archive")


if __name__ == "__main__":
    main()
