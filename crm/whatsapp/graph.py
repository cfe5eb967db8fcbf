"""An async client of the WhatsApp Cloud (Graph) API over one shared connection pool.

One ``httpx.AsyncClient`` per process: the sender, template refreshes and read
receipts share its keep-alive connections. Every failure becomes a ``GraphError``
(see ``crm.whatsapp.errors``) that says whether it is worth another attempt and
whether the request may have reached Meta anyway.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from crm import __version__
from crm.config import Settings
from crm.whatsapp.errors import GraphError, from_response

log = logging.getLogger("crm.graph")
# httpx logs every request at INFO: the sender would fill the log with them.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)

#: The token sent to the sandbox (it is not Meta: any token will do). Its ids are in
#: the settings that started it (``crm.sandbox.launcher.sandbox_settings``).
SANDBOX_TOKEN = "sandbox-token"

#: Network failures after which the request may nevertheless have reached Meta.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
              httpx.RemoteProtocolError)


class GraphClient:
    """Calls of the Graph API that crm makes, for one business phone number."""

    def __init__(self, base_url: str, token: str, phone_number_id: str,
                 waba_id: str | None = None, *, timeout: float = 30.0,
                 connections: int = 32) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"crm/{__version__}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections),
        )

    @classmethod
    def from_settings(cls, settings: Settings, connections: int = 32) -> GraphClient | None:
        """The client for the configured account or the sandbox; None if neither."""
        token = settings.whatsapp_access_token
        if token is not None and token.get_secret_value():
            if not settings.whatsapp_phone_number_id:
                return None
            return cls(settings.whatsapp_graph_url, token.get_secret_value(),
                       settings.whatsapp_phone_number_id, settings.whatsapp_waba_id,
                       timeout=settings.send_timeout, connections=connections)
        if settings.sandbox_started and settings.whatsapp_phone_number_id:
            return cls(settings.whatsapp_graph_url, SANDBOX_TOKEN,
                       settings.whatsapp_phone_number_id, settings.whatsapp_waba_id,
                       timeout=settings.send_timeout, connections=connections)
        return None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kwargs)
        except _AMBIGUOUS as exc:
            raise GraphError(f"network error: {exc.__class__.__name__}", transient=True,
                             ambiguous=True) from exc
        except httpx.HTTPError as exc:  # connect errors, pool timeouts: nothing was sent
            raise GraphError(f"network error: {exc.__class__.__name__}",
                             transient=True) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise from_response(response.status_code, body)
        return response

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._call(method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GraphError("the Graph API answered something that is not a JSON object",
                             http_status=response.status_code, ambiguous=True)
        return body

    # -- messages --------------------------------------------------------------------

    async def send_message(self, payload: dict[str, Any]) -> str:
        """POST ``/{phone-number-id}/messages``; returns the new message's ``wamid``."""
        body = await self._json("POST", f"/{self.phone_number_id}/messages", json=payload)
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            wamid = messages[0].get("id")
            if isinstance(wamid, str) and wamid:
                return wamid
        raise GraphError("Meta accepted the request but gave no message id", ambiguous=True)

    async def mark_read(self, wamid: str) -> None:
        """Blue ticks for the customer: marks this message (and earlier ones) read."""
        await self._json("POST", f"/{self.phone_number_id}/messages", json={
            "messaging_product": "whatsapp", "status": "read", "message_id": wamid})

    async def send_typing(self, wamid: str) -> None:
        """The customer sees "typing…" (for up to 25 s, or until we answer); Meta also
        marks the message read, as ``mark_read`` does."""
        await self._json("POST", f"/{self.phone_number_id}/messages", json={
            "messaging_product": "whatsapp", "status": "read", "message_id": wamid,
            "typing_indicator": {"type": "text"}})

    # -- media -----------------------------------------------------------------------

    async def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """POST ``/{phone-number-id}/media`` (multipart); returns the media id."""
        body = await self._json(
            "POST", f"/{self.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        media_id = body.get("id")
        if not isinstance(media_id, str | int) or not str(media_id):
            raise GraphError("the media upload gave no id")
        return str(media_id)

    async def media_info(self, media_id: str) -> dict[str, Any]:
        """GET ``/{media-id}``: a download URL valid for five minutes, mime type, size."""
        return await self._json("GET", f"/{media_id}",
                                params={"phone_number_id": self.phone_number_id})

    async def download(self, url: str) -> bytes:
        """The file behind a media URL (it needs the same bearer token)."""
        return (await self._call("GET", url)).content

    # -- templates -------------------------------------------------------------------

    async def list_templates(self, max_pages: int = 50) -> list[dict[str, Any]]:
        """Every template of the account, following Meta's paging."""
        if not self.waba_id:
            raise GraphError("WHATSAPP_WABA_ID is not set: templates cannot be listed")
        found: list[dict[str, Any]] = []
        url: str | None = f"/{self.waba_id}/message_templates"
        params: dict[str, Any] | None = {"limit": 100}
        for _ in range(max_pages):
            if url is None:
                break
            body = await self._json("GET", url, params=params)
            data = body.get("data")
            if isinstance(data, list):
                found.extend(t for t in data if isinstance(t, dict))
            paging = body.get("paging")
            following = paging.get("next") if isinstance(paging, dict) else None
            url, params = (following, None) if isinstance(following, str) else (None, None)
        return found
