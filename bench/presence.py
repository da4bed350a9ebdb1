"""The schedule at rest with presence from the desktop and the person's calendars:
``deskctl run`` and its agent idle for a minute while the agent's schedule follows logind
and GNOME's idle monitor on a D-Bus of the benchmark's own (a private dbus-daemon, with
fake services in another process) and a profile that names a calendar file and a calendar
URL.  CPU time over wall time and wake-ups, from /proc, of deskctl's processes only:
signals, not polling, so a bout at rest should cost nothing more than without them.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from isolated import isolated_env
from policy import IDLE_S, calendar_profile, idle_cost
from test_policy_meetings import MONTH

Row = tuple[str, str, str, str]


async def serve(address: str) -> None:
    """The fake desktop: logind's session and GNOME's idle monitor, until stdin closes;
    then say what deskctl asked of them."""
    from desktop_rig import fake_logind, fake_mutter

    async with fake_logind(address) as (manager, _), fake_mutter(address) as monitor:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        print(f"{len(manager.asked)} {len(monitor.idle_watches)} {monitor.asked}", flush=True)


def idle_with_presence() -> list[Row]:
    from dbus_rig import start_session_bus  # beside the tests, on the path isolated set

    folder = Path(tempfile.mkdtemp(prefix="dk-bus-", dir="/tmp"))
    bus, address = start_session_bus(folder)
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
            calendar = Path(env["XDG_CONFIG_HOME"]) / "meetings.ics"
            calendar.write_text(MONTH)
            with calendar_profile(env, calendar) as options:
                share, wakes = idle_cost(env, options)
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
            f"`deskctl run` and its agent with presence (logind, GNOME) and calendars (a file,"
            f" a URL) idle for {IDLE_S:.0f} s: CPU time / wall time",
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


def run() -> list[Row]:
    return idle_with_presence()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve(sys.argv[2]))
    else:
        for row in run():
            print(" | ".join(row))
