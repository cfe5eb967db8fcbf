"""Browser fixtures: Debian's chromium, a crm server per module, signed-in agent pages.

Playwright drives ``/usr/bin/chromium`` (``CHROMIUM_PATH`` to override); it never
downloads a browser. Without chromium every browser test is skipped with the reason.
A failing test leaves a screenshot of each of its pages in ``test-results/``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, ROOT, LiveServer
from tests.e2e.inbox import sign_in
from tests.sandbox_support import GraphSandbox, start_crm

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RESULTS = ROOT / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: install it with 'apt-get install -y "
                    "--no-install-recommends chromium' (make test does, as root)")
    # Chromium writes crash-report and config folders: keep them out of the home folder.
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "env": {**os.environ, "XDG_CONFIG_HOME": "/tmp/crm-chromium",
                    "XDG_CACHE_HOME": "/tmp/crm-chromium"}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    """The fake Graph API (crm's sandbox) on 127.0.0.1: accepts sends, posts statuses."""
    fake = GraphSandbox(status_delay=0.2)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sandbox: GraphSandbox) -> Iterator[LiveServer]:
    """One ``crm serve`` for a test module (each test uses its own customers)."""
    data = tmp_path_factory.mktemp("inbox") / "data"
    data.mkdir()
    server = start_crm(data, sandbox)
    yield server
    server.stop()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture
def agent_page(browser, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Callable]:
    """``agent_page(name="admin", password=..., **context_args)`` -> a signed-in page in
    its own browser context (its own cookies: a separate agent). Dialogs are recorded
    in ``page.dialogs`` and dismissed."""
    contexts = []

    def make(name: str = "admin", password: str = ADMIN_PASSWORD, **context_args):
        context = browser.new_context(base_url=live.url, **context_args)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        sign_in(page, name, password)
        return page

    yield make
    if request.node.stash.get(_FAILED, False):
        RESULTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                suffix = "" if (i, j) == (0, 0) else f"-{i}.{j}"
                # A screenshot that fails must not hide the test's own failure.
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(RESULTS / f"{stem}{suffix}.png"), full_page=True)
    for context in contexts:
        context.close()
