"""``@name`` in a note: a mention of that agent, when one exists by that name."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: An ``@`` not inside a word or an e-mail address, then an agent name's characters.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9][a-z0-9._-]{0,31})", re.IGNORECASE)


def mentions(text: str, agents: Iterable[str]) -> list[str]:
    """The agents the text names, in order of first mention, each once. A name's
    trailing dots or dashes ("thanks @ana.") are punctuation, not part of it."""
    known = set(agents)
    found: list[str] = []
    for match in MENTION.finditer(text):
        name = match.group(1).lower().rstrip(".-")
        if name in known and name not in found:
            found.append(name)
    return found
