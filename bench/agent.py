"""The agent: a command through a warm agent against direct mode, a client's cold start,
how soon a command reaches the desk, and the agent at rest.

* Warm agent: ``deskctl status`` on an emulated Linak desk (``linak-emu://``, which pays a
  Bluetooth connection and the desk's handshake) through an agent that holds the desk,
  against ``--no-agent`` on another such desk; alternately, medians.
* Cold start: ``deskctl status`` through a warm agent against ``idasen --help``.
* To the desk: an agent in this process holds a simulated desk whose driver notes when it
  is told something; a client connection asks for a move (the first command: a target),
  and another client, or a ``deskctl stop`` process, stops it.
* At rest: an agent process holding four desks for a minute: CPU time and wake-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from isolated import agent_pid, isolated_env
from policy import cpu_and_wakeups

Row = tuple[str, str, str, str]
ROOT = Path(__file__).resolve().parent.parent
DESKCTL = str(Path(sys.executable).with_name("deskctl"))
IDASEN = str(ROOT / ".venv-peers" / "idasen" / "bin" / "idasen")
RUNS = 15
MOVES = 40
IDLE_S = 60.0
SETTLE_S = 3.0


def cached(env: dict[str, str]) -> dict[str, str]:
    """Python's compiled-module cache on, as for an installed program (for every side)."""
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=cached(env), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def warm_and_cold_rows() -> list[Row]:
    with isolated_env() as env:
        through = [DESKCTL, "--desk", "linak-emu://bench", "status"]
        direct = [DESKCTL, "--no-agent", "--desk", "linak-emu://direct", "status"]
        client = [DESKCTL, "--desk", "sim://bench", "status"]
        simulated = [DESKCTL, "--no-agent", "--desk", "sim://alone", "status"]
        for command in (through, direct, client, simulated):
            wall_time(command, env)  # the agent starts and takes the desk; caches fill
        agent, alone, ours, by_itself, idasen = [], [], [], [], []
        for _ in range(RUNS):
            agent.append(wall_time(through, env))
            alone.append(wall_time(direct, env))
            ours.append(wall_time(client, env))
            by_itself.append(wall_time(simulated, env))
            idasen.append(wall_time([IDASEN, "--help"], env))
    warm = statistics.median(alone) / statistics.median(agent)
    cold = statistics.median(ours) / statistics.median(idasen)
    direct_cold = statistics.median(by_itself) / statistics.median(idasen)
    return [
        (
            "`deskctl status` on `linak-emu://`: direct mode / through a warm agent (medians)",
            f"{warm:.1f}x ({statistics.median(alone) * 1000:.0f} / "
            f"{statistics.median(agent) * 1000:.0f} ms)",
            "(report)",
            "-",
        ),
        (
            "client command cold start (`deskctl status`, warm agent) / `idasen --help`",
            f"{cold:.2f} ({statistics.median(ours) * 1000:.0f} / "
            f"{statistics.median(idasen) * 1000:.0f} ms)",
            "<= 0.7",
            "yes" if cold <= 0.7 else "no",
        ),
        (
            "`deskctl --no-agent status` (the simulated desk, opened directly) / `idasen --help`",
            f"{direct_cold:.2f} ({statistics.median(by_itself) * 1000:.0f} ms)",
            "(report)",
            "-",
        ),
    ]


def latency_rows() -> list[Row]:
    with isolated_env() as env:
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            to_desk, stops, stop_processes = asyncio.run(_latencies(env))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return [
        (
            "`stand` through the agent: request to the desk's first command, p95",
            f"{p95(to_desk) * 1000:.1f} ms (median {statistics.median(to_desk) * 1000:.1f})",
            "<= 20 ms",
            "yes" if p95(to_desk) <= 0.020 else "no",
        ),
        (
            "`stop` from a second client: request to the desk's stop command, p95",
            f"{p95(stops) * 1000:.1f} ms (median {statistics.median(stops) * 1000:.1f})",
            "<= 100 ms",
            "yes" if p95(stops) <= 0.100 else "no",
        ),
        (
            "`deskctl stop` as a new process: its start to the desk's stop command, p95",
            f"{p95(stop_processes) * 1000:.0f} ms "
            f"(median {statistics.median(stop_processes) * 1000:.0f})",
            "<= 100 ms",
            "yes" if p95(stop_processes) <= 0.100 else "no",
        ),
    ]


async def _latencies(env: dict[str, str]) -> tuple[list[float], list[float], list[float]]:
    from deskctl.agent.launch import open_remote_desk
    from deskctl.agent.server import Agent, AgentSettings
    from deskctl.paths import Paths

    paths = Paths.from_env()
    agent = Agent(paths, AgentSettings())
    listening = asyncio.Event()
    serving = asyncio.create_task(agent.serve(listening.set))
    await listening.wait()
    url = "sim://latency"
    try:
        async with (
            open_remote_desk(url, paths, start=False) as mover,
            open_remote_desk(url, paths, start=False) as stopper,
        ):
            held = agent.desks[mover.key].desk
            assert held is not None
            told = _Spy(held)
            to_desk, stops, processes = [], [], []
            for n in range(MOVES):
                target = 1000.0 if n % 2 == 0 else 800.0
                began = time.perf_counter()
                moving = asyncio.create_task(_quietly(mover.move_to(target)))
                to_desk.append(await told.next("send_target") - began)
                began = time.perf_counter()
                await stopper.stop()
                stops.append(await told.next("_halt") - began)
                await moving
            for n in range(RUNS):
                moving = asyncio.create_task(_quietly(mover.move_to(1200.0 - n % 2 * 500)))
                await told.next("send_target")
                began = time.perf_counter()
                process = await asyncio.create_subprocess_exec(
                    DESKCTL, "--desk", url, "stop", env=cached(env), stdout=subprocess.DEVNULL
                )
                processes.append(await told.next("_halt") - began)
                await process.wait()
                await moving
    finally:
        agent.shutdown()
        await serving
    return to_desk, stops, processes


class _Spy:
    """Notes when the desk's driver is told to move or to stop."""

    def __init__(self, desk: Any) -> None:
        self.calls: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        for name in ("send_target", "_halt"):
            setattr(desk, name, self._noting(name, getattr(desk, name)))

    def _noting(
        self, name: str, method: Callable[..., Coroutine[Any, Any, None]]
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        async def noted(*args: Any) -> None:
            self.calls.put_nowait((name, time.perf_counter()))
            await method(*args)

        return noted

    async def next(self, wanted: str) -> float:
        while True:
            name, at = await self.calls.get()
            if name == wanted:
                return at


async def _quietly(work: Coroutine[Any, Any, Any]) -> None:
    from deskctl.errors import DeskctlError

    with contextlib.suppress(DeskctlError):  # the move was stopped: that is the point
        await work


def idle_rows() -> list[Row]:
    with isolated_env() as env:
        holders = [
            subprocess.Popen(
                [DESKCTL, "--desk", f"sim://idle{n}", "--json", "watch"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            for n in range(4)
        ]
        try:
            for holder in holders:
                assert holder.stdout is not None
                holder.stdout.readline()  # the agent holds its desk
            pid = agent_pid(Path(env["XDG_RUNTIME_DIR"]) / "deskctl")
            assert pid is not None
            time.sleep(SETTLE_S)  # the desks' first states and files are written
            cpu_before, wakes_before = cpu_and_wakeups(pid)
            began = time.monotonic()
            time.sleep(IDLE_S)
            cpu_after, wakes_after = cpu_and_wakeups(pid)
            wall = time.monotonic() - began
        finally:
            for holder in holders:
                holder.terminate()
                holder.wait(timeout=30)
    share = (cpu_after - cpu_before) / wall
    wakes = wakes_after - wakes_before
    return [
        (
            f"the agent holding four desks, idle {IDLE_S:.0f} s: CPU / wall time, wake-ups",
            f"{share:.3%}, {wakes}",
            "<= 0.2 %, none (no schedule runs)",
            "yes" if share <= 0.002 and wakes == 0 else "no",
        )
    ]


def run() -> list[Row]:
    return warm_and_cold_rows() + latency_rows() + idle_rows()


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
