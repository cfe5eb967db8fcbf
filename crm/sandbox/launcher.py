"""Starting the sandbox from ``crm serve``, the secret it signs webhooks with, and the
token of its control API.

The sandbox starts only when no ``WHATSAPP_*`` setting is present at all (a deployer
who set the app secret but mistyped the access token must not get a fake Meta that
anyone on the machine can steer), or with ``CRM_SANDBOX=on``; ``CRM_SANDBOX=off``
never starts it. ``crm serve`` then starts one sandbox process before any worker,
points ``WHATSAPP_GRAPH_URL`` at it for every worker, says so with a WARNING on
stderr, and stops it on exit (a killed server's sandbox notices and exits by itself).
Its URL is kept in ``CRM_DATA_DIR/sandbox.json`` for ``crm simulate`` and ``crm
templates refresh``.

The sandbox signs webhooks only with a secret generated once into
``CRM_DATA_DIR/sandbox_secret`` (mode 600), never with ``WHATSAPP_APP_SECRET``: what it
posts is forged by design and must never pass for Meta's. The webhook accepts that
secret only while the sandbox runs (``webhook_secret_source``). Its control API
(``/_sandbox/...``: faults, what agents sent, fake customers) needs the bearer token in
``CRM_DATA_DIR/sandbox_control_token`` (mode 600), which ``crm simulate`` and ``crm
sandbox`` read.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import sys
from pathlib import Path

from crm.config import GRAPH_API_VERSION, ConfigError, Settings
from crm.private import write_private
from crm.sandbox import PHONE_NUMBER_ID, WABA_ID
from crm.secret_files import read_or_create

SECRET_FILE = "sandbox_secret"
CONTROL_TOKEN_FILE = "sandbox_control_token"
STATE_FILE = "sandbox.json"
API_VERSION = GRAPH_API_VERSION
START_TIMEOUT = 15.0

_secrets: dict[Path, str] = {}


def wanted(settings: Settings) -> bool:
    if settings.sandbox == "auto":
        return not settings.whatsapp_configured()
    return settings.sandbox == "on"


def stored_secret(data_dir: Path, create: bool = True) -> str | None:
    """The generated secret, created on first use (atomically, mode 600)."""
    path = data_dir / SECRET_FILE
    if path in _secrets:
        return _secrets[path]
    if not path.exists():
        if not create:
            return None
        read_or_create(path)
    _secrets[path] = path.read_text().strip()
    return _secrets[path]


def signing_secret(settings: Settings, create: bool = True) -> str | None:
    """What the sandbox and ``crm simulate`` sign with: the generated secret, never
    ``WHATSAPP_APP_SECRET``."""
    return stored_secret(settings.data_dir, create)


def control_token(data_dir: Path, create: bool = False) -> str | None:
    """The bearer token of the sandbox's control API (made by ``crm serve``)."""
    path = data_dir / CONTROL_TOKEN_FILE
    if create:
        return read_or_create(path)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def control_headers(data_dir: Path) -> dict[str, str]:
    """What ``crm simulate`` and ``crm sandbox`` send to the control API."""
    token = control_token(data_dir)
    return {"Authorization": f"Bearer {token}"} if token else {}


def webhook_secret_source(settings: Settings) -> str | None:
    """One of the webhook's secret sources (``create_app``): the sandbox's secret while
    it runs."""
    return stored_secret(settings.data_dir, create=False) if settings.sandbox_started else None


def running_url(data_dir: Path, key: str = "url") -> str | None:
    """The Graph URL (or with ``key="control"`` the control API's) of the sandbox a
    running ``crm serve`` started, if any."""
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state.get(key)


def _connect_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def start(settings: Settings, host: str, port: int, announce: bool = True) -> Settings:
    """Start the sandbox if it is wanted; returns the settings every worker should use."""
    if not wanted(settings):
        return settings
    secret = signing_secret(settings)
    token = control_token(settings.data_dir, create=True)
    assert secret is not None and token is not None
    phone_number_id, waba_id = sandbox_ids(settings)
    command = [sys.executable, "-m", "crm.sandbox", "--host", "127.0.0.1",
               "--port", str(settings.sandbox_port),
               "--webhook", f"http://{_connect_host(host)}:{port}/webhook/whatsapp",
               "--phone-number-id", phone_number_id, "--waba-id", waba_id,
               "--parent", str(os.getpid())]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "CRM_SANDBOX_SECRET": secret,
                                    "CRM_SANDBOX_CONTROL_TOKEN": token})
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    line = process.stdout.readline() if ready else ""
    process.stdout.close()
    try:
        url = json.loads(line)["url"]
    except (ValueError, KeyError, TypeError):
        process.kill()
        raise ConfigError("the WhatsApp sandbox did not start (set the WHATSAPP_* settings, "
                          "or CRM_SANDBOX=off)") from None
    state = settings.data_dir / STATE_FILE
    write_private(state, json.dumps({"url": f"{url}/{API_VERSION}", "control": url,
                                     "pid": process.pid}).encode())
    atexit.register(_stop, process, state)
    if announce:
        why = ("CRM_SANDBOX=on" if settings.sandbox == "on"
               else "no WHATSAPP_* setting is present")
        print(f"crm: WARNING: running against the local WhatsApp sandbox at {url}, not Meta "
              f"({why}): nothing reaches real customers, and crm simulate can post "
              "messages as any customer. Set the WHATSAPP_* settings (or CRM_SANDBOX=off) "
              "in production. (Try: crm simulate --from 85291234567 --name Ana --text Hi)",
              file=sys.stderr, flush=True)
    return sandbox_settings(settings, f"{url}/{API_VERSION}")


def sandbox_ids(settings: Settings) -> tuple[str, str]:
    """The phone number id and account id the sandbox answers to."""
    return (settings.whatsapp_phone_number_id or PHONE_NUMBER_ID,
            settings.whatsapp_waba_id or WABA_ID)


def sandbox_settings(settings: Settings, graph_url: str) -> Settings:
    """``settings`` pointed at a running sandbox: its URL, and its ids unless set. A real
    access token (``CRM_SANDBOX=on`` beside Meta's settings) is dropped, so it is never
    sent to the sandbox."""
    phone_number_id, waba_id = sandbox_ids(settings)
    return settings.model_copy(update={
        "whatsapp_graph_url": graph_url, "sandbox_started": True,
        "whatsapp_access_token": None,
        "whatsapp_phone_number_id": phone_number_id, "whatsapp_waba_id": waba_id})



def _stop(process: subprocess.Popen, state: Path) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(state.read_text()).get("pid") == process.pid:
            state.unlink()
