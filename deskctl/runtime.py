"""The per-user runtime folder: the agent's socket and the desks' locks.

It is the same for every process of the user, whatever HOME or config file a process
uses, so that one lock per physical desk holds for the user: ``$XDG_RUNTIME_DIR/deskctl``
where the session has one (``/run/user/UID`` on systemd machines), else a folder of the
user's own in the temporary folder, as ssh-agent and tmux do.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from deskctl.errors import StorageError


def runtime_dir() -> Path:
    """The folder, created with mode 0700 and checked to be the user's own."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        path = Path(base) / "deskctl"
    else:
        session = Path(f"/run/user/{os.getuid()}")
        path = session / "deskctl" if session.is_dir() else _temporary()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as error:
        raise StorageError(f"cannot create the folder {path}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise StorageError(f"{path} is not a folder of this user's; remove it and try again")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def _temporary() -> Path:
    return Path(tempfile.gettempdir()) / f"deskctl-{os.getuid()}"


def lock_file(key: str) -> Path:
    """The lock of one physical desk (see ``drivers.registry.physical_key``)."""
    from deskctl.paths import slug

    folder = runtime_dir() / "locks"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create the folder {folder}: {error.strerror}") from None
    return folder / f"{slug(key)}.lock"
