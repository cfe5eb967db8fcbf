"""Locked by default: every route refuses anonymous requests, and headers are safe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from werkzeug.routing import IntegerConverter, PathConverter, Rule

from crm.api.app import create_app
from crm.config import Settings
from tests.auth_support import module_server, sign_in
from tests.conftest import ADMIN_PASSWORD, LiveServer, admin_headers

#: The only paths anyone may reach without signing in (static files aside).
#: /sw.js and the manifest: the browser fetches them without a session (see crm/api/pwa.py).
PUBLIC_PATHS = {"/webhook/whatsapp", "/login", "/healthz", "/sw.js", "/manifest.webmanifest"}
#: Routes that must exist, so the walk below cannot pass by finding nothing.
KNOWN = {"/", "/logout", "/api/chats", "/api/events", "/api/agents", "/api/tokens",
         "/api/tokens/<token_id>", "/api/me"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory, "routes")


def _sample(rule: Rule, name: str) -> object:
    converter = rule._converters[name]  # noqa: SLF001 - werkzeug keeps them only here
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, PathConverter):
        return "some/file"
    return "x1"


def _rules(tmp_path: Path) -> tuple[list[Rule], list[Rule]]:
    app = create_app(Settings(data_dir=tmp_path / "app"))
    guarded, public = [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        is_static = rule.endpoint == "static" or rule.endpoint.endswith(".static")
        (public if is_static or getattr(view, "_crm_public", False) else guarded).append(rule)
    return guarded, public


def test_only_the_public_list_opts_out(tmp_path: Path) -> None:
    guarded, public = _rules(tmp_path)
    opted_out = {r.rule for r in public if not r.endpoint.endswith("static")}
    assert opted_out <= PUBLIC_PATHS, f"routes marked @public: {opted_out - PUBLIC_PATHS}"
    assert {"/login", "/healthz"} <= opted_out
    assert {r.rule for r in guarded} >= KNOWN


def test_every_other_route_refuses_an_anonymous_request(live: LiveServer,
                                                        tmp_path: Path) -> None:
    guarded, _ = _rules(tmp_path)
    checked = []
    with live.client(follow_redirects=False) as anonymous:
        for rule in guarded:
            values = {name: _sample(rule, name) for name in rule.arguments}
            built = rule.build(values)
            assert built is not None, rule.rule
            path = built[1]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                for cookies in ({}, {"crm_session": "forged.value"}):
                    anonymous.cookies.clear()
                    anonymous.cookies.update(cookies)
                    response = anonymous.request(method, path)
                    where = f"{method} {path} (rule {rule.rule})"
                    if path.startswith("/api/"):
                        assert response.status_code == 401, where
                        assert response.json()["error"]["code"] == "unauthorized", where
                    else:
                        assert response.status_code in (302, 303), where
                        assert response.headers["location"].startswith("/login"), where
                checked.append(where)
    assert len(checked) >= len(KNOWN)


def test_a_bad_bearer_token_is_refused_everywhere(live: LiveServer) -> None:
    with live.client(follow_redirects=False) as http:
        for path in ("/api/chats", "/api/me", "/"):
            for header in ("Bearer crm_not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer"):
                response = http.get(path, headers={"Authorization": header})
                assert response.status_code == 401, (path, header)
                assert response.json()["error"]["code"] == "unauthorized"


def _assert_safe_headers(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";")}
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    script = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "'unsafe-inline'" not in directives["default-src"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_security_headers_on_every_kind_of_response(live: LiveServer) -> None:
    with live.client(follow_redirects=False) as anonymous:
        responses = [
            anonymous.get("/healthz"),
            anonymous.get("/login"),
            anonymous.get("/api/chats"),
            anonymous.get("/"),
            anonymous.post("/login", data={"username": "x", "password": "y"}),
        ]
    with live.client(headers=admin_headers(live)) as admin:
        responses += [admin.get("/api/me"), admin.get("/api/no-such-route"),
                      admin.get("/api/chats", params={"limit": "many"})]
    with sign_in(live, "admin", ADMIN_PASSWORD) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and "<script>" not in page.text
        responses.append(page)
    assert {r.status_code for r in responses} >= {200, 302, 400, 401, 403, 404}
    for response in responses:
        _assert_safe_headers(response)
