"""An agent's query as an FTS5 match expression, and as the patterns to highlight.

Words match in any order (all of them must be there), ``"an exact phrase"`` matches
those words in a row, and CJK text matches as a substring (see ``crm.search.text``).
A query of one character is refused: it would match half the log and say nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crm.search.text import CJK_RANGES, CJK_RUN, chat_token

#: The index's columns of text (``chat`` is the chat's token, searched apart).
TEXT_COLUMNS = ("body", "edits", "file", "other")
MIN_LENGTH = 2
MAX_LENGTH = 200
#: What ``unicode61`` keeps in a token: letters and digits (CJK runs are cut apart).
WORD = re.compile(f"[{CJK_RANGES}]+|[^\\W_{CJK_RANGES}]+")
_PHRASE = re.compile(r'"([^"]*)"?')
_NUMBER_LIKE = frozenset("0123456789+-(). /")


class QueryRefused(ValueError):
    """The query cannot be searched (too short, or too long)."""


@dataclass(frozen=True)
class Term:
    """One thing that must match: a word, a CJK substring, a phrase (its pieces in a
    row), or a number as people type one (its digits, separators between allowed)."""

    pieces: tuple[str, ...]
    number: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        return not self.terms

    def match(self, chat: str | None = None) -> str:
        """The FTS5 expression: every term (implicit AND) in the text columns, and the
        chat's token when ``chat`` is given."""
        terms = " ".join(_expression(term) for term in self.terms)
        found = f"{{{' '.join(TEXT_COLUMNS)}}} : ({terms})"
        return f'{found} AND chat : "{chat_token(chat)}"' if chat else found


def parse(raw: str) -> Query:
    text = unicodedata.normalize("NFC", raw or "").strip()
    if len(text) < MIN_LENGTH:
        raise QueryRefused(f"a search needs at least {MIN_LENGTH} characters")
    if len(text) > MAX_LENGTH:
        raise QueryRefused(f"a search has at most {MAX_LENGTH} characters")
    if set(text) <= _NUMBER_LIKE:
        digits = "".join(c for c in text if c.isdigit())
        if text.startswith("00"):
            digits = digits[2:]
        if len(digits) >= 3:
            return Query((Term((digits,), number=True),))
    terms: list[Term] = []
    rest = []
    position = 0
    for found in _PHRASE.finditer(text):
        rest.append(text[position:found.start()])
        position = found.end()
        pieces = tuple(WORD.findall(found.group(1).lower()))
        if pieces:
            terms.append(Term(pieces))
    rest.append(text[position:])
    for chunk in rest:
        terms.extend(Term((piece,)) for piece in WORD.findall(chunk.lower()))
    return Query(tuple(dict.fromkeys(terms)))


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _tokens(piece: str, last: bool) -> tuple[list[str], bool]:
    """The index tokens a piece stands for in a phrase, and whether its last token is a
    prefix. A CJK run is its bigrams; followed by more of the phrase, also its last
    character (the index keeps one after every run)."""
    if not CJK_RUN.fullmatch(piece):
        return [piece], False
    if len(piece) == 1:
        return [piece], last
    grams = [piece[i:i + 2] for i in range(len(piece) - 1)]
    return (grams, False) if last else (grams + [piece[-1]], False)


def _expression(term: Term) -> str:
    tokens: list[str] = []
    prefix = False
    for index, piece in enumerate(term.pieces):
        found, prefix = _tokens(piece, index == len(term.pieces) - 1)
        tokens.extend(found)
    return _quote(" ".join(tokens)) + (" *" if prefix else "")
