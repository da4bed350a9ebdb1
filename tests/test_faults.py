"""Faults from outside: a full disk, damaged database pages, read-only folders, and a run
killed or terminated at random points.  Each ends in one ``deskctl:`` line with the
README's exit code, and nothing committed is lost."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskctl.history import History

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
HERE = Path(__file__).parent
STORAGE = 6  # the README's exit code for a state file that cannot be written


def deskctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKCTL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("deskctl: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@contextlib.contextmanager
def mounted(folder: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at ``folder``; the test is skipped where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Take every free byte of the file system ``folder`` is on."""
    with (folder / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 4096)


# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def full_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Config, state and data folders on a small file system with no room left."""
    with mounted(isolated_home / "disk", "size=512k") as disk:
        for variable, name in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_DATA_HOME", "data"),
        ):
            (disk / name).mkdir()
            monkeypatch.setenv(variable, str(disk / name))
        yield disk


def test_a_full_disk_while_saving_a_profile_leaves_nothing_half_written(full_home: Path) -> None:
    profiles = full_home / "config" / "deskctl" / "profiles"
    assert deskctl("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm").returncode == 0
    before = (profiles / "ana.toml").read_bytes()
    fill(full_home)
    said = one_line(deskctl("profile", "new", "bob", "--sit", "72cm", "--stand", "110cm"), STORAGE)
    assert "No space left on device" in said
    said = one_line(deskctl("profile", "set", "ana", "stand=111cm"), STORAGE)
    assert sorted(p.name for p in profiles.iterdir()) == ["ana.toml"]  # no temporary left
    assert (profiles / "ana.toml").read_bytes() == before


@pytest.mark.parametrize("mode", [["--no-agent"], []])
def test_a_full_disk_under_the_history_is_one_line(full_home: Path, mode: list[str]) -> None:
    fill(full_home)
    said = one_line(deskctl(*mode, "--desk", "sim://full", "run", "--no-notify"), STORAGE)
    assert "history" in said or "No space left" in said or "full" in said


def test_stats_on_a_full_disk_still_reads_the_history(full_home: Path) -> None:
    path = full_home / "data" / "deskctl" / "history.sqlite3"
    history = History(path)
    history.record(1795420800.0, "posture", "sit", "work starts")
    history.close()
    fill(full_home)
    result = deskctl("stats")
    if result.returncode != 0:
        one_line(result, STORAGE)
    (full_home / "filler").unlink()
    check = sqlite3.connect(path)
    assert check.execute("SELECT COUNT(*) FROM events").fetchone() == (1,)
    check.close()


# -- damaged pages -------------------------------------------------------------------------------


def damage(path: Path, seed: int) -> None:
    """Overwrite part of a few pages past the header, as a failing disk would."""
    data = bytearray(path.read_bytes())
    chance = random.Random(seed)
    pages = len(data) // 4096
    # Pages that hold records: the first ones are empty tables' roots, whose unused space a
    # stray write leaves harmless (nothing to detect).
    for page in chance.sample(range(pages // 4, pages), k=min(2, pages - pages // 4)):
        start = page * 4096 + chance.randrange(0, 2048)
        data[start : start + 512] = bytes(chance.randrange(256) for _ in range(512))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("seed", range(3))
def test_a_damaged_history_is_named_and_can_be_set_aside(isolated_home: Path, seed: int) -> None:
    path = isolated_home / "data" / "deskctl" / "history.sqlite3"
    history = History(path)
    for n in range(2000):
        history.record(1795420800.0 + n * 60, "posture", "sit" if n % 2 else "stand", "x" * 40)
    history.close()
    check = sqlite3.connect(path)
    check.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    check.close()
    damage(path, seed)
    damaged = path.read_bytes()
    said = one_line(deskctl("stats"), STORAGE)
    assert f"the history {path} is damaged" in said
    assert "'deskctl history --fresh'" in said
    assert path.read_bytes() == damaged  # nothing was changed on the way
    fresh = deskctl("history", "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    (kept,) = path.parent.glob("history.sqlite3.damaged-*")
    assert kept.read_bytes() == damaged  # kept for whoever can rescue it
    assert deskctl("stats").returncode == 0


# -- read-only folders ---------------------------------------------------------------------------


def test_read_only_folders_are_one_line(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mounted(isolated_home / "ro", "ro,size=64k") as read_only:
        monkeypatch.setenv("XDG_DATA_HOME", str(read_only))
        said = one_line(deskctl("--no-agent", "--desk", "sim://ro", "run", "--no-notify"), STORAGE)
        assert "history" in said
        monkeypatch.setenv("XDG_CONFIG_HOME", str(read_only))
        one_line(deskctl("profile", "new", "ana", "--sit", "70cm", "--stand", "108cm"), STORAGE)


# -- a run killed or terminated ------------------------------------------------------------------


def start_run(desk: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [DESKCTL, "--no-agent", "--desk", desk, "run", "--no-notify"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM])
def test_a_run_ended_at_a_random_point_loses_nothing(
    isolated_home: Path, stop_signal: signal.Signals, seed: int
) -> None:
    path = isolated_home / "data" / "deskctl" / "history.sqlite3"
    history = History(path)  # what earlier runs committed
    for n in range(50):
        history.record(1795420800.0 + n, "exercise", "done", "calf-raises")
    history.close()
    chance = random.Random(seed)
    # At once, after the greeting, or after the schedule's first word.  A SIGTERM needs the
    # program running (before that the system's default ends it, with nothing yet to lose).
    lines_first = chance.randrange(0 if stop_signal == signal.SIGKILL else 1, 3)
    runner = start_run(f"sim://killed{seed}")
    assert runner.stdout is not None
    for _ in range(lines_first):
        runner.stdout.readline()
    runner.send_signal(stop_signal)
    code = runner.wait(timeout=30)
    assert runner.stderr is not None
    stderr = runner.stderr.read()
    if stop_signal == signal.SIGTERM:
        assert code == 0, stderr
        assert stderr == ""
    else:
        assert code == -signal.SIGKILL
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (done,) = check.execute("SELECT COUNT(*) FROM events WHERE kind = 'exercise'").fetchone()
    check.close()
    assert done == 50
    # The next run finds a whole history and carries on.
    again = start_run(f"sim://killed{seed}")
    assert again.stdout is not None
    assert again.stdout.readline().startswith("following the schedule")
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=30) == 0
    check = sqlite3.connect(path)
    postures = check.execute("SELECT what FROM events WHERE kind = 'posture'").fetchall()
    check.close()
    assert postures == [] or postures[-1] == ("off",)  # nothing left open


@pytest.mark.parametrize("mode", [["--no-agent"], []])
def test_a_move_on_a_full_disk_is_no_desk_fault(full_home: Path, mode: list[str]) -> None:
    assert deskctl(*mode, "--desk", "sim://moving?speed=50", "status").returncode == 0
    fill(full_home)
    result = deskctl(*mode, "--desk", "sim://moving?speed=50", "move", "100cm")
    if result.returncode != 0:  # the desk moved; only remembering it failed
        assert "No space left on device" in one_line(result, STORAGE)
    (full_home / "filler").unlink()
    if not mode:  # the agent holds the desk: it is where the move left it
        status = deskctl("--json", "--desk", "sim://moving", "status").stdout
        assert '"height_mm": 1000.0' in status
