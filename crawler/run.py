"""Run a spider in this process and sum up what it did (for the CLI and cron)."""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from typing import Any

#: Exit codes, designed for cron (README "Exit codes").
EXIT_OK = 0  # every feed and entry was read, every new article archived
EXIT_SOME_FAILED = 1  # some feeds or entries failed (see the failures table); the rest is archived
EXIT_USAGE = 2  # bad command line or feeds file
EXIT_NOTHING_FETCHED = 3  # nothing could be fetched at all (network down, every feed failed)
EXIT_WRITE_FAILED = 74  # the archive could not be written (disk full, read-only): EX_IOERR


@dataclass(frozen=True)
class CrawlSummary:
    """The counts of one crawl: feeds polled, entries seen, articles new (or updated),
    unchanged (archived already), duplicate (listed again in this run, by the same or another
    feed), failed (feeds and articles, in this run) and deferred (a URL that failed in an
    earlier run and waits for its next try, or is off the allowed domains).
    ``entries == new + unchanged + duplicate + failed + deferred`` when every feed was read."""

    feeds: int
    entries: int
    new: int
    unchanged: int
    failed: int
    deferred: int = 0
    duplicate: int = 0
    responses: int = 0
    write_error: str = ""

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> CrawlSummary:
        """Build the summary from a Scrapy stats dict (keys of crawler.spiders.feeds)."""
        return cls(
            feeds=stats.get("feed/requested", 0),
            entries=stats.get("entry/seen", 0),
            new=stats.get("article/new", 0) + stats.get("article/updated", 0),
            unchanged=stats.get("entry/known", 0) + stats.get("article/unchanged", 0),
            duplicate=stats.get("entry/duplicate", 0),
            failed=stats.get("feed/failed", 0) + stats.get("article/failed", 0),
            deferred=stats.get("entry/deferred", 0) + stats.get("entry/offsite", 0),
            responses=stats.get("response/received", 0),
            write_error=stats.get("archive/write_failed", ""),
        )

    def line(self) -> str:
        """One line for a log or a cron mail."""
        return (
            f"feeds polled {self.feeds}, entries seen {self.entries}, new {self.new}, "
            f"unchanged {self.unchanged}, duplicate {self.duplicate}, failed {self.failed}, "
            f"deferred {self.deferred}"
        )

    def exit_code(self) -> int:
        """0 nothing failed in this run, 1 some feeds or entries failed, 3 nothing could be
        fetched (not one HTTP response), 74 the archive could not be written."""
        if self.write_error:
            return EXIT_WRITE_FAILED
        if self.failed and not self.responses:
            return EXIT_NOTHING_FETCHED
        if self.failed:
            return EXIT_SOME_FAILED
        return EXIT_OK


class _RobotsErrors(logging.Filter):
    """Drop Scrapy's report of a robots.txt that could not be fetched (an ERROR with a
    traceback): the request it guarded fails too, and the spider reports that failure once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


def project_settings() -> Any:
    """Return the project's Scrapy settings (crawler/settings.py), wherever the cwd is."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    return get_project_settings()


def coerce_setting(name: str, value: str) -> Any:
    """Check a ``-s NAME=VALUE`` override against the type of the setting's default (bool,
    int, float; ``LOG_LEVEL``: one of :data:`LOG_LEVELS`, any case) and return the typed
    value; raise ValueError naming the setting otherwise."""
    if name == "LOG_LEVEL":
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"LOG_LEVEL takes one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level
    current = project_settings().get(name)
    if isinstance(current, bool):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} takes true or false, got {value!r}")
    for kind in (int, float):
        if isinstance(current, kind):
            try:
                return kind(value)
            except ValueError:
                raise ValueError(
                    f"{name} takes a number ({kind.__name__}), got {value!r}"
                ) from None
    return value


def log_our_info() -> None:
    """Show this project's INFO messages (each feed, each new post) on stderr while Scrapy's
    own loggers stay at ``LOG_LEVEL``: what ``--verbose`` means."""
    ours = logging.getLogger("crawler")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    ours.propagate = False


#: Allocations between two collections of CPython's youngest generation during a crawl.
GC_YOUNG_THRESHOLD = 10_000


def collect_young_less_often() -> None:
    """Collect CPython's youngest generation every :data:`GC_YOUNG_THRESHOLD` allocations
    instead of 700, for the rest of the process (the CLI's crawl and fetch, and the
    benchmark's Scrapy alone reference).

    A crawl makes millions of objects that die young (lxml proxies, requests, responses):
    those collections cost about 0.2 ms of CPU per article, every 10,000 allocations 0.03 ms
    (README "Benchmark"). Cyclic garbage waits longer for a collection; the benchmark's peak
    RSS did not grow (102 MB for 1,000 pages, 115 MB for 10,000; 111 and 126 MB before).
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


#: Log levels ``-s LOG_LEVEL=…`` accepts (any case).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def drop_records_below(level: str | int, *, verbose: bool = False) -> None:
    """Make Scrapy's loggers (and this project's, unless ``verbose``) drop records below
    ``level`` before making them.

    Scrapy's root handler drops them only once they are made: Scrapy's "Crawled" and
    "Scraped" and our "new post", three per article at 20 µs each. The level is set on the
    ``scrapy`` and ``crawler`` loggers because Scrapy sets the root logger's back to NOTSET
    as each crawler starts (``scrapy.utils.log.install_scrapy_root_handler``); call it after
    the CrawlerProcess is made, whose logging set-up puts ``scrapy`` at DEBUG.
    """
    logging.getLogger("scrapy").setLevel(level)
    if not verbose:
        logging.getLogger("crawler").setLevel(level)


def run_spider(spider: str, settings: dict[str, Any], *, verbose: bool = False) -> dict[str, Any]:
    """Run the spider named ``spider`` (``feeds`` or ``fetch``) to the end with the project's
    settings updated by ``settings``; return its final stats. ``verbose`` logs this
    project's INFO messages (:func:`log_our_info`).

    Raises whatever the spider raised while starting (e.g. FeedConfigError).
    """
    from scrapy.crawler import CrawlerProcess

    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").addFilter(_RobotsErrors())
    if verbose:
        log_our_info()
    project = project_settings()
    project.setdict(settings, priority="cmdline")
    process = CrawlerProcess(project)
    drop_records_below(project.get("LOG_LEVEL"), verbose=verbose)
    crawler = process.create_crawler(spider)
    failures: list[Any] = []
    deferred = process.crawl(crawler)
    deferred.addErrback(failures.append)
    process.start()
    if failures:
        failures[0].raiseException()
    return crawler.stats.get_stats() if crawler.stats else {}
