"""One process controls a desk at a time.

The lock is an advisory ``flock`` on a file in the state directory, so the
kernel releases it when its holder dies, however it dies.  The file names the
holder, so the next process can say who has the desk.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path
from types import TracebackType

from deskctl.errors import DeskBusy, StorageError


class DeskLock:
    def __init__(self, path: Path, desk: str) -> None:
        self.path = path
        self.desk = desk
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StorageError(f"cannot open the lock file {self.path}: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DeskBusy(f"{self.desk} is busy: {holder} controls it; stop that first") from None
        os.ftruncate(fd, 0)
        command = " ".join(["deskctl", *sys.argv[1:]])[:120]
        os.write(fd, f"pid {os.getpid()} ({command})".encode())
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
