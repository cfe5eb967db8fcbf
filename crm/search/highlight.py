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


def _fold_char(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char)
                   if not unicodedata.combining(c))
    return base.casefold()


def fold(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the index it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


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
            if match.end() > match.start():
                found.append((origin[match.start()], origin[match.end() - 1] + 1))
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
