"""Files crm writes are for the user running crm alone: folders 0700, files 0600.

The data folder holds customer messages, media, password hashes and secrets; exports
and backups hold the same. Every ``crm`` command sets ``umask 077`` before it writes
anything (``crm.cli.main``), and the writers here also ask for private modes
themselves, so crm used as a library (tests, scripts) is private too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def set_umask() -> None:
    os.umask(UMASK)


def ensure_private_dir(path: Path) -> int | None:
    """Create ``path`` (and its missing parents) 0700; tighten it if it is looser.
    Returns the looser mode it had, if it had one."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        else:
            os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask: be exact
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, DIR_MODE)
        return mode
    return None


def tighten(path: Path) -> None:
    """Make an existing file 0600 (a database created before crm was this careful)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, FILE_MODE)


def create_private(path: Path, *, exclusive: bool = False) -> int:
    """A file descriptor of ``path``, created (or truncated) with mode 0600."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` (mode 0600), replacing it."""
    with os.fdopen(create_private(path), "wb") as handle:
        handle.write(content)
