"""``deskctl simulate``, ``stats`` and ``run`` as a user runs them."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DESKCTL = str(Path(sys.executable).with_name("deskctl"))


def deskctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKCTL, *args], capture_output=True, text=True, timeout=60, check=False)


def test_simulate_a_working_week() -> None:
    result = deskctl("simulate", "--days", "5", "--start", "2026-11-23")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.endswith(" Nov") for line in lines) == 5  # a timeline row per day
    assert "x real time" in lines[-1]
    data = json.loads(deskctl("--json", "simulate", "--days", "7", "--start", "2026-11-23").stdout)
    weekdays, weekend = data["days"][:5], data["days"][5:]
    assert all(day["changes"] >= 10 for day in weekdays)
    assert all(day["standing_min"] == 0 for day in weekend)
    assert all(day["longest_sitting_min"] <= 90 for day in weekdays)
    assert data["speed"] > 1e5


def test_simulate_shows_the_exercise_paired_with_each_change() -> None:
    plain = deskctl("simulate", "--days", "1", "--start", "2026-11-23")
    assert "--changes lists each change" in plain.stdout
    result = deskctl("simulate", "--days", "1", "--start", "2026-11-23", "--changes")
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.splitlines() if "(prompt):" in line]
    assert len(listed) >= 10
    assert any(line.startswith(tuple(f"{h:02d}:" for h in range(9, 18))) for line in listed)
    assert all(line.split(": ", 1)[1] != "no exercise" for line in listed)
    assert any("Standing back arch" in line for line in listed)
    data = json.loads(deskctl("--json", "simulate", "--days", "1", "--start", "2026-11-23").stdout)
    prompted = [c for c in data["days"][0]["changes_made"] if c["cause"] == "prompt"]
    assert prompted
    assert all(c["exercise"] for c in prompted)


def test_simulate_uses_the_profile_rhythm() -> None:
    made = deskctl("profile", "new", "ana", "--body-height", "170cm")
    assert made.returncode == 0, made.stderr
    changed = deskctl("profile", "set", "ana", "schedule.sit_minutes=45", "schedule.hours=")
    assert changed.returncode != 0  # hours is a table: set it in the file
    assert deskctl("profile", "set", "ana", "schedule.sit_minutes=45").returncode == 0
    slow = json.loads(
        deskctl(
            "--json", "--profile", "ana", "simulate", "--days", "1", "--start", "2026-11-23"
        ).stdout
    )
    quick = json.loads(deskctl("--json", "simulate", "--days", "1", "--start", "2026-11-23").stdout)
    assert slow["days"][0]["changes"] < quick["days"][0]["changes"]


def test_stats_on_an_empty_history_and_bad_input() -> None:
    for start in ("2026-13-01", "yesterday"):
        refused = deskctl("simulate", "--start", start)
        assert refused.returncode == 2
        assert (
            refused.stderr
            == f"deskctl: --start {start!r} is not a date: write it like 2026-11-23\n"
        )
    result = deskctl("--json", "stats", "--week")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["days"]) == 7
    assert data["streak"] == 0
    bad = deskctl("simulate", "--days", "0")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(
    ("command", "greeting"),
    [(["run", "--no-notify"], "following the schedule at sim://runner"), (["watch"], "72.0 cm")],
)
def test_run_and_watch_end_cleanly_when_interrupted_or_terminated(
    stop_signal: signal.Signals, command: list[str], greeting: str
) -> None:
    runner = subprocess.Popen(
        [DESKCTL, "--desk", "sim://runner?speed=50", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    first = runner.stdout.readline()
    assert first.startswith(greeting)
    runner.send_signal(stop_signal)
    assert runner.wait(timeout=30) == 0
    assert runner.stderr is not None
    assert runner.stderr.read() == ""


def test_run_says_when_the_next_change_is_due_or_when_work_starts() -> None:
    runner = subprocess.Popen(
        [DESKCTL, "--desk", "sim://runner?speed=50", "run", "--no-notify"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    runner.stdout.readline()  # following the schedule ...
    # Bounded, so that a run that never says it fails rather than hangs.
    ready, _, _ = select.select([runner.stdout], [], [], 30)
    second = runner.stdout.readline() if ready else ""
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=30) == 0
    assert re.match(
        r"\d\d:\d\d (outside working hours until (\w{3} )?\d\d:\d\d"
        r"|(sitting|standing); next change \((stand up|sit down)\) at (\w{3} )?\d\d:\d\d)$",
        second.rstrip("\n"),
    ), second
