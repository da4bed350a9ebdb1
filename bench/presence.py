"""The schedule at rest with presence from the desktop: ``deskctl run`` and its agent
idle for a minute while the agent's schedule follows logind and GNOME's idle monitor on
a D-Bus of the benchmark's own (a private dbus-daemon, with fake services in another
process).  CPU time over wall time and wake-ups, from /proc, of deskctl's processes only:
signals, not polling, so a bout at rest should cost nothing more than without presence.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from isolated import agent_pid, isolated_env
from policy import cpu_and_wakeups

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

Row = tuple[str, str, str, str]
DESKCTL = str(Path(sys.executable).with_name("deskctl"))
SETTLE_S = 5.0
IDLE_S = 60.0


async def serve(address: str) -> None:
    """The fake desktop: logind's session and GNOME's idle monitor, until stdin closes;
    then say what deskctl asked of them."""
    from desktop_rig import fake_logind, fake_mutter

    async with fake_logind(address) as (manager, _), fake_mutter(address) as monitor:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        print(f"{len(manager.asked)} {len(monitor.idle_watches)} {monitor.asked}", flush=True)


def start_bus(folder: Path) -> tuple[subprocess.Popen[str], str]:
    from dbus_rig import BUS_CONFIG

    config = folder / "bus.conf"
    config.write_text(BUS_CONFIG.format(folder=folder))
    daemon = shutil.which("dbus-daemon")
    assert daemon is not None, "dbus-daemon is missing: scripts/setup --test installs it"
    process = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def idle_with_presence() -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="dk-bus-", dir="/tmp"))
    bus, address = start_bus(folder)
    fakes = subprocess.Popen(
        [sys.executable, __file__, "--serve", address],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fakes.stdout is not None
    assert fakes.stdin is not None
    fakes.stdout.readline()  # ready
    try:
        with isolated_env() as env:
            env.update(
                DBUS_SESSION_BUS_ADDRESS=address,
                DBUS_SYSTEM_BUS_ADDRESS=address,
                XDG_SESSION_ID="c2",
            )
            env.pop("DISPLAY", None)
            share, wakes = measure(env)
        fakes.stdin.close()
        asked_logind, watches, idle_asked = map(int, fakes.stdout.readline().split())
    finally:
        fakes.wait(timeout=30)
        bus.terminate()
        bus.wait()
        shutil.rmtree(folder, ignore_errors=True)
    followed = asked_logind > 0 and watches > 0
    return [
        (
            f"`deskctl run` and its agent with presence (logind, GNOME) idle for {IDLE_S:.0f} s:"
            " CPU time / wall time",
            f"{share:.3%}",
            "<= 0.2 %",
            "yes" if share <= 0.002 and followed else "no",
        ),
        (
            f"the same: wake-ups, and idle-time questions to the desktop ({watches} idle watch)",
            f"{wakes} wake-ups, {idle_asked} questions",
            "only what the schedule needs (none within a bout)",
            "yes" if wakes <= 2 and followed else "no",
        ),
    ]


def measure(env: dict[str, str]) -> tuple[float, int]:
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
    return share, wakes


def run() -> list[Row]:
    return idle_with_presence()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve(sys.argv[2]))
    else:
        for row in run():
            print(" | ".join(row))
