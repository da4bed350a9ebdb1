"""The terminal interface: how soon it paints, and how soon a key reaches the desk.

* First paint: ``deskctl`` and a minimal Textual app (one label) are started
  alternately in a real terminal (tmux, 80x24); each is timed from its start
  until its first screen is up (the section bar and the dashboard for deskctl, the
  label for the other), watching the terminal's output through a FIFO.  Medians are compared.
* Key to desk: in-process with Textual's Pilot, the time from pressing Sit or
  Stand to the moment the simulated desk is handed its target; p95 over many
  presses.
"""

from __future__ import annotations

import asyncio
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from isolated import isolated_env

Row = tuple[str, str, str, str]
DESKCTL = Path(sys.executable).with_name("deskctl")
RUNS = 15
# deskctl's first screen is up when its section bar and the dashboard's buttons are.
DASHBOARD = ("Schedule", "Stand (t)", "Stop (space)")
TMUX = ["tmux", "-L", f"deskctl-bench-{os.getpid()}"]
PRESSES = 60
MINIMAL_APP = """
from textual.app import App
from textual.widgets import Label

class Minimal(App):
    def compose(self):
        yield Label("minimal app ready")

Minimal().run()
"""


def first_paint(command: str, markers: tuple[str, ...], xdg: dict[str, str]) -> float:
    """Seconds from starting ``command`` in an 80x24 tmux pane until every marker shows."""
    session = "paint"
    fifo = Path(tempfile.mkdtemp()) / "screen"
    os.mkfifo(fifo)
    env_args = [arg for name, value in xdg.items() for arg in ("-e", f"{name}={value}")]
    subprocess.run(
        [
            *TMUX,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            *env_args,
            f"read _ && exec {command}",
        ],
        check=True,
    )
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        subprocess.run([*TMUX, "pipe-pane", "-t", session, "-o", f"cat > {fifo}"], check=True)
        started = time.perf_counter()
        subprocess.run([*TMUX, "send-keys", "-t", session, "Enter"], check=True)
        while True:
            select.select([reader], [], [], 10)
            os.read(reader, 1 << 16)
            shown = subprocess.run(
                [*TMUX, "capture-pane", "-p", "-t", session],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if all(marker in shown for marker in markers):
                return time.perf_counter() - started
    finally:
        subprocess.run([*TMUX, "kill-session", "-t", session], check=False)
        os.close(reader)


def paint_rows() -> list[Row]:
    minimal = Path(tempfile.mkdtemp()) / "minimal.py"
    minimal.write_text(MINIMAL_APP)
    ours, theirs = [], []
    # The server's environment is every pane's: Python caches compiled modules there, as it
    # does for an installed deskctl and Textual, even where the caller's says not to. A
    # session of its own keeps the server up (one that exits with its last session can
    # refuse the next new session).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([*TMUX, "new-session", "-d", "-s", "keep"], check=True, env=env)
    try:
        with isolated_env() as isolated:
            xdg = {k: v for k, v in isolated.items() if k.startswith("XDG_")}

            def both() -> tuple[float, float]:
                return (
                    first_paint(f"{DESKCTL} --desk sim://bench", DASHBOARD, xdg),
                    first_paint(f"{sys.executable} {minimal}", ("minimal app ready",), xdg),
                )

            both()  # compiles and caches; the runs after it are measured
            for _ in range(RUNS):
                mine, minimal_app = both()
                ours.append(mine)
                theirs.append(minimal_app)
    finally:
        subprocess.run([*TMUX, "kill-server"], check=False)
    ratio = statistics.median(ours) / statistics.median(theirs)
    return [
        (
            "`deskctl` first paint / a minimal Textual app's (medians)",
            f"{ratio:.2f} ({statistics.median(ours) * 1000:.0f} / "
            f"{statistics.median(theirs) * 1000:.0f} ms)",
            "<= 1.5",
            "yes" if ratio <= 1.5 else "no",
        )
    ]


async def key_latencies() -> list[float]:
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.paths import Paths
    from deskctl.tui.app import DeskApp, Options
    from deskctl.units import Unit

    # A desk clock 1000 times faster turns every hitch of this machine into seconds of motor
    # time: the motor may run all the time here, so that no move is refused for resting.
    sit, stand = 720.0, 740.0
    url = "sim://bench?speed=1000&duty_on_s=1200"
    options = Options(url, Paths.from_env(), Unit.CM, sit, stand)
    app = DeskApp(options, history=History(":memory:"))
    latencies: list[float] = []
    pressed = 0.0
    reached = asyncio.Event()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.ready.wait()
        desk = app.desk
        assert isinstance(desk, Desk)
        original = desk.send_target

        async def timed(height_mm: float) -> None:
            if not reached.is_set():
                latencies.append(time.perf_counter() - pressed)
                reached.set()
            await original(height_mm)

        desk.send_target = timed  # type: ignore[method-assign]
        for n in range(PRESSES):
            reached.clear()
            pressed = time.perf_counter()
            await pilot.press("t" if n % 2 == 0 else "s")
            async with asyncio.timeout(10):  # a refused move fails the run, never hangs it
                await reached.wait()
                with desk.subscribe() as states:
                    while (
                        desk.state.moving
                        or abs(desk.state.height_mm - (stand if n % 2 == 0 else sit)) > 1
                    ):
                        await anext(states)
    return latencies


def key_rows() -> list[Row]:
    with tempfile.TemporaryDirectory() as home:
        for kind in ("CONFIG", "STATE", "DATA"):
            os.environ[f"XDG_{kind}_HOME"] = home
        latencies = asyncio.run(key_latencies())
    p95 = statistics.quantiles(latencies, n=20)[-1]
    return [
        (
            "TUI key press to the desk's first command (p95)",
            f"{p95 * 1000:.1f} ms (median {statistics.median(latencies) * 1000:.1f} ms)",
            "<= 50 ms",
            "yes" if p95 <= 0.050 else "no",
        )
    ]


def run() -> list[Row]:
    return paint_rows() + key_rows()


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row))
