"""The schedule: how fast the engine simulates, and what ``deskctl run`` costs when idle.

* ``deskctl simulate --days 5`` reports the simulated time over the wall time it
  took (the target is 100,000x real time or more).
* ``deskctl run`` on the simulated desk is left alone for a minute after it has
  started: its CPU time over that minute, and how often it woke up (voluntary
  context switches), from /proc.  Both are measured on the process itself, so
  a busy machine changes them little.  Again with a profile that names two
  calendars, a file and a URL on a local web server.
* A simulated month with a calendar of realistic meetings: its speed against the
  same month without, and how long after a meeting's end each postponed change
  was asked for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from isolated import agent_pid, isolated_env
from test_policy_meetings import MONTH  # a month of realistic meetings

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


def simulate_month_with_meetings(env: dict[str, str], calendar: Path) -> list[Row]:
    month = ["--json", "simulate", "--days", "28", "--start", "2026-11-23"]
    local = {**env, "TZ": "Europe/Berlin"}

    def simulated(*more: str) -> dict[str, Any]:
        found = subprocess.run(
            [DESKCTL, *month, *more], env=local, capture_output=True, text=True, check=True
        )
        data: dict[str, Any] = json.loads(found.stdout)
        return data

    plain, meetings = simulated(), simulated("--calendar", str(calendar))
    zone = ZoneInfo("Europe/Berlin")
    late = []
    for day in meetings["days"]:
        for wait in day["postponed"]:
            if wait["asked"] is None or wait["away"]:  # asked when the person came back
                continue
            due = dt.datetime.fromtimestamp(wait["due"], zone)
            hour, minute = (int(part) for part in wait["why"].rsplit(" ", 1)[1].split(":"))
            ends = due.replace(hour=hour, minute=minute, second=0).timestamp()
            late.append(wait["asked"] - ends)
    met = sum(d["goal_met"] for d in meetings["days"] if d["goal_min"] > 0)
    met_plain = sum(d["goal_met"] for d in plain["days"] if d["goal_min"] > 0)
    working = sum(d["goal_min"] > 0 for d in meetings["days"])
    return [
        (
            "`deskctl simulate --days 28` with a calendar of meetings / without: speed",
            f"{meetings['speed'] / plain['speed']:.2f} ({meetings['speed']:,.0f}x real time)",
            ">= 100,000x real time",
            "yes" if meetings["speed"] >= 1e5 else "no",
        ),
        (
            "same: changes postponed by meetings (the person at the desk at the meeting's "
            "end); asked after the end, worst",
            f"{len(late)}; {max(late):.0f} s",
            "<= 120 s",
            "yes" if max(late) <= 120 else "no",
        ),
        (
            "same: working days meeting the standing goal, with meetings / without "
            "(the seeded person snoozes, skips and takes breaks)",
            f"{met} / {met_plain} of {working}",
            "(info)",
            "",
        ),
    ]


class CalendarServer:
    """A calendar on a web server on this machine, for the schedule to fetch."""

    def __init__(self, body: bytes) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/team.ics"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@contextlib.contextmanager
def calendar_profile(env: dict[str, str], calendar: Path) -> Iterator[list[str]]:
    """A profile that names ``calendar`` twice, as a file and as a URL on a local web
    server: the options that choose it."""
    server = CalendarServer(calendar.read_bytes())
    try:
        for command in (
            ["profile", "new", "bench", "--sit", "72cm", "--stand", "110cm"],
            ["profile", "set", "bench", f"calendars={calendar},{server.url}"],
        ):
            subprocess.run([DESKCTL, *command], env=env, capture_output=True, check=True)
        yield ["--profile", "bench"]
    finally:
        server.close()


def idle_run_with_calendars(env: dict[str, str], calendar: Path) -> list[Row]:
    with calendar_profile(env, calendar) as options:
        rows = idle_run(env, options)
    return [(f"{row[0]}, with a calendar file and a URL", *row[1:]) for row in rows]


def idle_run(env: dict[str, str], options: list[str] | None = None) -> list[Row]:
    """``deskctl run`` and the agent that runs its schedule, idle together."""
    share, wakes = idle_cost(env, options)
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


def idle_cost(env: dict[str, str], options: list[str] | None = None) -> tuple[float, int]:
    """CPU time over wall time, and wake-ups, of ``deskctl run`` and its agent at rest."""
    process = subprocess.Popen(
        [DESKCTL, *(options or []), "--desk", "sim://bench", "run", "--no-notify"],
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
    return share, wakes


def run() -> list[Row]:
    with isolated_env() as env:
        calendar = Path(env["XDG_CONFIG_HOME"]) / "meetings.ics"
        calendar.write_text(MONTH)
        return [
            simulate_speed(env),
            *simulate_month_with_meetings(env, calendar),
            *idle_run(env),
            *idle_run_with_calendars(env, calendar),
        ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
