"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from deskctl.errors import StorageError


def write_atomic(path: Path, data: bytes, *, keep_backup: bool = False) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename.

    With ``keep_backup`` the previous version stays beside it as ``NAME~``.
    """
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if keep_backup and path.exists():
                _keep_backup(path)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_dir(path.parent)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error.strerror}") from None


def _keep_backup(path: Path) -> None:
    """``NAME~`` becomes the current version while ``NAME`` stays in place: a second name
    for the same file, renamed over the old backup, so that no moment is without NAME."""
    link = path.with_name(f".{path.name}~.link")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(link)
    os.link(path, link)
    os.replace(link, path.with_name(path.name + "~"))


def _sync_dir(folder: Path) -> None:
    # Make the rename itself durable; some platforms cannot open folders.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
