"""Chinese full-text search on SQLite FTS5 without a custom tokenizer: overlapping bigrams.

SQLite's ``unicode61`` tokenizer keeps a run of Han characters as one token, so "降准" would
only match a text whose whole run is "降准"; the ``trigram`` tokenizer needs three characters.
Instead, text is indexed as a string of *tokens* separated by spaces, which FTS5's ``ascii``
tokenizer keeps as they are (https://www.sqlite.org/fts5.html#ascii_tokenizer):

- every run of Han characters ``c1 c2 … cn`` becomes ``c1  c1c2  c2c3 … c(n-1)cn  cn``: its
  overlapping bigrams, with its first and last character as unigrams (a run of one character is
  just that character);
- everything else becomes its words of letters and digits (punctuation and ``_`` separate).

Both sides are NFKC-normalised and case-folded (full-width "５Ｇ" is "5g").

The index stores which tokens each row holds, not where (``detail=none``: about a fifth of the
size of a positional index), so FTS5 cannot match phrases. A query term becomes the AND of
its tokens (:func:`match_expression`), and a term of more than one token is then confirmed on
the post's own title and text (:func:`term_found`): its tokens must follow one another there,
as a phrase would. Inside a term, a Han run takes its edge unigram only where the term puts
something next to it, so "降准" matches in the middle of "央行宣布降准" and "A股" matches
"A股市场".

Two-character words, the common case in Chinese, are single tokens: an FTS5 client that knows
nothing of this scheme (Datasette, the sqlite3 shell) finds them with a plain MATCH, exactly.
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
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what one non-Han token is made of


_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


def _half_width(match: re.Match[str]) -> str:
    code = ord(match.group())
    return " " if code == 0x3000 else chr(code - 0xFEE0)


def normalize(text: str) -> str:
    """NFKC-normalise and case-fold ``text`` (the form both index and queries use)."""
    # Chinese text is seldom NFKC only for its full-width punctuation, letters and digits
    # (U+FF01-FF5E, and U+3000), whose NFKC form is their ASCII twin: replacing them first
    # and checking lets most texts skip the full normalisation (ten times slower).
    text = _FULL_WIDTH.sub(_half_width, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


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
    single spaces; Han runs as edge unigrams plus bigrams, other words as they are)."""
    out: list[str] = []
    for piece in _SPLIT.split(normalize(text)):
        if not piece:
            continue
        if _IS_HAN.match(piece):
            out.extend(_run_tokens(piece, lead=True, trail=True))
        else:
            out.extend(_WORD.findall(piece))
    return " ".join(out)


def _term_tokens(term: str) -> list[str]:
    pieces = [p for p in _SPLIT.split(term) if p]
    tokens: list[str] = []
    for number, piece in enumerate(pieces):
        if not _IS_HAN.match(piece):
            tokens.extend(_WORD.findall(piece))
            continue
        # The index gives every run its edge unigrams, so a run edge inside the term (next to
        # letters or digits, or to punctuation before more of the term) must be matched by
        # that unigram; punctuation at the term's own edge ("芯片*") is not part of the match.
        lead = any(_WORD.search(p) for p in pieces[:number])
        trail = any(_WORD.search(p) for p in pieces[number + 1 :])
        tokens.extend(_run_tokens(piece, lead=lead, trail=trail))
    return tokens


def query_tokens(query: str) -> list[list[str]]:
    """Return the tokens of each term of ``query`` (terms are split on white space; terms
    with no letter or digit are left out)."""
    return [tokens for term in normalize(query).split() if (tokens := _term_tokens(term))]


def match_expression(query: str) -> str:
    """Turn a user's query into an FTS5 MATCH expression over :func:`index_tokens` text: the
    AND of every token of every term. A lone Han character matches as a prefix.

    The expression finds a superset of the rows that hold each term as a phrase: confirm
    the :func:`phrase_terms` with :func:`term_found`. Raises ValueError when the
    query has nothing to search for.
    """
    parts = []
    for tokens in query_tokens(query):
        if len(tokens) == 1 and len(tokens[0]) == 1 and _IS_HAN.match(tokens[0]):
            parts.append(f'"{tokens[0]}" *')
        else:
            parts.extend(f'"{token}"' for token in tokens)
    if not parts:
        raise ValueError(f"nothing to search for in {query!r}")
    return " AND ".join(parts)


def phrase_terms(query: str) -> list[list[str]]:
    """Return the tokens of the terms of ``query`` that have more than one token: those a row
    matching :func:`match_expression` may still not hold as a phrase (confirm them with
    :func:`term_found`); one-token terms are exact in the index."""
    return [tokens for tokens in query_tokens(query) if len(tokens) > 1]


def term_found(tokens: list[str], indexed: str) -> bool:
    """Whether ``tokens`` (one term's, from :func:`query_tokens`) follow one another in
    ``indexed``, a text's :func:`index_tokens` string: a phrase match."""
    return f" {' '.join(tokens)} " in f" {indexed} "


_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def query_terms(query: str) -> list[str]:
    """Return the normalised terms of a query without punctuation at their edges (for
    highlighting snippets: ``"芯片*`` is highlighted as ``芯片``)."""
    return [_EDGES.sub("", t) for t in normalize(query).split() if _WORD.search(t)]
