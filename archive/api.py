"""The Python API for reading an archive: :class:`Archive`.

Example::

    from datetime import datetime, timezone
    from archive import Archive

    news = Archive("data")
    for post in news.posts(since=datetime(2026, 9, 1, tzinfo=timezone.utc), source="新京报"):
        print(post.date, post.title, post.link)
    hit = news.search("降准")[0]
    print(hit.post.text, hit.snippet)
    same = news.get("initmeav9622448")  # or news.get("https://finance.sina.com.cn/...shtml")
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archive.errors import ArchiveError
from archive.fts import normalize, query_terms
from archive.index import Index, iso_utc
from archive.paths import BEIJING, resolve_inside
from archive.post import Post
from archive.reader import read_post
from archive.versions import Version, list_versions

logger = logging.getLogger(__name__)

#: Characters of context on each side of a match in a search snippet.
SNIPPET_CONTEXT = 15


class PostNotFound(ArchiveError, KeyError):
    """No post has the id or link asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class SearchHit:
    """One search result: the post, whether its title holds the query, and a snippet of plain
    text around the first match."""

    post: Post
    title_hit: bool
    snippet: str


class Archive:
    """An archive on disk (``<root>/posts`` and ``<root>/index.db``), read through its index.

    Raises ArchiveError when ``root`` holds no archive. Posts whose file is missing or broken
    are logged and skipped by the iterators (``sina-archive check`` reports them).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        if not (self.root / "index.db").is_file():
            raise ArchiveError(
                f"no archive at {self.root}: index.db is missing "
                "(crawl first, or `sina-archive reindex` if only the posts are there)"
            )
        self.index = Index.for_root(self.root, readonly=True)

    def close(self) -> None:
        """Close the index."""
        self.index.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rows -----------------------------------------------------------------------------------

    def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        feed: str | None = None,
        category: str | None = None,
        source: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return ``articles`` rows, newest first, filtered like :meth:`posts`."""
        where, params = [], []
        if since is not None:
            where.append("date >= ?")
            params.append(iso_utc(_aware(since, "since")))
        if until is not None:
            where.append("date < ?")
            params.append(iso_utc(_aware(until, "until")))
        for column, value in (("feed", feed), ("source", source)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        for column, value in (("categories", category), ("tags", tag)):
            if value is not None:
                where.append(f"exists (select 1 from json_each({column}) where value = ?)")
                params.append(value)
        sql = "select * from articles"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by date desc, id"
        if limit is not None:
            sql += f" limit {int(limit)}"
        return list(self.index.query(sql, params))

    def posts(self, **filters: Any) -> Iterator[Post]:
        """Yield posts newest first.

        Filters (all optional): ``since``/``until`` (aware datetimes; ``until`` exclusive),
        ``feed``, ``category``, ``source``, ``tag`` (exact values), ``limit``.
        Raises ValueError for a naive datetime.
        """
        for row in self.rows(**filters):
            post = self._load(row)
            if post is not None:
                yield post

    def _load(self, row: dict[str, Any]) -> Post | None:
        try:
            return read_post(resolve_inside(self.root, row["path"]))
        except ArchiveError as exc:
            logger.warning("skipping %s: %s", row["path"], exc)
            return None

    def get(self, key: str, *, version: int | None = None) -> Post:
        """Return the post whose id or link is ``key``; raise PostNotFound otherwise.

        ``version`` picks an earlier version (1 = the oldest, as :meth:`versions` lists them)
        instead of the current post; PostNotFound when there is no such version.
        """
        found = []
        for candidate in _link_variants(key):
            found = list(
                self.index.db.execute(
                    "select id, path from articles where id = ? or link = ? limit 1",
                    [candidate, candidate],
                )
            )
            if found:
                break
        if not found:
            raise PostNotFound(f"no post with id or link {key!r} in {self.root}")
        post_id, path = found[0]
        if version is None:
            return read_post(resolve_inside(self.root, path))
        versions = list_versions(self.root, post_id)
        if not 1 <= version <= len(versions):
            raise PostNotFound(
                f"post {post_id} has {len(versions)} earlier versions, not a version {version}"
            )
        return read_post(resolve_inside(self.root, versions[version - 1].relpath))

    def versions(self, key: str) -> list[Version]:
        """Return the earlier versions of the post with id or link ``key``, oldest first
        (numbered from 1 for :meth:`get`); PostNotFound when there is no such post."""
        found = self.index.db.execute(
            "select id from articles where id = ? or link = ? limit 1", [key, key]
        ).fetchone()
        if found is None:
            raise PostNotFound(f"no post with id or link {key!r} in {self.root}")
        return list_versions(self.root, found[0])

    # -- search and stats -----------------------------------------------------------------------

    def search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Return the posts matching ``query``: those whose title holds it first, then the
        others, each newest first.

        A query of two or more Chinese characters finds every post whose title or text holds
        it; several terms separated by spaces must all match (:mod:`archive.fts`). Raises
        ValueError when the query has nothing to search for.
        """
        loaded: dict[str, Post | None] = {}

        def load(row: dict[str, Any]) -> Post | None:
            if row["path"] not in loaded:
                loaded[row["path"]] = self._load(row)
            return loaded[row["path"]]

        def texts(row: dict[str, Any]) -> tuple[str, str] | None:
            post = load(row)
            return (post.title, post.text) if post is not None else None

        hits = []
        for row in self.index.search(query, limit=limit, texts=texts):
            post = load(row)
            if post is not None:
                hits.append(SearchHit(post, bool(row["title_hit"]), snippet(post, query)))
        return hits

    def stats(self) -> dict[str, list[tuple[str, int]]]:
        """Return post counts by day (Beijing date, newest first), by feed and by source
        (largest first): ``{"day": [(YYYY-MM-DD, n), …], "feed": […], "source": […]}``."""
        days: Counter[str] = Counter()
        feeds: Counter[str] = Counter()
        sources: Counter[str] = Counter()
        for date, feed, source in self.index.db.execute("select date, feed, source from articles"):
            days[datetime.fromisoformat(date).astimezone(BEIJING).strftime("%Y-%m-%d")] += 1
            feeds[feed or ""] += 1
            sources[source or ""] += 1
        return {
            "day": sorted(days.items(), reverse=True),
            "feed": feeds.most_common(),
            "source": sources.most_common(),
        }


def _link_variants(key: str) -> list[str]:
    """``key`` as given, then as the archive writes links: no fragment or query, https."""
    variants = [key.strip()]
    bare = variants[0].split("#", 1)[0].split("?", 1)[0]
    variants.append(bare)
    if bare.startswith("http://"):
        variants.append("https://" + bare[len("http://") :])
    return list(dict.fromkeys(variants))


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def snippet(post: Post, query: str, context: int = SNIPPET_CONTEXT) -> str:
    """Return the text around the first match of a query term in the post's text (or its
    title), the match in [brackets] and ``…`` where text was cut."""
    text = post.text.replace("\n", " ")
    folded = normalize(text)
    if len(folded) != len(text):  # NFKC changed lengths: positions would not line up
        folded = text.casefold() if len(text.casefold()) == len(text) else text
    best: tuple[int, int] | None = None
    for term in query_terms(query):
        position = folded.find(term)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, len(term))
    if best is None:
        return text[: 2 * context] + ("…" if len(text) > 2 * context else "")
    start, length = best
    left = max(0, start - context)
    right = min(len(text), start + length + context)
    return (
        ("…" if left > 0 else "")
        + text[left:start].lstrip()
        + "["
        + text[start : start + length]
        + "]"
        + text[start + length : right]
        + ("…" if right < len(text) else "")
    )
