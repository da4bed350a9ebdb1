"""``deskctl simulate --calendar`` as a user runs it, and calendars in a profile."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from test_policy_meetings import MONTH

DESKCTL = str(Path(sys.executable).with_name("deskctl"))


def deskctl(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": "Europe/Berlin"}
    return subprocess.run(
        [DESKCTL, *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_simulate_shows_the_changes_meetings_postponed(tmp_path: Path) -> None:
    work, other = tmp_path / "work.ics", tmp_path / "team.ics"
    work.write_text(MONTH)
    other.write_text(MONTH.replace("UID:", "UID:other-"))
    days = ("simulate", "--days", "5", "--start", "2026-11-23")
    result = deskctl(*days, "--calendar", str(work), "--calendar", str(other))
    assert result.returncode == 0, result.stderr
    # Monday's stand-up is 9:30-9:45, so the change due at 9:40 waits for its end.
    assert "    postponed 09:40 (a meeting until 09:45): asked at 09:45" in result.stdout
    plain = deskctl(*days)
    assert "postponed" not in plain.stdout
    data = json.loads(deskctl("--json", *days, "--calendar", str(work)).stdout)
    waits = [wait for day in data["days"] for wait in day["postponed"]]
    assert waits
    assert all(w["asked"] is None or w["asked"] >= w["due"] for w in waits)
    assert {"due", "why", "asked", "away"} == set(waits[0])


def test_simulate_refuses_a_calendar_it_cannot_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_text("this is no calendar")
    for name, why in ((broken, "not an iCalendar file"), (tmp_path / "gone.ics", "cannot read")):
        result = deskctl("simulate", "--calendar", str(name))
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.startswith(f"deskctl: --calendar {name}: {why}")
        assert len(result.stderr.splitlines()) == 1


def test_a_profile_names_its_calendars(tmp_path: Path) -> None:
    ok = deskctl("profile", "new", "ana", "--sit", "72cm", "--stand", "110cm")
    assert ok.returncode == 0, ok.stderr
    good = deskctl("profile", "set", "ana", "calendars=~/work.ics,https://example.org/a.ics")
    assert good.returncode == 0, good.stderr
    shown = json.loads(deskctl("--json", "profile", "show", "ana").stdout)
    assert shown["calendars"] == ["~/work.ics", "https://example.org/a.ics"]
    bad = deskctl("profile", "set", "ana", "calendars=ftp://example.org/a.ics")
    assert bad.returncode == 2
    assert "is no calendar" in bad.stderr


def test_run_says_in_one_line_that_a_calendar_cannot_be_read_and_goes_on(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "gone.ics"
    assert (
        deskctl("profile", "new", "bo", "--sit", "72cm", "--stand", "110cm", "--use").returncode
        == 0
    )
    assert deskctl("profile", "set", "bo", f"calendars={missing}").returncode == 0
    runner = subprocess.Popen(
        [DESKCTL, "--profile", "bo", "--desk", "sim://meetings?speed=50", "run", "--no-notify"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TZ": "Europe/Berlin"},
    )
    assert runner.stdout is not None
    said = []
    for _ in range(4):  # bounded, so that a run that never says it fails rather than hangs
        ready, _, _ = select.select([runner.stdout], [], [], 30)
        said.append(runner.stdout.readline() if ready else "")
        if "calendar" in said[-1]:
            break
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=30) == 0
    line = next(line for line in said if "calendar" in line)
    assert line.rstrip().endswith(
        f"calendar {missing}: cannot read it (No such file or directory); "
        "the schedule goes on without it"
    )
    assert sum("calendar" in line for line in said) == 1
