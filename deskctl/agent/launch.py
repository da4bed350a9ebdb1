"""Reaching the agent: connect to it, or start one in the background first, the way
ssh's connection sharing and gpg-agent do.  A started agent exits once it has been idle
for a while (``[agent] idle_exit`` in the config)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from deskctl import runtime
from deskctl.agent.client import AgentConnection, RemoteDesk
from deskctl.agent.protocol import SOCKET_NAME
from deskctl.errors import DeskUnavailable, StorageError
from deskctl.paths import Paths, ensure_dir
from deskctl.units import Unit

# Starting an agent is importing deskctl and binding a socket; a slow machine gets time.
START_TIMEOUT_S = 30.0


async def agent_listens() -> bool:
    """Whether an agent answers on the user's socket now."""
    try:
        connection = await AgentConnection.connect(runtime.runtime_dir() / SOCKET_NAME)
    except OSError:
        return False
    await connection.close()
    return True


async def connect(
    paths: Paths, *, start: bool = True, idle_exit_s: float = 300.0
) -> AgentConnection:
    """A connection to the user's agent, started in the background when none runs."""
    path = runtime.runtime_dir() / SOCKET_NAME
    with contextlib.suppress(OSError):
        return await AgentConnection.connect(path)
    if not start:
        raise DeskUnavailable("no deskctl agent runs; start one with 'deskctl agent'")
    # One starter at a time: the others wait here, then find the agent it started.
    with _spawn_lock(path.with_name("spawn.lock")):
        with contextlib.suppress(OSError):
            return await AgentConnection.connect(path)
        await _start_agent(paths, idle_exit_s)
    try:
        return await AgentConnection.connect(path)
    except OSError as error:
        raise DeskUnavailable(f"the deskctl agent started but cannot be reached: {error}") from None


@contextlib.contextmanager
def _spawn_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def _start_agent(paths: Paths, idle_exit_s: float) -> None:
    log_path = ensure_dir(paths.state_dir) / "agent.log"
    try:
        log = open(log_path, "ab")  # noqa: ASYNC230, SIM115 - a local log file, handed on
    except OSError as error:
        raise StorageError(f"cannot write the agent's log {log_path}: {error.strerror}") from None
    read_end, write_end = os.pipe()
    # -P: the folder the command ran in is not the agent's import path (nor its cwd).
    command = [sys.executable, "-P", "-m", "deskctl", "agent", "--idle-exit", str(idle_exit_s)]
    command += ["--ready-fd", str(write_end)]
    with log:
        subprocess.Popen(  # noqa: ASYNC220 - it returns at once: the agent runs on its own
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(write_end,),
            cwd="/",
            start_new_session=True,  # Ctrl-C in the terminal is for the command, not the agent
        )
    os.close(write_end)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_end, "rb")
    )
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            said = await reader.readline()
    except TimeoutError:
        said = b""
    finally:
        transport.close()
    if said.strip() != b"ready":
        raise DeskUnavailable(f"the deskctl agent did not start: {_last_line(log_path)}")


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return (lines[-1] if lines else "no log").removeprefix("deskctl: ")


@contextlib.asynccontextmanager
async def open_remote_desk(
    url: str,
    paths: Paths,
    unit: Unit = Unit.CM,
    *,
    start: bool = True,
    idle_exit_s: float = 300.0,
) -> AsyncIterator[RemoteDesk]:
    """The desk at ``url`` through the agent (started if need be, unless not ``start``)."""
    connection = await connect(paths, start=start, idle_exit_s=idle_exit_s)
    try:
        desk = RemoteDesk(connection, url, unit)
        async with desk:
            yield desk
    finally:
        await connection.close()
