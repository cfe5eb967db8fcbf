"""Helpers of the team tests: agents with tokens, the chat as the API shows it."""

from __future__ import annotations

from typing import Any

from crm.auth.local import create_token
from crm.config import Settings
from tests.conftest import LiveServer, admin_headers


def agent_headers(server: LiveServer, name: str, *, admin: bool = False) -> dict[str, str]:
    """A new agent (through the admin API) and a bearer token for them."""
    with server.client(headers=admin_headers(server)) as http:
        made = http.post("/api/agents", json={"name": name, "password": "a-long-password-1",
                                              "admin": admin})
        assert made.status_code == 201, made.text
    token, _ = create_token(Settings(data_dir=server.data_dir), name, "tests")
    return {"Authorization": f"Bearer {token}"}


def chat(http: Any, phone: str) -> dict[str, Any]:
    answer = http.get(f"/api/chats/{phone}")
    assert answer.status_code == 200, answer.text
    return answer.json()["chat"]


def phones(http: Any, **params: str) -> list[str]:
    answer = http.get("/api/chats", params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    return [c["phone"] for c in answer.json()["chats"]]


def refused(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text
    return answer.json()["error"]
