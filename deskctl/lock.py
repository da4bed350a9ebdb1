"""One owner per physical desk.

The lock is an advisory ``flock`` on a file in the user's runtime folder, keyed by the
desk's identity (see ``drivers.registry.physical_key``), so the kernel releases it when
its holder dies, however it dies.  The file names the holder, so the next process can
say who has the desk, and ``deskctl stop`` can tell that holder to stop it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import sys
from pathlib import Path
from types import TracebackType

from deskctl.errors import DeskBusy, StorageError

AGENT_SUFFIX = "(deskctl agent)"
STOP_SIGNAL = signal.SIGUSR1
"""Sent by ``deskctl stop`` to a process that holds the desk without the agent."""


class DeskLock:
    def __init__(self, path: Path, desk: str, holder: str | None = None) -> None:
        self.path = path
        self.desk = desk
        self.holder = holder or " ".join(["deskctl", *sys.argv[1:]])[:120]
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StorageError(f"cannot open the lock file {self.path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            if holder.endswith(AGENT_SUFFIX):
                pid = holder.removesuffix(AGENT_SUFFIX).strip()
                raise DeskBusy(
                    f"{self.desk} is held by the deskctl agent ({pid}); "
                    "leave out --no-agent to go through it"
                ) from None
            raise DeskBusy(f"{self.desk} is busy: {holder} controls it; stop that first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} ({self.holder})".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> DeskLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def holder_pid(path: Path) -> int | None:
    """The pid written in a held lock, or None when nobody holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            found = re.match(r"pid (\d+)", os.read(fd, 200).decode(errors="replace"))
            return int(found.group(1)) if found else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # free: nobody to tell
    finally:
        os.close(fd)


def tell_holder_to_stop(path: Path) -> int | None:
    """Ask the process holding ``path`` to stop its desk; its pid, or None if it is free."""
    pid = holder_pid(path)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, STOP_SIGNAL)
    return pid
