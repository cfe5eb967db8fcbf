"""The service worker's text names the static files' version: a new version of any static
file is a new worker (the browser installs it on the next open) with a cache of its own."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from crm.api.pages import asset_version
from crm.api.pwa import shell_files, worker_text


def test_the_worker_carries_the_version_and_only_the_shell() -> None:
    text = worker_text()
    version = json.loads(re.search(r"^const VERSION = (.+);$", text, re.M).group(1))
    shell = json.loads(re.search(r"^const SHELL = (.+);$", text, re.M).group(1))
    assert version == asset_version()
    assert "const CACHE = `crm-shell-${VERSION}`" in text
    assert {"/static/offline.html", "/static/css/app.css", "/static/js/app.js",
            "/static/img/icon-192.png"} <= set(shell)
    assert all(path.startswith("/static/") for path in shell)
    assert "/static/css/input.css" not in shell  # Tailwind's source is not the shell


def test_a_changed_static_file_is_a_new_version(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    script = tmp_path / "js" / "app.js"
    script.write_text("console.log(1);\n")
    before = asset_version(tmp_path)
    assert shell_files(tmp_path) == ["/static/js/app.js"]
    script.write_text("console.log(2);\n")
    os.utime(script, ns=(script.stat().st_atime_ns, script.stat().st_mtime_ns + 1_000_000))
    assert asset_version(tmp_path) != before
