"""Run every benchmark and write BENCHMARKS.md.

Each module in ``SECTIONS`` has ``run() -> str`` returning a Markdown section. Figures
are absolute and, where a raw ceiling applies, a ratio to that ceiling measured in the
same run, because this shared 2-core machine is noisy from one run to the next.
Pass section names to run only those: ``python -m bench store webhook``.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = ("store", "readers", "webhook", "audit", "inbox", "stream", "send", "idle", "team",
            "frames", "mix", "phone", "search", "campaigns")

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, commit {commit or 'unknown'}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def run_section(name: str) -> str:
    """One section in a process of its own: each starts from a small, clean process, so
    one section's memory (a million-event replay) cannot inflate the next one's figures
    (a child forked from a large process reports the parent's peak RSS)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "section.md"  # a file, not stdout: servers may print there
        done = subprocess.run([sys.executable, "-m", "bench", "--one", name, str(out)],
                              cwd=ROOT)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"bench {name} failed with exit code {done.returncode}")
        return out.read_text()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        text = importlib.import_module(f"bench.{argv[1]}").run().strip()
        Path(argv[2]).write_text(text)
        return 0
    chosen = argv or list(SECTIONS)
    out = ROOT / "BENCHMARKS.md"
    existing: dict[str, str] = {}
    if out.exists():
        kept = _split(out.read_text())
        existing = kept if argv else {n: t for n, t in kept.items() if n not in SECTIONS}
    for name in chosen:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        existing[name] = run_section(name).strip()
    header = (
        "# Benchmarks\n\n"
        f"Produced by `make bench` (`python -m bench`) on {machine()}.\n"
        "Ratios compare with a raw ceiling measured in the same run.\n"
    )
    # Hand-written sections (comparisons across commits) are kept after the measured ones.
    names = [n for n in SECTIONS if n in existing] + [n for n in existing if n not in SECTIONS]
    body = "\n\n".join(f"<!-- section:{n} -->\n{existing[n]}" for n in names)
    out.write_text(header + "\n" + body + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _split(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    chunks = text.split("<!-- section:")
    for chunk in chunks[1:]:
        name, _, rest = chunk.partition(" -->\n")
        parts[name] = rest.strip()
    return parts


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
