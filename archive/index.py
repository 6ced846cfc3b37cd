"""The SQLite index of an archive (``<root>/index.db``): the only module that touches SQLite.

Tables (FORMAT.md, "Index"):

- ``articles``: one row per post, primary key ``id``; ``date`` is ISO 8601 UTC, ``categories``
  and ``tags`` are JSON lists, ``path`` is relative to the root, ``sha256`` is of the file.
- ``failures``: one row per URL that could not be archived, with its feed, reason, attempts and
  times (ISO 8601 UTC); the row goes away when the URL is archived later.
- ``runs``: one row per crawl with its counts and exit code.
- ``entry_urls``: every URL an article was requested at (a feed entry's URL can differ from the
  article's canonical ``link``), so that the next crawl skips it without a request.

The database runs in WAL mode with a busy timeout so that readers never see "database is
locked" while a crawl writes (https://www.sqlite.org/wal.html).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from archive.errors import ArchiveError
from archive.post import Post

#: How long a connection waits for another writer's lock, in milliseconds.
BUSY_TIMEOUT_MS = 10_000

ARTICLE_COLUMNS: dict[str, type] = {
    "id": str,
    "link": str,
    "title": str,
    "date": str,
    "feed": str,
    "categories": str,
    "author": str,
    "source": str,
    "editor": str,
    "tags": str,
    "headimg": str,
    "path": str,
    "sha256": str,
    "first_seen": str,
    "last_fetched": str,
}


def utc_now() -> str:
    """Return the current time as ISO 8601 UTC with seconds, e.g. ``2026-11-30T01:08:04+00:00``."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def iso_utc(value: datetime) -> str:
    """Return an aware datetime as ISO 8601 UTC, e.g. ``2021-11-30T07:15:51+00:00``."""
    return value.astimezone(UTC).isoformat()


def article_row(post: Post, *, relpath: str, sha256: str, feed: str) -> dict[str, Any]:
    """Return the ``articles`` row for ``post`` stored at ``relpath`` (crawl-history columns not
    included: :meth:`Index.upsert_article` sets them)."""
    return {
        "id": post.id,
        "link": post.link,
        "title": post.title,
        "date": iso_utc(post.date),
        "feed": feed,
        "categories": json.dumps(post.categories, ensure_ascii=False),
        "author": post.author,
        "source": post.source,
        "editor": post.editor,
        "tags": json.dumps(post.tags, ensure_ascii=False),
        "headimg": post.headimg,
        "path": relpath,
        "sha256": sha256,
    }


class Index:
    """An open ``index.db``. Use as a context manager or call :meth:`close`.

    Raises ArchiveError naming the file when it cannot be opened or is not a SQLite database.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self.db = sqlite_utils.Database(conn)
            self._ensure_schema()
        except (sqlite3.Error, OSError) as exc:
            raise ArchiveError(f"cannot open index {self.path}: {exc}") from exc

    @classmethod
    def for_root(cls, root: Path) -> Index:
        """Open (creating if needed) the index of the archive at ``root``."""
        return cls(Path(root) / "index.db")

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def _ensure_schema(self) -> None:
        articles = self.db["articles"]
        if not articles.exists():
            articles.create(ARTICLE_COLUMNS, pk="id", not_null={"link", "title", "date", "path"})
            articles.create_index(["link"])
            articles.create_index(["date"])
        failures = self.db["failures"]
        if not failures.exists():
            failures.create(
                {
                    "url": str,
                    "feed": str,
                    "reason": str,
                    "detail": str,
                    "attempts": int,
                    "first_failed": str,
                    "last_try": str,
                    "next_try": str,
                },
                pk="url",
            )
        entry_urls = self.db["entry_urls"]
        if not entry_urls.exists():
            entry_urls.create({"url": str, "id": str}, pk="url")
        runs = self.db["runs"]
        if not runs.exists():
            runs.create(
                {
                    "id": int,
                    "started": str,
                    "finished": str,
                    "command": str,
                    "feeds": int,
                    "entries": int,
                    "new": int,
                    "unchanged": int,
                    "failed": int,
                    "exit_code": int,
                },
                pk="id",
            )

    # -- articles ----------------------------------------------------------------------------

    def known_keys(self) -> set[str]:
        """Return every archived article's id and link, for skipping them before a request."""
        keys: set[str] = set()
        for post_id, link in self.db.execute("select id, link from articles"):
            keys.add(post_id)
            keys.add(link)
        keys.update(url for (url,) in self.db.execute("select url from entry_urls"))
        return keys

    def remember_url(self, url: str, post_id: str) -> None:
        """Remember that requesting ``url`` gave the article ``post_id``."""
        with self.db.conn:
            self.db.execute(
                "insert or replace into entry_urls (url, id) values (?, ?)", [url, post_id]
            )
            self.db["failures"].delete_where("url = ?", [url])

    def get_article(self, post_id: str) -> dict[str, Any] | None:
        """Return the ``articles`` row with ``post_id`` as a dict, or None."""
        rows = list(self.db["articles"].rows_where("id = ?", [post_id]))
        return rows[0] if rows else None

    def upsert_article(self, row: dict[str, Any], *, now: str | None = None) -> None:
        """Insert or replace the row for ``row['id']``; ``first_seen`` is kept from an earlier
        row, ``last_fetched`` is set to ``now`` (ISO 8601 UTC; default: the current time)."""
        now = now or utc_now()
        old = self.get_article(row["id"])
        full = dict(row)
        full["first_seen"] = (old or {}).get("first_seen") or now
        full["last_fetched"] = now
        with self.db.conn:
            self.db["articles"].upsert(full, pk="id")
            self.db["failures"].delete_where("url = ?", [row["link"]])

    def count_articles(self) -> int:
        """Return the number of rows in ``articles``."""
        return self.db["articles"].count

    # -- failures ----------------------------------------------------------------------------

    def record_failure(
        self, url: str, *, feed: str, reason: str, detail: str = "", backoff: float = 0.0
    ) -> None:
        """Record (or count once more) a failure to archive ``url``; ``reason`` is a short
        slug such as ``http_404`` or ``no_body``, ``detail`` a human sentence.

        ``next_try`` is set ``backoff * 2 ** (attempts - 1)`` seconds from now (exponential
        backoff); until then :meth:`blocked_urls` lists the URL.
        """
        now = datetime.now(UTC).replace(microsecond=0)
        with self.db.conn:
            (attempts,) = self.db.execute(
                """
                insert into failures (url, feed, reason, detail, attempts, first_failed, last_try)
                values (?, ?, ?, ?, 1, ?, ?)
                on conflict(url) do update set
                  feed = excluded.feed, reason = excluded.reason, detail = excluded.detail,
                  attempts = attempts + 1, last_try = excluded.last_try
                returning attempts
                """,
                [url, feed, reason, detail, now.isoformat(), now.isoformat()],
            ).fetchone()
            delay = timedelta(seconds=min(backoff * 2 ** (attempts - 1), 365 * 86400))
            self.db.execute(
                "update failures set next_try = ? where url = ?",
                [(now + delay).isoformat(), url],
            )

    def blocked_urls(self, *, max_attempts: int, now: str | None = None) -> set[str]:
        """Return the failed URLs not to request now: waiting for their ``next_try`` (ISO 8601
        UTC; default now) or out of attempts (``attempts >= max_attempts``)."""
        now = now or utc_now()
        rows = self.db.execute(
            "select url from failures where attempts >= ? or coalesce(next_try, '') > ?",
            [max_attempts, now],
        )
        return {url for (url,) in rows}

    def failures(self) -> list[dict[str, Any]]:
        """Return all failure rows, most recent first."""
        return list(self.db["failures"].rows_where(order_by="last_try desc"))

    # -- runs --------------------------------------------------------------------------------

    def record_run(self, run: dict[str, Any]) -> None:
        """Append one row to ``runs`` (keys as the table's columns, ``id`` left out)."""
        with self.db.conn:
            self.db["runs"].insert(run)

    def rows(self, table: str) -> Iterable[dict[str, Any]]:
        """Yield every row of ``table`` (for tests and tools)."""
        return self.db[table].rows
