"""The ``sina-archive`` command group and the options every command shares.

Commands that read the archive live here (no Scrapy import); the crawling commands (``crawl``,
``fetch``) are added to this group by :mod:`crawler.cli`. Every command takes ``--root DIR``
after its name (default ``./data``, or ``$SINA_ARCHIVE_ROOT``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_ROOT = "data"


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sina-archive")
def cli() -> None:
    """Keep a faithful, searchable archive of Sina Finance feeds.

    \b
    Set up and crawl the default feeds into ./data:
      sina-archive crawl
    Crawl from cron every 5 minutes:
      */5 * * * * cd /srv/news && sina-archive crawl --root /srv/news/data
    """
