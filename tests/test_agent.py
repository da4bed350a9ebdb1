"""The agent: one owner per desk, every face at once, and the safety rules that span
processes, tested with real processes (the installed ``deskctl``) and a real socket."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_rig import agent_pid, end_agent, wait_for_agent_exit

from deskctl import runtime
from deskctl.drivers.registry import parse_desk_url, physical_key
from deskctl.lock import DeskLock

DESKCTL = str(Path(sys.executable).with_name("deskctl"))
SLOW = "sim://slow"  # real speed: a move of 48 cm takes about 13 s
Reading = dict[str, Any]


def deskctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKCTL, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def height(desk: str = SLOW) -> Reading:
    result = deskctl("--desk", desk, "--json", "status")
    assert result.returncode == 0, result.stderr
    data: Reading = json.loads(result.stdout)
    return data


def folder() -> Path:
    return runtime.runtime_dir()


class Watch:
    """``deskctl --json watch`` in its own process: every state it prints, as it comes."""

    def __init__(self, desk: str = SLOW, *extra: str) -> None:
        self.process = subprocess.Popen(
            [DESKCTL, "--desk", desk, "--json", *extra, "watch"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.seen: list[Reading] = []
        self._buffer = b""

    def until(self, wanted: Callable[[Reading], bool], timeout: float = 60) -> Reading:
        """The first state (from now on) that is ``wanted``; blocks on the pipe, no polling."""
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            while b"\n" not in self._buffer:
                ready, _, _ = select.select([stdout], [], [], timeout)
                assert ready, f"no wanted state within {timeout} s; saw {self.seen[-3:]}"
                chunk = os.read(stdout.fileno(), 65536)
                assert chunk, (
                    f"watch ended: {self.process.stderr.read() if self.process.stderr else b''!r}"
                )
                self._buffer += chunk
            line, _, self._buffer = self._buffer.partition(b"\n")
            state: Reading = json.loads(line)
            self.seen.append(state)
            if wanted(state):
                return state

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def watch() -> Iterator[Callable[..., Watch]]:
    made: list[Watch] = []

    def make(desk: str = SLOW, *extra: str) -> Watch:
        made.append(Watch(desk, *extra))
        made[-1].until(lambda _: True)  # it is connected and has said where the desk is
        return made[-1]

    yield make
    for each in made:
        each.close()


def moving_up(state: Reading) -> bool:
    return bool(state["moving"]) and state["height_mm"] > 730.0


def at_rest(state: Reading) -> bool:
    return not state["moving"]


def test_stop_from_a_second_terminal_stops_a_move_from_the_first(watch: Any) -> None:
    seen = watch()
    mover = subprocess.Popen(
        [DESKCTL, "--desk", SLOW, "move", "120cm"], stderr=subprocess.PIPE, text=True
    )
    seen.until(moving_up)  # the watcher (a third process) sees the first one's move
    stopper = deskctl("--desk", SLOW, "stop")
    assert stopper.returncode == 0, stopper.stderr
    assert stopper.stdout.startswith("stopped at")
    assert mover.wait(timeout=30) == 130
    assert mover.stderr is not None
    message = mover.stderr.read()
    assert message.count("\n") == 1
    assert re.search(r"rests at \d+\.\d cm", message), message
    rest = seen.until(at_rest)
    assert 730.0 < rest["height_mm"] < 1150.0
    assert height()["height_mm"] == rest["height_mm"]  # and it stays there


def test_a_client_killed_mid_move_stops_the_desk(watch: Any) -> None:
    seen = watch()
    mover = subprocess.Popen([DESKCTL, "--desk", SLOW, "move", "120cm"], stderr=subprocess.DEVNULL)
    seen.until(moving_up)
    mover.kill()  # no goodbye: the agent sees its socket close
    mover.wait(timeout=30)
    rest = seen.until(at_rest)
    assert rest["height_mm"] < 1150.0
    assert height()["height_mm"] == rest["height_mm"]


def test_the_agent_killed_mid_move_leaves_the_desk_stopped(watch: Any) -> None:
    seen = watch()
    mover = subprocess.Popen(
        [DESKCTL, "--desk", SLOW, "move", "120cm"], stderr=subprocess.PIPE, text=True
    )
    moving = seen.until(moving_up)
    pid = agent_pid(folder())
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for_agent_exit(folder())
    assert mover.wait(timeout=30) == 3
    assert mover.stderr is not None
    assert "agent went away" in mover.stderr.read()
    seen.process.wait(timeout=30)  # the watcher says so too, in one line
    assert seen.process.returncode == 3
    assert seen.process.stderr is not None
    assert seen.process.stderr.read().decode().startswith("deskctl: the deskctl agent went away")
    # The next command starts a new agent, which finds the desk where it stopped.
    after = height()
    assert agent_pid(folder()) not in (None, pid)
    assert not after["moving"]
    assert moving["height_mm"] - 40 < after["height_mm"] < 1150.0
    assert height() == after


def test_a_collision_holds_until_stop_across_commands_and_agent_restarts() -> None:
    blocked = "sim://o3?obstacle=80cm&speed=10"
    first = deskctl("--desk", blocked, "move", "100cm")
    assert first.returncode == 5
    assert "run 'deskctl stop' to re-arm it" in first.stderr
    again = deskctl("--desk", blocked, "move", "100cm")
    assert again.returncode == 5, again.stdout
    assert height("sim://o3")["fault"] == "collision"
    end_agent(folder())
    assert deskctl("--desk", blocked, "move", "100cm").returncode == 5
    end_agent(folder())
    direct = deskctl("--no-agent", "--desk", blocked, "move", "100cm")
    assert direct.returncode == 5, direct.stdout
    assert deskctl("--desk", "sim://o3", "stop").returncode == 0
    assert height("sim://o3")["fault"] is None
    assert deskctl("--desk", blocked, "move", "75cm").returncode == 0


def test_two_spellings_of_one_desk_share_one_lock() -> None:
    assert physical_key(parse_desk_url("sim://")) == physical_key(parse_desk_url("sim://default"))
    with DeskLock(runtime.lock_file(physical_key(parse_desk_url("sim://"))), "sim://"):
        for how in (["--no-agent"], []):
            busy = deskctl(*how, "--desk", "sim://default?speed=50", "move", "90cm")
            assert busy.returncode == 4, busy.stderr
            assert f"pid {os.getpid()}" in busy.stderr
    assert height("sim://")["height_mm"] == 720.0


def test_one_serial_port_is_one_desk_whatever_its_name_or_home(tmp_path: Path) -> None:
    emulator = subprocess.Popen(
        [DESKCTL, "--json", "emulate", "jiecang"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert emulator.stdout is not None
        port = json.loads(emulator.stdout.readline())["port"]
        link = tmp_path / "ttyDESK"
        link.symlink_to(port)
        holder = Watch(f"jiecang://{port}", "--no-agent")
        try:
            holder.until(lambda _: True)
            other_home = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "elsewhere")}
            for how in (["--no-agent"], []):
                busy = deskctl(*how, "--desk", f"jiecang://{link}", "status", env=other_home)
                assert busy.returncode == 4, busy.stderr
        finally:
            holder.close()
        assert deskctl("--desk", f"jiecang://{link}", "status").returncode == 0
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


def test_stop_reaches_a_desk_held_without_the_agent() -> None:
    controller, terminal = pty.openpty()  # a terminal, so that the progress bar shows
    mover = subprocess.Popen(
        [DESKCTL, "--no-agent", "--desk", SLOW, "move", "120cm"], stderr=terminal, text=True
    )
    os.close(terminal)
    seen = b""
    while not re.search(rb"to 120\.0 cm.*(7[3-9]|[89]\d|1[01]\d)\.\d cm", seen, re.DOTALL):
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, f"the move never showed: {seen!r}"
        seen += os.read(controller, 4096)
    stopper = deskctl("--desk", SLOW, "stop")
    assert stopper.returncode == 0, stopper.stderr
    assert f"told pid {mover.pid}" in stopper.stdout
    assert mover.wait(timeout=30) == 130
    os.close(controller)
    assert height()["height_mm"] < 1150.0


def test_the_socket_is_the_users_alone() -> None:
    assert deskctl("status").returncode == 0
    here = folder()
    assert here.stat().st_mode & 0o777 == 0o700
    assert (here / "agent.sock").stat().st_mode & 0o777 == 0o600


SYSTEM_PYTHON = "/usr/bin/python3"  # one that another user may run


@pytest.mark.skipif(
    os.getuid() != 0 or not os.access(SYSTEM_PYTHON, os.X_OK),
    reason="needs root and a system Python to run a client as another user",
)
def test_a_client_of_another_user_is_refused() -> None:
    assert deskctl("status").returncode == 0
    here = folder()
    # Open the folder and socket to everyone, so that only the credential check is left.
    here.chmod(0o755)
    here.parent.chmod(0o755)
    (here / "agent.sock").chmod(0o666)
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        "s.settimeout(20)\n"
        "try:\n"
        '    s.sendall(b\'{"v":1,"id":1,"op":"hello"}\\n\')\n'
        "    print('answered' if s.recv(1000) else 'closed')\n"
        "except (BrokenPipeError, ConnectionResetError):\n"
        "    print('closed')\n"
    )
    stranger = subprocess.run(
        [SYSTEM_PYTHON, "-c", probe, str(here / "agent.sock")],
        user=65534,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stranger.stdout.strip() == "closed", stranger.stdout + stranger.stderr
    assert deskctl("status").returncode == 0  # the agent goes on


class Line:
    """A raw client: what scripts in other languages see."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(str(folder() / "agent.sock"))
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> Reading | None:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: Reading = json.loads(line)
        return message

    def answer(self) -> Reading:
        """The next answer, past any events."""
        while True:
            message = self.read()
            assert message is not None, "the agent closed the connection"
            if "event" not in message:
                return message


def test_bad_messages_get_an_error_and_the_agent_goes_on() -> None:
    assert deskctl("status").returncode == 0
    line = Line()
    bad = {
        b"not json\n": "not JSON",
        b"[1, 2]\n": "not a JSON object",
        b'{"v": 2, "id": 1, "op": "hello"}\n': "protocol version 2",
        b'{"v": 1, "id": 2, "op": "fly"}\n': "bad request",
        b'{"v": 1, "id": 3, "op": "move", "desk": "sim://default", "height_mm": 900}\n': (
            "open sim://default first"
        ),
        b'{"v": 1, "id": 4, "op": "open", "url": "ftp://desk"}\n': "unknown desk type",
        b'{"v": 1, "id": 5, "op": "move", "desk": "x", "height_mm": "NaN"}\n': "bad request",
        b'{"v": 1, "id": 6, "op": "hold", "desk": "x", "direction": "up", "lease_s": 99}\n': (
            "bad request"
        ),
    }
    for message, problem in bad.items():
        line.send(message)
        answer = line.answer()
        assert answer["ok"] is False
        assert problem in answer["error"]["message"], answer
    line.send(b'{"v": 1, "id": 7, "op": "hello", "client": "test"}\n')
    assert line.answer() == {"v": 1, "id": 7, "ok": True, "result": line_hello()}
    line.send(b'{"v": 1, "id": 8, "op": "open", "url": "sim://default"}\n')
    opened = line.answer()
    assert opened["ok"], opened
    assert opened["result"]["state"]["height_mm"] == 720.0
    line.send(b"x" * 100_000 + b"\n")  # over the size bound: an error, then the line is closed
    refusal = line.read()
    assert refusal is not None
    assert refusal["ok"] is False
    assert "over" in refusal["error"]["message"]
    assert line.read() is None
    assert height("sim://default")["height_mm"] == 720.0  # the agent goes on


def line_hello() -> Reading:
    pid = agent_pid(folder())
    from deskctl import __version__

    return {"agent_pid": pid, "version": __version__}


@pytest.mark.parametrize("how", [["--no-agent"], []])
def test_a_cable_pulled_mid_move_is_one_line_on_stderr(how: list[str]) -> None:
    emulator = subprocess.Popen(
        [DESKCTL, "--json", "emulate", "jiecang"], stdout=subprocess.PIPE, text=True
    )
    assert emulator.stdout is not None
    port = json.loads(emulator.stdout.readline())["port"]
    controller, terminal = pty.openpty()  # a terminal, so that the progress bar shows
    mover = subprocess.Popen(
        [DESKCTL, *how, "--desk", f"jiecang://{port}", "move", "120cm"],
        stderr=terminal,
    )
    os.close(terminal)
    try:
        seen = b""
        while not re.search(rb"to 120\.0 cm.*(7[3-9]|[89]\d|1[01]\d)\.\d cm", seen, re.DOTALL):
            ready, _, _ = select.select([controller], [], [], 30)
            assert ready, f"the move never showed: {seen!r}"
            seen += os.read(controller, 4096)
        emulator.kill()  # the cable is pulled: the port is gone
        emulator.wait(timeout=30)
        assert mover.wait(timeout=60) == 3
        said = b""
        while select.select([controller], [], [], 0)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
        # Past the progress bar's own escapes, what is left is the one error line.
        text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", said).decode(errors="replace")
        lines = [
            line
            for line in text.replace("\r", "\n").splitlines()
            if line.strip() and "to 120.0 cm" not in line
        ]
        assert len(lines) == 1, text
        assert lines[0].strip().startswith("deskctl: ")
    finally:
        mover.kill()
        emulator.kill()
        os.close(controller)
