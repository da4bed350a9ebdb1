"""``deskctl serve`` with 100 simulated desks on a real mosquitto broker.

* Round trip: a move command published for one desk until the first state
  message of that desk comes back, one at a time over every desk, three
  rounds.  The reference is a bare echo through the same broker in the same
  run (a client that publishes what it receives).
* Idle: the bridge's CPU time over wall time while nothing happens, from /proc.
* Memory: the resident size of the bridge with 100 desks against one with a
  single desk, per added desk.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from mqtt_rig import Broker, listening
from policy import cpu_and_wakeups

Row = tuple[str, str, str, str]
DESKCTL = str(Path(sys.executable).with_name("deskctl"))
DESKS = 100
ROUNDS = 3
IDLE_S = 30.0


def _config(home: Path, broker: Broker, desks: int, node: str) -> Path:
    lines = [f'[desks.desk{n}]\nurl = "sim://{node}-{n}?speed=100"\n' for n in range(desks)]
    lines.append(
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nnode = "{node}"\n'
        "remote_moves = true\nmoves_per_minute = 600\n"
    )
    path = home / f"{node}.toml"
    path.write_text("\n".join(lines))
    return path


@contextmanager
def serving(home: Path, broker: Broker, desks: int, node: str) -> Iterator[subprocess.Popen[str]]:
    env = {
        **os.environ,
        "DESKCTL_CONFIG": str(_config(home, broker, desks, node)),
        **{f"XDG_{kind}_HOME": str(home) for kind in ("STATE", "DATA", "CONFIG")},
        "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="dk-", dir="/tmp"),  # serve's own agent
    }
    process = subprocess.Popen([DESKCTL, "serve"], env=env, stderr=subprocess.DEVNULL, text=True)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))


async def _all_online(broker: Broker, node: str, desks: int) -> None:
    async with listening(broker, f"deskctl/{node}/+/state") as (_, inbox):
        await inbox.until(lambda: len({seen.topic for seen in inbox.messages}) >= desks, 120)


async def _round_trips(broker: Broker, node: str) -> list[float]:
    times: list[float] = []
    async with listening(broker, f"deskctl/{node}/+/state") as (client, inbox):
        await inbox.until(lambda: len(inbox.messages) >= DESKS)  # the retained states first
        for round_ in range(ROUNDS):
            for n in range(DESKS):
                state = f"deskctl/{node}/desk{n}/state"
                seen = len(inbox.messages)
                began = time.perf_counter()
                height = "90" if round_ % 2 == 0 else "80"
                await client.publish(f"deskctl/{node}/desk{n}/height/set", height)
                await inbox.wait_for(state, after=seen)
                times.append(time.perf_counter() - began)
    return times


async def _echo_round_trips(broker: Broker) -> list[float]:
    """The same shape of exchange with nothing but the broker in between."""

    listening_for_echoes = asyncio.Event()

    async def echo() -> None:
        async with broker.client() as echoer:
            await echoer.subscribe("echo/in")
            listening_for_echoes.set()
            async for message in echoer.messages:
                await echoer.publish("echo/out", message.payload)

    task = asyncio.create_task(echo())
    times: list[float] = []
    try:
        async with listening(broker, "echo/out") as (client, inbox):
            await listening_for_echoes.wait()
            for n in range(ROUNDS * DESKS):
                began = time.perf_counter()
                await client.publish("echo/in", str(n))
                await inbox.wait_for("echo/out", after=n)
                times.append(time.perf_counter() - began)
    finally:
        task.cancel()
    return times


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        broker = Broker(home / "broker")
        broker.folder.mkdir()
        broker.start()
        try:
            with serving(home, broker, 1, "one") as single:
                asyncio.run(_all_online(broker, "one", 1))
                rss_one = _rss_kib(single.pid)
            with serving(home, broker, DESKS, "fleet") as fleet:
                asyncio.run(_all_online(broker, "fleet", DESKS))
                rss_fleet = _rss_kib(fleet.pid)
                time.sleep(5)  # let the last states and the schedules settle
                cpu_before, _ = cpu_and_wakeups(fleet.pid)
                began = time.monotonic()
                time.sleep(IDLE_S)
                cpu_after, _ = cpu_and_wakeups(fleet.pid)
                idle = (cpu_after - cpu_before) / (time.monotonic() - began)
                trips = asyncio.run(_round_trips(broker, "fleet"))
            echoes = asyncio.run(_echo_round_trips(broker))
        finally:
            broker.stop()
    p50, p95 = statistics.median(trips), statistics.quantiles(trips, n=20)[-1]
    echo_p50 = statistics.median(echoes)
    per_desk = (rss_fleet - rss_one) / (DESKS - 1)
    return [
        (
            f"`deskctl serve`, {DESKS} desks: move command to state, p50 / p95",
            f"{p50 * 1000:.1f} / {p95 * 1000:.1f} ms ({p50 / echo_p50:.1f}x a bare echo's p50)",
            "p95 <= 50 ms",
            "yes" if p95 <= 0.050 else "no",
        ),
        (
            f"`deskctl serve`, {DESKS} desks idle for {IDLE_S:.0f} s: CPU / wall time",
            f"{idle:.2%} of one core",
            "<= 1 %",
            "yes" if idle <= 0.01 else "no",
        ),
        (
            f"`deskctl serve`: memory per desk ({DESKS} desks against 1)",
            f"{per_desk:.0f} KiB ({rss_fleet / 1024:.0f} MiB in all)",
            "(info)",
            "-",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
