"""The schedule: how fast the engine simulates, and what ``deskctl run`` costs when idle.

* ``deskctl simulate --days 5`` reports the simulated time over the wall time it
  took (the target is 100,000x real time or more).
* ``deskctl run`` on the simulated desk is left alone for a minute after it has
  started: its CPU time over that minute, and how often it woke up (voluntary
  context switches), from /proc.  Both are measured on the process itself, so
  a busy machine changes them little.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from isolated import agent_pid, isolated_env

Row = tuple[str, str, str, str]
DESKCTL = str(Path(sys.executable).with_name("deskctl"))
SETTLE_S = 5.0
IDLE_S = 60.0


def simulate_speed(env: dict[str, str]) -> Row:
    result = subprocess.run(
        [DESKCTL, "--json", "simulate", "--days", "5", "--start", "2026-11-23"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    speed = json.loads(result.stdout)["speed"]
    return (
        "`deskctl simulate --days 5`: simulated time / wall time",
        f"{speed:,.0f}x",
        ">= 100,000x",
        "yes" if speed >= 1e5 else "no",
    )


def cpu_and_wakeups(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    status = Path(f"/proc/{pid}/status").read_text()
    switches = next(
        int(line.split()[1])
        for line in status.splitlines()
        if line.startswith("voluntary_ctxt_switches")
    )
    return cpu, switches


def idle_run(env: dict[str, str]) -> list[Row]:
    """``deskctl run`` and the agent that runs its schedule, idle together."""
    process = subprocess.Popen(
        [DESKCTL, "--desk", "sim://bench", "run", "--no-notify"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # it has started
        time.sleep(SETTLE_S)
        agent = agent_pid(Path(env["XDG_RUNTIME_DIR"]) / "deskctl")
        assert agent is not None
        pids = (process.pid, agent)
        before = [cpu_and_wakeups(pid) for pid in pids]
        began = time.monotonic()
        time.sleep(IDLE_S)
        after = [cpu_and_wakeups(pid) for pid in pids]
        wall = time.monotonic() - began
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    share = sum(a[0] - b[0] for a, b in zip(after, before, strict=True)) / wall
    wakes = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    return [
        (
            f"`deskctl run` and its agent idle for {IDLE_S:.0f} s: CPU time / wall time",
            f"{share:.3%}",
            "<= 0.5 %",
            "yes" if share <= 0.005 else "no",
        ),
        (
            f"`deskctl run` and its agent idle for {IDLE_S:.0f} s: wake-ups",
            f"{wakes}",
            "only what the schedule needs (none within a bout)",
            "yes" if wakes <= 2 else "no",
        ),
    ]


def run() -> list[Row]:
    with isolated_env() as env:
        return [simulate_speed(env), *idle_run(env)]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
