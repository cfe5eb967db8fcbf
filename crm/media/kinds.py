"""Which WhatsApp message type a file is sent as, and WhatsApp's size limit for it."""

from __future__ import annotations

import mimetypes

MB = 1024 * 1024

#: WhatsApp's limits for sending, by message type.
LIMITS = {"image": 5 * MB, "audio": 16 * MB, "video": 16 * MB, "document": 100 * MB,
          "sticker": 500 * 1024}
#: The largest file any type allows (the upload route's body limit follows it).
LARGEST = max(LIMITS.values())

IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
AUDIO_TYPES = frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"})
VIDEO_TYPES = frozenset({"video/mp4", "video/3gpp"})

#: Types a browser may show inline from ``/media/<id>``: never HTML, SVG or XML.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}
                         | AUDIO_TYPES | VIDEO_TYPES | {"audio/webm", "video/webm"})

#: Words in a type that a browser might run or render as a page.
_ACTIVE = ("html", "xml", "script", "svg")

_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}


def mime_of(declared: str | None, filename: str | None) -> str:
    """The declared type (parameters dropped), else a guess from the name."""
    mime = (declared or "").split(";", 1)[0].strip().lower()
    if not mime or mime == "application/octet-stream":
        guessed = mimetypes.guess_type(filename or "")[0]
        mime = guessed or mime or "application/octet-stream"
    return mime


def served_type(mime: str) -> str:
    """The Content-Type ``/media/<id>`` answers with: the stored one unless a browser
    might run it."""
    lowered = mime.lower()
    if lowered.startswith("text/") and lowered != "text/plain" or any(
            word in lowered for word in _ACTIVE):
        return "application/octet-stream"
    return lowered


def kind_of(mime: str, head: bytes) -> str:
    """``image``, ``audio``, ``video`` or ``document``.

    An "image" whose bytes are not a JPEG or PNG goes as a document: WhatsApp would
    refuse it as an image, and we must not serve it inline as one.
    """
    if mime in IMAGE_TYPES:
        return "image" if head.startswith(_MAGIC[mime]) else "document"
    if mime in AUDIO_TYPES:
        return "audio"
    if mime in VIDEO_TYPES:
        return "video"
    return "document"


def clean_filename(name: object) -> str | None:
    """A file name safe to keep and to put in a header: its last path part, printable
    characters only (no CR, LF or other controls), no quotes or angle brackets, at most
    200 characters. The same rule for an agent's upload and a customer's file."""
    if not isinstance(name, str):
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>')[:200].strip()
    return name or None
