"""Helpers for tests that run the agent as a real process."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import threading
from pathlib import Path

# A healthy agent ends in well under a second; this only bounds a broken one.
END_TIMEOUT_S = 20.0


def agent_pid(folder: Path) -> int | None:
    """The pid of the agent that holds ``folder``'s agent lock, if one does."""
    try:
        text = (folder / "agent.lock").read_text()
    except OSError:
        return None
    found = re.match(r"pid (\d+)", text)
    return int(found.group(1)) if found else None


def wait_for_agent_exit(folder: Path, timeout: float = END_TIMEOUT_S) -> bool:
    """Block until no agent holds ``folder``'s lock (the kernel drops it when the agent
    exits, however it exits); False if one still holds it after ``timeout``."""
    path = folder / "agent.lock"
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDONLY)
    taken = threading.Event()

    def take() -> None:
        fcntl.flock(fd, fcntl.LOCK_SH)
        taken.set()

    waiter = threading.Thread(target=take, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if taken.is_set():
        os.close(fd)
    return taken.is_set()


def end_agent(folder: Path, sig: int = signal.SIGTERM) -> None:
    """Stop the agent a test started (SIGTERM, then SIGKILL if it does not go)."""
    pid = agent_pid(folder)
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_for_agent_exit(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_for_agent_exit(folder)
