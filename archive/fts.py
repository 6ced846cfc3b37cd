"""Chinese full-text search on SQLite FTS5 without a custom tokenizer: overlapping bigrams.

SQLite's ``unicode61`` tokenizer keeps a run of Han characters as one token, so "降准" would
only match a text whose whole run is "降准"; the ``trigram`` tokenizer needs three characters.
Instead, text is indexed as *tokens* that ``unicode61`` then keeps as they are:

- every run of Han characters ``c1 c2 … cn`` becomes ``c1  c1c2  c2c3 … c(n-1)cn  cn``: its
  overlapping bigrams, with its first and last character as unigrams (a run of one character is
  just that character);
- everything else is left to ``unicode61`` (words of letters and digits, case folded).

A query is turned into the same tokens, as an FTS5 phrase per whitespace-separated term (all
terms must match). Inside a term, a Han run takes its edge unigram only where the term puts
something next to it, so "降准" matches in the middle of "央行宣布降准" and "A股" matches
"A股市场". Both sides are NFKC-normalised (full-width "５Ｇ" is "5G").

Two-character words, the common case in Chinese, are then single tokens: an FTS5 client that
knows nothing of this scheme (Datasette, the sqlite3 shell) finds them with a plain MATCH.
"""

from __future__ import annotations

import re
import unicodedata

_HAN = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002a6df\U0002a700-\U0002ebef\U00030000-\U0003134f"
)
_SPLIT = re.compile(f"([{_HAN}]+)")
_IS_HAN = re.compile(f"^[{_HAN}]+$")
_WORD = re.compile(r"\w", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC-normalise and case-fold ``text`` (the form both index and queries use)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _run_tokens(run: str, *, lead: bool, trail: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    tokens = [run[0]] if lead else []
    tokens += [run[i : i + 2] for i in range(len(run) - 1)]
    if trail:
        tokens.append(run[-1])
    return tokens


def index_tokens(text: str) -> str:
    """Return ``text`` as the token string to store in the FTS table (tokens separated by
    spaces; Han runs as edge unigrams plus bigrams)."""
    out: list[str] = []
    for piece in _SPLIT.split(normalize(text)):
        if not piece:
            continue
        if _IS_HAN.match(piece):
            out.extend(_run_tokens(piece, lead=True, trail=True))
        else:
            out.append(piece)
    return " ".join(out)


def _term_tokens(term: str) -> list[str]:
    pieces = [p for p in _SPLIT.split(term) if p]
    tokens: list[str] = []
    for number, piece in enumerate(pieces):
        if not _IS_HAN.match(piece):
            tokens.append(piece)
            continue
        # The index gives every run its edge unigrams, so a run edge inside the term (next to
        # letters or digits, or to punctuation before more of the term) must be matched by
        # that unigram; punctuation at the term's own edge ("芯片*") is not part of the match.
        lead = any(_WORD.search(p) for p in pieces[:number])
        trail = any(_WORD.search(p) for p in pieces[number + 1 :])
        tokens.extend(_run_tokens(piece, lead=lead, trail=trail))
    return tokens


def match_expression(query: str) -> str:
    """Turn a user's query into an FTS5 MATCH expression over :func:`index_tokens` text.

    Terms (split on white space) must all match, each as a phrase; a lone Han character
    matches as a prefix. Raises ValueError when the query has nothing to search for.
    """
    phrases = []
    for term in normalize(query).split():
        tokens = [t.replace('"', " ").strip() for t in _term_tokens(term)]
        tokens = [t for t in tokens if _WORD.search(t)]
        if not tokens:
            continue
        phrase = '"' + " ".join(tokens) + '"'
        if len(tokens) == 1 and _IS_HAN.match(tokens[0]) and len(tokens[0]) == 1:
            phrase += " *"
        phrases.append(phrase)
    if not phrases:
        raise ValueError(f"nothing to search for in {query!r}")
    return " AND ".join(phrases)


def query_terms(query: str) -> list[str]:
    """Return the normalised terms of a query (for highlighting snippets)."""
    return [t for t in normalize(query).split() if _WORD.search(t)]
