"""The JSON API against its OpenAPI description (``crm/api/openapi.json``, served at
``/api/openapi.json`` to signed-in agents): ``schemathesis`` generates requests from
it, valid and not, and a real server must never answer one with a 500 (every error in
the ``{"error": {"code", "message"}}`` shape).

Bounded for ``make test`` (``CRM_SCHEMA_EXAMPLES`` per operation, default 40). Left out:
the operations that would take the test's own admin away (disabling agents, changing
passwords, revoking tokens) and the two that never end or stream the whole log.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from crm.api.openapi import DOCUMENT
from crm.events import EventStore
from crm.projections import default_projector
from tests.conftest import LiveServer, admin_headers, start_server
from tests.factories import received

EXAMPLES = int(os.environ.get("CRM_SCHEMA_EXAMPLES", "40"))
LEFT_OUT = r"^/api/(agents/[^/]+/(disable|password|admin)|tokens/[^/]+|stream|export)$"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    data_dir.mkdir()
    server = start_server(data_dir)
    store = EventStore(server.db_path, default_projector())
    try:
        store.record([received("85291234567", "hello", name="Ana")])
    finally:
        store.close()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(live: LiveServer):
    document = httpx.get(live.url + "/api/openapi.json", headers=admin_headers(live),
                         timeout=10).json()
    return schemathesis.openapi.from_dict(document).exclude(path_regex=LEFT_OUT)


def test_the_description_is_the_repositorys_and_needs_an_agent(live: LiveServer) -> None:
    served = httpx.get(live.url + "/api/openapi.json", headers=admin_headers(live), timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text())
    assert served.json()["openapi"].startswith("3.")
    anonymous = httpx.get(live.url + "/api/openapi.json", timeout=10)
    assert anonymous.status_code == 401


def operations() -> list[tuple[str, str]]:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    return [(path, method) for path, item in paths.items() for method in item
            if not re.match(LEFT_OUT, path)]


@pytest.mark.parametrize(("path", "method"), operations())
def test_no_input_gives_a_server_error(live: LiveServer, api_schema, path: str,
                                       method: str) -> None:
    operation = api_schema[path][method.upper()]
    headers = admin_headers(live)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE)))
    def no_server_error(case) -> None:
        response = case.call(base_url=live.url, headers=headers)
        # 503 is an answer, not a crash: no WhatsApp account configured (templates).
        assert response.status_code < 500 or response.status_code == 503, (
            f"{response.status_code} for {case.as_curl_command()}: {response.text[:300]}")
        if response.status_code >= 400:  # every error in the documented shape
            assert set(response.json()["error"]) >= {"code", "message"}, response.text

    no_server_error()


@pytest.mark.parametrize("path", ["/api/send", "/api/agents", "/api/tokens"])
def test_a_body_that_is_not_utf8_is_a_400_not_a_500(live: LiveServer, path: str) -> None:
    """What the schema test found first: Quart decoded the body before parsing it."""
    answer = httpx.post(live.url + path, content=b'{"text": "\xff"}',
                        headers={**admin_headers(live), "Content-Type": "application/json"},
                        timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] in ("bad_json", "bad_body")
