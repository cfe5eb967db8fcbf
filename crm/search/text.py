"""Text as the index holds it.

SQLite's ``unicode61`` tokenizer splits on spaces and punctuation, folds case and,
with ``remove_diacritics 2``, accents (``café`` is ``cafe``, ``informação`` is
``informacao``). Chinese, Japanese and Korean are not written with spaces, so a run of
their characters would be one long token that no shorter query matches. Each such run
is therefore stored as its overlapping bigrams followed by its last character
(``獨木舟嗎`` becomes ``獨木 木舟 舟嗎 嗎``): any substring of two or more characters is
then a phrase of consecutive bigrams, and a single character is a prefix of a token.
"""

from __future__ import annotations

import re

#: Han (with extensions and compatibility ideographs), kana, Hangul syllables and jamo.
CJK_RANGES = ("\u1100-\u11ff\u3040-\u309f\u30a0-\u30ff\u3130-\u318f\u31f0-\u31ff"
              "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
              "\U00020000-\U0002fa1f")
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")


def is_cjk(char: str) -> bool:
    return CJK_RUN.fullmatch(char) is not None


def bigrams(run: str) -> list[str]:
    """The tokens of one run of CJK characters: its bigrams, then its last character."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def prepare(text: str | None) -> str:
    """``text`` with each CJK run replaced by its tokens, space separated (the rest is
    left to the tokenizer)."""
    if not text:
        return ""
    return CJK_RUN.sub(lambda m: " " + " ".join(bigrams(m.group())) + " ", text).strip()


def prepare_all(parts: list[str | None]) -> str:
    """Several strings in one column, one per line (a phrase may span two of them:
    they are short, and the highlights then simply find nothing)."""
    return "\n".join(p for p in (prepare(part) for part in parts) if p)


def chat_token(chat: str) -> str:
    """A chat key as one token of the index (a key may hold dots or letters the
    tokenizer would split on): ``k`` and its UTF-8 in hex."""
    return "k" + chat.encode().hex()
