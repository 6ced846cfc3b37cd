"""Datasette plugin: make Datasette's search box use the archive's Chinese FTS rules.

Datasette finds ``articles_fts`` by itself (it is declared ``content=[articles]``, as
sqlite-utils' ``enable_fts`` does) and searches with ``match escape_fts(:search)``. A word of
two Chinese characters is one token of the index, so it works as it is; for longer words and
mixed queries (央行宣布降准, A股, 0.5个百分点) this plugin replaces ``escape_fts`` with
:func:`archive.fts.match_expression`. Queries whose terms are one token each then find exactly
what ``sina-archive search`` finds; for longer terms Datasette finds the posts holding all of
their bigrams, which may be apart (the index keeps no positions, and only ``sina-archive
search`` confirms the phrase on the post's text). Installed with the package (entry point
``datasette``); Datasette itself is not a dependency.
https://docs.datasette.io/en/stable/plugin_hooks.html
"""

from __future__ import annotations

from datasette import hookimpl

from archive.fts import match_expression


def escape_fts(query: str) -> str:
    """Datasette's ``escape_fts(query)``, in the archive's bigram tokens; a query with nothing
    to search for matches nothing."""
    try:
        return match_expression(query)
    except ValueError:
        return '""'


@hookimpl(trylast=True)
def prepare_connection(conn) -> None:  # type: ignore[no-untyped-def]
    """Register :func:`escape_fts` on every connection Datasette opens (all its databases)."""
    # trylast: runs after Datasette's own prepare_connection, so this escape_fts wins.
    conn.create_function("escape_fts", 1, escape_fts)
