"""The SQLite index of an archive (``<root>/index.db``): the only module that touches SQLite.

Tables (FORMAT.md, "Index"):

- ``articles``: one row per post, primary key ``id``; ``date`` is ISO 8601 UTC, ``categories``
  and ``tags`` are JSON lists, ``path`` is relative to the root, ``sha256`` is of the file.
- ``failures``: one row per URL that could not be archived, with its feed, reason, attempts and
  times (ISO 8601 UTC); the row goes away when the URL is archived later.
- ``runs``: one row per crawl with its counts and exit code.
- ``feeds``: one row per feed read without error: URL, last poll, entries, newest entry.
- ``entry_urls``: every URL an article was requested at (a feed entry's URL can differ from the
  article's canonical ``link``), so that the next crawl skips it without a request.
- ``articles_fts``: FTS5 full-text index of each article's title and text, in the bigram tokens
  of :mod:`archive.fts`. It is an external-content table on ``articles`` (so that Datasette and
  sqlite-utils detect it) that stores no text and no token positions or columns
  (``detail=none``): only MATCH (no phrases, no column filters) and ``rowid`` may be used on
  it; reading its columns, ``bm25()``, ``highlight()`` and ``snippet()`` fail, and SQLite's
  ``rebuild`` command must not be used (``sina-archive reindex`` rebuilds it).
- ``titles_fts``: the same for titles alone (contentless), so that title hits come first.
- ``meta``: key/value flags, e.g. ``fts_dirty`` when the FTS index may hold stale entries.

The database runs in WAL mode with a busy timeout so that readers never see "database is
locked" while a crawl writes (https://www.sqlite.org/wal.html).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from archive.errors import ArchiveError
from archive.fts import index_tokens, match_expression, phrase_terms, term_found
from archive.paths import resolve_inside
from archive.post import Post, fold_line_breaks
from archive.reader import read_post

#: The page cache of a rebuild (:meth:`Index.batch`), in KiB: FTS5 merges its segments in it.
#: Other connections keep SQLite's default (2 MB), so that a crawl's memory does not grow with
#: the index (https://www.sqlite.org/pragma.html#pragma_cache_size).
CACHE_KIB = 32 * 1024
#: How long a connection waits for another writer's lock, in milliseconds.
BUSY_TIMEOUT_MS = 10_000

#: The full-text tables: tokens from :func:`archive.fts.index_tokens`, which the ``ascii``
#: tokenizer splits on their spaces. ``articles_fts`` holds each article's title and text with
#: ``detail=none``: which rows hold a token, not where nor in which column, a fifth of the size
#: of a positional index (https://www.sqlite.org/fts5.html#the_detail_option), and no token
#: counts (``columnsize=0``: nothing ranks by them).
#: ``titles_fts`` (contentless, so that Datasette picks ``articles_fts``) holds the titles
#: alone, for title hits first. An index made before 0.5.0 (``detail=full``, ``unicode61``, no
#: ``titles_fts``) still works: opening it for writing adds ``titles_fts`` from the titles;
#: ``reindex`` rebuilds ``articles_fts`` in this form.
FTS_TABLES = {
    "articles_fts": "create virtual table articles_fts using fts5("
    "title, text, content=[articles], tokenize='ascii', detail=none, columnsize=0)",
    "titles_fts": "create virtual table titles_fts using fts5("
    "title, content='', tokenize='ascii', detail=none, columnsize=0)",
}

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


def article_row(post: Post, *, relpath: str, sha256: str) -> dict[str, Any]:
    """Return the ``articles`` row for ``post`` stored at ``relpath`` with file hash ``sha256``
    (crawl-history columns not included: :meth:`Index.upsert_article` sets them). Every value
    comes from the post, so a row rebuilt from the file is the same."""
    return {
        "id": post.id,
        "link": post.link,
        "title": fold_line_breaks(post.title),
        "date": iso_utc(post.date),
        "feed": post.feed,
        "categories": json.dumps(post.categories, ensure_ascii=False),
        "author": post.author,
        "source": post.source,
        "editor": post.editor,
        "tags": json.dumps(post.tags, ensure_ascii=False),
        "headimg": post.headimg,
        "path": relpath,
        "sha256": sha256,
    }


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Open ``path`` read-only; on read-only media, where SQLite cannot make the WAL's shared
    memory file, as an immutable file (https://www.sqlite.org/uri.html)."""
    uri = "file:" + urllib.parse.quote(str(Path(path).resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn = sqlite3.connect(uri + "&immutable=1", uri=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class Index:
    """An open ``index.db``. Use as a context manager or call :meth:`close`.

    Raises ArchiveError naming the file when it cannot be opened or is not a SQLite database.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._rebuild_sql: tuple[tuple[str, ...], str] | None = None
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.is_file():
                raise ArchiveError(f"no index at {self.path}")
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db = sqlite_utils.Database(conn)
            if readonly:
                if not self.db.table("articles").exists():
                    raise ArchiveError(f"{self.path} is not an archive index (no articles table)")
                return
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.isolation_level = "DEFERRED"  # back to the module's implicit transactions
            self._ensure_schema()
        except (sqlite3.Error, OSError) as exc:
            raise ArchiveError(f"cannot open index {self.path}: {exc}") from exc

    @classmethod
    def for_root(cls, root: Path, *, readonly: bool = False) -> Index:
        """Open the index of the archive at ``root``: creating it if needed, or, with
        ``readonly``, only if it exists (ArchiveError otherwise); a read-only index never
        changes the schema."""
        return cls(Path(root) / "index.db", readonly=readonly)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one transaction: committed at its end, rolled back if it raises.

        Inside a transaction the caller opened already (a crawl's batch, a reindex), the block
        joins it without a savepoint: FTS5 writes its pending terms to a new segment at every
        savepoint (``fts5SavepointMethod`` in SQLite's ext/fts5/fts5_main.c), so each stored
        post became a segment to merge; a 10,000-post reindex took 13% longer with them. A
        block that raises there leaves the outer transaction for its owner to roll back.
        """
        if self.db.conn.in_transaction:
            yield
            return
        with self.db.atomic():
            yield

    @contextmanager
    def batch(self) -> Iterator[None]:
        """A rebuild's many writes: one transaction (see :meth:`transaction`), with a page
        cache of :data:`CACHE_KIB` KiB while it runs."""
        (before,) = self.db.execute("PRAGMA cache_size").fetchone()
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        try:
            with self.transaction():
                yield
        finally:
            self.db.execute(f"PRAGMA cache_size = {before}")

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def _ensure_schema(self) -> None:
        # One transaction, taken at once: two processes opening a new index do not race.
        with self.db.conn:
            self.db.conn.execute("begin immediate")
            self._create_tables()

    def _create_tables(self) -> None:
        articles = self.db.table("articles")
        if not articles.exists():
            articles.create(ARTICLE_COLUMNS, pk="id", not_null={"link", "title", "date", "path"})
            articles.create_index(["link"])
            articles.create_index(["date"])
        failures = self.db.table("failures")
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
        entry_urls = self.db.table("entry_urls")
        if not entry_urls.exists():
            entry_urls.create({"url": str, "id": str}, pk="url")
        for name, schema in FTS_TABLES.items():
            if not self.db.table(name).exists():
                self.db.execute(schema)
                if name == "titles_fts":  # an index made before 0.5.0 has rows to add
                    self.db.conn.executemany(
                        "insert into titles_fts (rowid, title) values (?, ?)",
                        (
                            (rowid, index_tokens(title))
                            for rowid, title in self.db.execute("select rowid, title from articles")
                        ),
                    )
        feeds = self.db.table("feeds")
        if not feeds.exists():
            feeds.create(
                {
                    "name": str,
                    "url": str,
                    "last_polled": str,
                    "entries": int,
                    "newest_entry": str,
                },
                pk="name",
            )
        meta = self.db.table("meta")
        if not meta.exists():
            meta.create({"key": str, "value": str}, pk="key")
        runs = self.db.table("runs")
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
                    "duplicate": int,
                    "failed": int,
                    "deferred": int,
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
        with self.transaction():
            self.db.execute(
                "insert or replace into entry_urls (url, id) values (?, ?)", [url, post_id]
            )
            self.db.execute("delete from failures where url = ?", [url])

    def get_article(self, post_id: str) -> dict[str, Any] | None:
        """Return the ``articles`` row with ``post_id`` as a dict, or None."""
        rows = list(self.query("select * from articles where id = ?", [post_id]))
        return rows[0] if rows else None

    def upsert_article(
        self,
        row: dict[str, Any],
        *,
        text: str,
        previous: tuple[str, str] | None = None,
        now: str | None = None,
        tokens: tuple[str, str] | None = None,
    ) -> None:
        """Insert or replace the row for ``row['id']`` and its full-text entry.

        ``tokens`` gives the title's and the text's :func:`archive.fts.index_tokens` when the
        caller made them already (then ``text`` is not used).

        ``text`` is the post's plain text; ``previous`` the ``(title, text)`` the row was
        indexed with, needed to remove its old full-text entry when the row exists already
        (without it the FTS index is flagged dirty until the next reindex). ``first_seen`` is
        kept from an earlier row, ``last_fetched`` set to ``now`` (ISO 8601 UTC; default now).
        """
        now = now or utc_now()
        old = self.db.conn.execute(
            "select first_seen from articles where id = ?", [row["id"]]
        ).fetchone()
        full = dict(row)
        full["first_seen"] = (old[0] if old else "") or now
        full["last_fetched"] = now
        with self.transaction():
            columns = ", ".join(full)
            updates = ", ".join(f"{c} = excluded.{c}" for c in full if c != "id")
            self.db.execute(
                f"insert into articles ({columns}) values ({', '.join('?' * len(full))}) "
                f"on conflict(id) do update set {updates}",
                list(full.values()),
            )
            (rowid,) = self.db.execute(
                "select rowid from articles where id = ?", [row["id"]]
            ).fetchone()
            if old is not None:
                if previous is None:
                    self.set_meta("fts_dirty", "1")
                else:
                    self._fts_delete(rowid, *previous)
            if tokens is None:
                tokens = (index_tokens(row["title"]), index_tokens(text))
            self._fts_insert(rowid, tokens)
            self.db.execute("delete from failures where url = ?", [row["link"]])

    def add_rebuilt(self, row: dict[str, Any], tokens: tuple[str, str], now: str) -> None:
        """Insert or replace the row for ``row['id']`` and add its full-text entry, during a
        rebuild (after :meth:`reset_fts`, inside :meth:`batch`): the fast path of
        :meth:`upsert_article`, for an id not indexed yet in this rebuild. ``tokens`` are the
        title's and text's :func:`archive.fts.index_tokens`; ``first_seen`` and
        ``last_fetched`` are kept from an earlier row, else ``now`` (ISO 8601 UTC): a crawl
        refetches an article whose feed says it changed after ``last_fetched``. Call
        :meth:`clear_archived_failures` once at the end."""
        values = [*row.values(), now, now]
        if self._rebuild_sql is None or self._rebuild_sql[0] != tuple(row):
            columns = [*row, "first_seen", "last_fetched"]
            history = ("first_seen", "last_fetched")
            updates = [f"{c} = excluded.{c}" for c in columns if c not in ("id", *history)]
            updates += [f"{c} = coalesce(nullif(articles.{c}, ''), excluded.{c})" for c in history]
            sql = (
                f"insert into articles ({', '.join(columns)}) "
                f"values ({', '.join('?' * len(columns))}) on conflict(id) do update set "
                + ", ".join(updates)
            )
            self._rebuild_sql = (tuple(row), sql)
        conn = self.db.conn
        conn.execute(self._rebuild_sql[1], values)
        # (not ``returning rowid``: that made each insert into articles_fts 0.2 ms slower)
        (rowid,) = conn.execute("select rowid from articles where id = ?", [row["id"]]).fetchone()
        self._fts_insert(rowid, tokens)

    def clear_archived_failures(self) -> None:
        """Remove the failures of URLs that are now an article's link."""
        with self.transaction():
            self.db.execute("delete from failures where url in (select link from articles)")

    def touch(self, post_id: str, now: str | None = None) -> None:
        """Set ``last_fetched`` of ``post_id`` (ISO 8601 UTC; default now): fetched again,
        found unchanged."""
        with self.transaction():
            self.db.execute(
                "update articles set last_fetched = ? where id = ?", [now or utc_now(), post_id]
            )

    def fetch_times(self) -> dict[str, str]:
        """Return ``{id: last_fetched}`` of every article."""
        return dict(self.db.execute("select id, last_fetched from articles").fetchall())

    def url_ids(self) -> dict[str, str]:
        """Return ``{url: id}`` of every URL an article was requested at."""
        return dict(self.db.execute("select url, id from entry_urls").fetchall())

    def delete_article(self, post_id: str, *, previous: tuple[str, str] | None = None) -> None:
        """Remove the row of ``post_id``, its full-text entry (given ``previous``, else the FTS
        index is flagged dirty) and the URLs that led to it, so a crawl may fetch it again."""
        with self.transaction():
            found = self.db.execute("select rowid from articles where id = ?", [post_id]).fetchone()
            if found is None:
                return
            if previous is None:
                self.set_meta("fts_dirty", "1")
            else:
                self._fts_delete(found[0], *previous)
            self.db.execute("delete from articles where id = ?", [post_id])
            self.db.execute("delete from entry_urls where id = ?", [post_id])

    def forget_article(self, post_id: str) -> None:
        """Remove the row of ``post_id`` and the URLs that led to it, leaving the full-text
        index alone (for a rebuild, which made it anew)."""
        with self.transaction():
            self.db.execute("delete from articles where id = ?", [post_id])
            self.db.execute("delete from entry_urls where id = ?", [post_id])

    def _fts_insert(self, rowid: int, tokens: tuple[str, str]) -> None:
        conn = self.db.conn
        conn.execute(
            "insert into articles_fts (rowid, title, text) values (?, ?, ?)", [rowid, *tokens]
        )
        conn.execute("insert into titles_fts (rowid, title) values (?, ?)", [rowid, tokens[0]])

    def _fts_delete(self, rowid: int, title: str, text: str) -> None:
        title_tokens = index_tokens(title)
        self.db.execute(
            "insert into articles_fts (articles_fts, rowid, title, text) "
            "values ('delete', ?, ?, ?)",
            [rowid, title_tokens, index_tokens(text)],
        )
        self.db.execute(
            "insert into titles_fts (titles_fts, rowid, title) values ('delete', ?, ?)",
            [rowid, title_tokens],
        )

    def fts_current(self) -> bool:
        """Whether the full-text tables are those of :data:`FTS_TABLES` (False for an index
        made before 0.5.0: it works, and ``reindex`` makes it smaller and title-first)."""
        found = dict(
            self.db.execute(
                "select name, sql from sqlite_master where name in ('articles_fts', 'titles_fts')"
            ).fetchall()
        )
        return all(found.get(name, "").lower() == sql.lower() for name, sql in FTS_TABLES.items())

    def reset_fts(self) -> None:
        """Empty the full-text index (before a rebuild), in the form of :data:`FTS_TABLES`
        (the tables of an earlier form are made anew), and clear the dirty flag."""
        with self.transaction():
            for name, schema in FTS_TABLES.items():
                self.db.execute(f"drop table if exists {name}")
                self.db.execute(schema)
            self.db.execute("delete from meta where key = 'fts_dirty'")

    def article_ids(self) -> set[str]:
        """Return the ids of all rows of ``articles``."""
        return {post_id for (post_id,) in self.db.execute("select id from articles")}

    # -- meta --------------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        """Set a flag in the ``meta`` table."""
        self.db.execute("insert or replace into meta (key, value) values (?, ?)", [key, value])

    def get_meta(self, key: str) -> str | None:
        """Return a flag of the ``meta`` table, or None."""
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        texts: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None,
    ) -> list[dict[str, Any]]:
        """Return up to ``limit`` ``articles`` rows matching ``query`` (:mod:`archive.fts`
        rules): posts whose title holds the query first, then the others, each newest first;
        each row gets ``title_hit`` (0/1). Raises ValueError for a query with nothing to
        search for.

        When a term has several tokens, each candidate is confirmed on its title, then on its
        post's text: ``texts(row)`` gives the post's ``(title, text)`` (default: read from the
        post file under the index's folder, None when it cannot be read).
        """
        expression = match_expression(query)
        terms = phrase_terms(query)  # confirmed on the post; one-token terms are exact
        read = texts or self._post_texts
        with self._snapshot():
            return self._search(expression, terms, read, limit)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Run the block's reads in one read transaction (one state of the index, whatever a
        crawl commits meanwhile), unless the caller has a transaction open already."""
        if self.db.conn.in_transaction:
            yield
            return
        self.db.conn.execute("begin")
        try:
            yield
        finally:
            self.db.conn.execute("rollback")

    def _search(
        self,
        expression: str,
        terms: list[list[str]],
        read: Callable[[dict[str, Any]], tuple[str, str] | None],
        limit: int,
    ) -> list[dict[str, Any]]:
        title_hits = []
        if self.db.table("titles_fts").exists():  # (not in a read-only index before 0.5.0)
            title_hits = self._matching("titles_fts", expression, terms, None, limit, set())
        shown = {row["rowid"] for row in title_hits}
        rows = title_hits
        if len(rows) < limit:  # a full page of title hits needs no search of the texts
            rows += self._matching(
                "articles_fts", expression, terms, read, limit - len(rows), shown
            )
        return [
            {
                **{k: v for k, v in row.items() if k != "rowid"},
                "title_hit": int(row["rowid"] in shown),
            }
            for row in rows
        ]

    def _matching(
        self,
        table: str,
        expression: str,
        terms: list[list[str]],
        read: Callable[[dict[str, Any]], tuple[str, str] | None] | None,
        limit: int,
        exclude: set[int],
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` ``articles`` rows (with ``rowid``) matching ``expression`` in the
        full-text ``table``, newest first, leaving out ``exclude``; with ``terms``, only rows
        holding every term as a phrase in their title or, given ``read``, in their text."""
        ordered = (
            "select rowid, * from articles where rowid in "
            f"(select rowid from {table} where {table} match ?) "
            "order by date desc, rowid desc"
        )
        if not terms:  # every match is a hit: one page
            page = self.query(ordered + " limit ?", [expression, limit + len(exclude)])
            return [row for row in page if row["rowid"] not in exclude][:limit]
        # Confirming: one statement (one snapshot of the index), read until enough rows hold
        # every term; each row read costs its post's text.
        found: list[dict[str, Any]] = []
        for row in self.query(ordered, [expression]):
            if row["rowid"] not in exclude and self._holds(row, terms, read):
                found.append(row)
                if len(found) == limit:
                    break
        return found

    @staticmethod
    def _holds(
        row: dict[str, Any],
        terms: list[list[str]],
        read: Callable[[dict[str, Any]], tuple[str, str] | None] | None,
    ) -> bool:
        """Whether every term is a phrase of the row's title or (with ``read``) its text."""
        title = index_tokens(row["title"])
        missing = [term for term in terms if not term_found(term, title)]
        if missing and read is not None:
            texts = read(row)
            body = index_tokens(texts[1]) if texts else ""
            missing = [term for term in missing if not term_found(term, body)]
        return not missing

    def _post_texts(self, row: dict[str, Any]) -> tuple[str, str] | None:
        """The ``(title, text)`` of the post of ``row``, read from its file; None when it
        cannot be read."""
        try:
            post = read_post(resolve_inside(self.path.parent, row["path"]))
        except ArchiveError:
            return None
        return post.title, post.text

    def query(self, sql: str, params: Any = ()) -> Iterable[dict[str, Any]]:
        """Yield the rows of a read-only SQL query as dicts (``params`` a list or a dict)."""
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for values in cursor:
            yield dict(zip(names, values, strict=True))

    def count_articles(self) -> int:
        """Return the number of rows in ``articles``."""
        return self.db.table("articles").count

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
        with self.transaction():
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
        return list(self.db.table("failures").rows_where(order_by="last_try desc"))

    def record_feed(self, name: str, url: str, *, entries: int, newest: str = "") -> None:
        """Remember a feed read without error (``newest`` ISO 8601 UTC, or ``""``) and forget
        its earlier failure, if any."""
        with self.transaction():
            self.db.table("feeds").upsert(
                {
                    "name": name,
                    "url": url,
                    "last_polled": utc_now(),
                    "entries": entries,
                    "newest_entry": newest,
                },
                pk="name",
            )
            self.db.execute("delete from failures where url = ?", [url])

    # -- runs --------------------------------------------------------------------------------

    def record_run(self, run: dict[str, Any]) -> None:
        """Append one row to ``runs`` (keys as the table's columns, ``id`` left out)."""
        with self.transaction():
            self.db.table("runs").insert(run, alter=True)

    def rows(self, table: str) -> Iterable[dict[str, Any]]:
        """Yield every row of ``table`` (for tests and tools)."""
        return self.db.table(table).rows
