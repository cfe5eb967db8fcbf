"""Secrets the server generates for itself and keeps in the data folder.

Never in the repository, never world-readable, and safe when several processes start at
once: the secret is written to a private temporary file and linked into place, so the
first writer wins and everyone else reads its secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from crm.private import ensure_private_dir


def read_or_create(path: Path, nbytes: int = 32) -> str:
    """The secret stored at ``path``, generated first (mode 600) if there is none."""
    if not path.exists():
        ensure_private_dir(path.parent)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(nbytes) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won: use its
                os.link(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
    return path.read_text().strip()
