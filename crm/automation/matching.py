"""Does a customer's text contain a keyword? Whole words, any language.

Text and keywords are compared case- and accent-insensitively (``Preço`` matches
``preco``, ``STRASSE`` matches ``straße``). A keyword must stand as a whole word where
its script separates words with spaces (``price`` is not found in ``priceless``); in
scripts written without spaces (Chinese, Japanese, Thai, ...) there is no word edge to
see, so a keyword such as ``价格`` is found anywhere in ``请问价格多少``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

#: Scripts written without spaces between words: a keyword's edge in one of these
#: needs no word boundary.
_UNSPACED = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN",
             "IDEOGRAPHIC", "HALFWIDTH KATAKANA", "YI ")


def fold(text: str) -> str:
    """Lower case, no accents, compatibility forms unified (full-width ``ＡＢＣ`` too)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED)


@lru_cache(maxsize=1024)
def _pattern(keyword: str) -> re.Pattern[str]:
    word = fold(keyword.strip())
    body = r"\s+".join(re.escape(part) for part in word.split())
    left = "" if _unspaced(word[0]) or not word[0].isalnum() else r"(?<!\w)"
    right = "" if _unspaced(word[-1]) or not word[-1].isalnum() else r"(?!\w)"
    return re.compile(left + body + right)


def has_keyword(text: str | None, keywords: Iterable[str]) -> bool:
    if not text:
        return False
    folded = fold(text)
    return any(k.strip() and _pattern(k).search(folded) for k in keywords)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def matches(text: str | None, pattern: str) -> bool:
    """An admin's regular expression, case-insensitive, anywhere in the text."""
    return bool(text) and _regex(pattern).search(text or "") is not None
