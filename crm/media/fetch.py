"""Fetching a customer's file from Meta: ``GET /{media-id}``, then the file, checked.

Meta's download URL lives five minutes; the media id seven days. A URL that answers
404/401/403 has expired (or was never ours to keep): a fresh one is asked for through
the media id, once per attempt. The bytes are streamed and cut off at WhatsApp's
limit for the message type, then checked against the size and SHA-256 Meta gave
(hex in ``GET /{media-id}``, base64 in webhooks: both are accepted).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import httpx

from crm.media.kinds import LIMITS, MB, clean_filename, mime_of
from crm.media.store import digest
from crm.whatsapp.errors import GraphError, from_response

#: Inbound files of a type without a limit of its own (Meta delivers up to 100 MB).
DEFAULT_LIMIT = 100 * MB
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class FetchError(Exception):
    """This attempt failed; ``permanent`` when no later attempt can do better."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class _Expired(Exception):
    """The download URL no longer works."""


@dataclass(frozen=True)
class Fetched:
    content: bytes
    mime_type: str
    sha256: str
    filename: str | None


def sha256_hex(value: Any) -> str | None:
    """Meta's digest as lowercase hex, from hex or base64; None if it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _HEX.match(text):
        return text.lower()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_"
                               if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def limit_for(kind: str) -> int:
    return LIMITS.get(kind, DEFAULT_LIMIT)


def too_big(kind: str, size: int) -> str:
    limit = limit_for(kind)
    return (f"the {kind} is {size / MB:.1f} MB; WhatsApp allows at most "
            f"{_size(limit)} for {'an' if kind[0] in 'aeiou' else 'a'} {kind}")


def _size(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n // 1024} KB"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


async def _download(http: httpx.AsyncClient, url: str, kind: str) -> bytes:
    limit = limit_for(kind)
    try:
        async with http.stream("GET", url) as response:
            if response.status_code in (401, 403, 404):
                raise _Expired()
            if response.status_code >= 400:
                await response.aread()
                try:
                    body = response.json()
                except ValueError:
                    body = None
                error = from_response(response.status_code, body)
                raise FetchError(f"download failed: {error}",
                                 permanent=not error.transient and response.status_code < 500)
            declared = _int(response.headers.get("Content-Length"))
            if declared is not None and declared > limit:
                raise FetchError(too_big(kind, declared), permanent=True)
            chunks, total = [], 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise FetchError(too_big(kind, total), permanent=True)
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"download failed: network error ({exc.__class__.__name__})") from None


async def _info(graph: Any, media_id: str) -> dict[str, Any]:
    try:
        info = await graph.media_info(media_id)
    except GraphError as exc:
        # An unknown or expired id is final; an expired token or a busy Meta is not.
        permanent = not exc.transient and not exc.account_level and exc.code is not None
        raise FetchError(f"GET /{media_id} failed: {exc}", permanent=permanent) from None
    if not isinstance(info.get("url"), str) or not info["url"]:
        raise FetchError(f"GET /{media_id} gave no download URL")
    return info


#: Hosts a webhook's own media ``url`` may point at: our token goes with the request.
META_HOSTS = ("fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net")


def trusted_url(graph: Any, url: Any) -> str | None:
    """The webhook's ``url`` if it is Meta's (or the Graph API host's), else None."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    host = parsed.host.lower()
    if host == httpx.URL(str(graph.base_url)).host.lower():
        return url
    if parsed.scheme == "https" and any(host == h or host.endswith("." + h)
                                        for h in META_HOSTS):
        return url
    return None


async def fetch(graph: Any, media: dict[str, Any], kind: str) -> Fetched:
    """The checked bytes of the webhook's ``media`` object (``graph``: a GraphClient)."""
    media_id = str(media["id"])
    info: dict[str, Any] = {}
    url = trusted_url(graph, media.get("url"))
    if not url:
        info = await _info(graph, media_id)
        url = info["url"]
    try:
        content = await _download(graph.http, url, kind)
    except _Expired:
        info = await _info(graph, media_id)
        try:
            content = await _download(graph.http, info["url"], kind)
        except _Expired:
            raise FetchError("the download URL was refused even when fresh") from None
    size = _int(info.get("file_size"))
    if size is not None and size != len(content):
        raise FetchError(f"got {len(content)} bytes, Meta said {size}")
    actual = digest(content)
    # Both of Meta's claims must hold: the webhook's (base64) and GET /{media-id}'s (hex).
    for claimed in (info.get("sha256"), media.get("sha256")):
        expected = sha256_hex(claimed)
        if claimed and expected != actual:
            raise FetchError(f"the file's SHA-256 ({actual[:12]}…) does not match the one "
                             f"Meta gave ({claimed!s:.16}…)", permanent=True)
    filename = clean_filename(media.get("filename"))
    declared = info.get("mime_type") or media.get("mime_type")
    mime = mime_of(declared if isinstance(declared, str) else None, filename)
    return Fetched(content, mime, actual, filename)
