"""Where a query matched, as character offsets into the original text.

The index knows that a message matched but not where in the text the agent reads
(its tokens are folded, and CJK runs are bigrams), so the offsets are found again here
on the original string: each character folded as the tokenizer folds it (case,
accents), mapped back to its index. Offsets count Unicode code points.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from crm.search.query import Query, Term
from crm.search.text import CJK_RANGES, CJK_RUN

#: A letter or digit that is not CJK: what a word must not touch on either side.
_WORDISH = f"[^\\W_{CJK_RANGES}]"
_BEFORE = f"(?<!{_WORDISH})"
_AFTER = f"(?!{_WORDISH})"


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char)
                   if not unicodedata.combining(c))
    return base.casefold()


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded, and for each folded character the index it came from (None
    when every character folds to exactly one: the indexes are the same)."""
    if text.isascii():
        return text.lower(), None
    parts = [_fold_char(char) for char in text]
    folded = "".join(parts)
    if len(folded) == len(text) and all(len(part) == 1 for part in parts):
        return folded, None
    origin: list[int] = []
    for index, part in enumerate(parts):
        origin.extend([index] * len(part))
    return folded, origin


def _piece(piece: str) -> str:
    folded = re.escape(fold(piece)[0])
    return folded if CJK_RUN.fullmatch(piece) else _BEFORE + folded + _AFTER


@lru_cache(maxsize=256)
def _pattern(term: Term) -> re.Pattern[str]:
    if term.number:
        return re.compile(r"[\s\-.()+]*".join(re.escape(d) for d in term.pieces[0]))
    return re.compile(r"[\W_]*".join(_piece(p) for p in term.pieces))


def spans(text: str | None, query: Query) -> list[list[int]]:
    """``[start, end)`` of every match of every term, sorted, overlaps merged."""
    if not text:
        return []
    folded, origin = fold(text)
    found: list[tuple[int, int]] = []
    for term in query.terms:
        for match in _pattern(term).finditer(folded):
            if match.end() <= match.start():
                continue
            if origin is None:
                found.append((match.start(), match.end()))
            else:
                found.append((origin[match.start()], origin[match.end() - 1] + 1))
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
