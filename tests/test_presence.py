"""Each presence source against a fake desktop service on the test's own D-Bus, the
macOS reading from a recorded ``ioreg`` output, and the picking of sources."""

from __future__ import annotations

import asyncio
import math
import os
import stat
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from desktop_rig import fake_logind, fake_mutter, fake_screensaver

from deskctl.presence import CHOICES
from deskctl.presence.gnome import GnomeIdleMonitor
from deskctl.presence.logind import Logind
from deskctl.presence.macos import MacHidIdle, hid_idle_s
from deskctl.presence.pick import SOURCES, open_presence
from deskctl.presence.screensaver import ScreenSaver
from deskctl.presence.source import LOCKED_IDLE_S, Sensed, Sign
from deskctl.presence.xprintidle import XPrintIdle

DATA = Path(__file__).parent / "data"
SIGNAL_TIMEOUT_S = 10.0
"""A guard only: each wait ends when the signal arrives."""


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(scenario)


class Heard:
    """What a source told, in order, to be awaited one by one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Sensed] = asyncio.Queue()

    def __call__(self, sensed: Sensed) -> None:
        self.queue.put_nowait(sensed)

    async def next(self) -> Sensed:
        async with asyncio.timeout(SIGNAL_TIMEOUT_S):
            return await self.queue.get()


@pytest.fixture
def system_bus(session_bus: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's bus stands in for the system bus too (logind lives there)."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", session_bus)
    return session_bus


def test_logind_tells_locks_and_idle_hints_of_this_session(
    system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_SESSION_ID", "c2")

    async def scenario() -> None:
        async with fake_logind(system_bus) as (manager, session):
            heard, source = Heard(), Logind()
            assert await source.open(heard, 300.0)
            assert manager.asked == ["GetSession c2"]
            assert await source.idle_s() == 0.0
            session.lock()
            assert await heard.next() == Sensed(Sign.LOCKED)
            assert await source.idle_s() == LOCKED_IDLE_S
            session.lock(False)
            assert await heard.next() == Sensed(Sign.ACTIVE)
            left_us = int((time.time() - 600) * 1e6)
            session.set_idle(True, left_us)
            assert (await heard.next()).sign is Sign.IDLE
            assert await source.idle_s() == pytest.approx(600, abs=60)
            session.set_idle(False)
            assert await heard.next() == Sensed(Sign.ACTIVE)
            await source.close()

    run(scenario())


def test_logind_finds_the_session_by_process_without_a_session_id(
    system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_SESSION_ID", raising=False)

    async def scenario() -> None:
        async with fake_logind(system_bus) as (manager, _):
            source = Logind()
            assert await source.open(Heard(), 300.0)
            assert manager.asked == ["GetSessionByPID"]
            await source.close()

    run(scenario())


def test_gnome_idle_monitor_fires_when_the_person_leaves_and_comes_back(
    session_bus: str,
) -> None:
    async def scenario() -> None:
        async with fake_mutter(session_bus) as monitor:
            heard, source = Heard(), GnomeIdleMonitor()
            monitor.idle_ms = 4200
            assert await source.open(heard, 300.0)
            assert list(monitor.idle_watches.values()) == [300_000]  # watched, not polled
            assert await source.idle_s() == 4.2
            monitor.leave(300_000)
            assert await heard.next() == Sensed(Sign.IDLE, 300.0)
            await monitor.return_watched.wait()  # the source asks to hear of the return
            monitor.come_back()
            assert await heard.next() == Sensed(Sign.ACTIVE)
            assert await source.idle_s() == 0.0
            await source.close()

    run(scenario())


def test_the_screen_saver_tells_locks_and_the_idle_time(session_bus: str) -> None:
    async def scenario() -> None:
        async with fake_screensaver(session_bus) as saver:
            heard, source = Heard(), ScreenSaver()
            saver.idle_s = 42
            assert await source.open(heard, 300.0)
            assert await source.idle_s() == 42.0
            saver.lock()
            assert await heard.next() == Sensed(Sign.LOCKED)
            assert await source.idle_s() == LOCKED_IDLE_S
            saver.lock(False)
            assert await heard.next() == Sensed(Sign.ACTIVE)
            await source.close()

    run(scenario())


def test_a_screen_saver_that_tells_no_idle_time_is_no_source(session_bus: str) -> None:
    async def scenario() -> None:
        async with fake_screensaver(session_bus, tells_idle_time=False):
            assert not await ScreenSaver().open(Heard(), 300.0)

    run(scenario())


def test_macos_idle_time_from_a_recorded_ioreg_output() -> None:
    recorded = (DATA / "ioreg-IOHIDSystem.txt").read_text()
    assert hid_idle_s(recorded) == pytest.approx(73.214962708)
    assert hid_idle_s("+-o Root  <class IORegistryEntry>") is None

    async def scenario() -> None:
        if os.uname().sysname != "Darwin":
            assert not await MacHidIdle().open(Heard(), 300.0)  # only on macOS

    run(scenario())


def test_xprintidle_is_the_fallback_on_x11(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "xprintidle"
    tool.write_text("#!/bin/sh\necho 1500\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":0")

    async def scenario() -> None:
        presence = await open_presence("auto", Heard(), 300.0)
        assert presence.names == ["xprintidle"]
        assert await presence.idle_s() == 1.5
        await presence.close()
        monkeypatch.delenv("DISPLAY")  # Wayland alone: no X server to ask
        assert not await XPrintIdle().open(Heard(), 300.0)

    run(scenario())


def test_auto_takes_logind_and_the_first_exact_idle_time_that_answers(
    system_bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_SESSION_ID", "c2")

    async def scenario() -> None:
        async with (
            fake_logind(system_bus) as (_, session),
            fake_mutter(system_bus) as monitor,
            fake_screensaver(system_bus),
        ):
            presence = await open_presence("auto", Heard(), 300.0)
            assert presence.names == ["logind", "gnome"]
            monitor.idle_ms = 30_000
            assert await presence.idle_s() == 30.0
            session.lock()  # a lock anywhere is away
            assert await presence.idle_s() == math.inf
            await presence.close()
            chosen = await open_presence("screensaver", Heard(), 300.0)
            assert chosen.names == ["screensaver"]
            await chosen.close()
            assert (await open_presence("none", Heard(), 300.0)).names == []

    run(scenario())


def test_no_bus_at_all_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        presence = await open_presence("auto", Heard(), 300.0)
        assert presence.names == []
        assert await presence.idle_s() is None

    run(scenario())
    assert capfd.readouterr() == ("", "")


def test_the_config_choices_are_the_sources() -> None:
    assert set(CHOICES) == {"auto", "none", *SOURCES}


def test_the_config_chooses_the_source_or_none(tmp_path: Path) -> None:
    from deskctl.config import load_config
    from deskctl.errors import ConfigError

    path = tmp_path / "config.toml"
    assert load_config(path).presence == "auto"
    path.write_text('[presence]\nsource = "none"\n')
    assert load_config(path).presence == "none"
    path.write_text('desk = "sim://a"\n[presence]\nsource = "kwin"\n')
    with pytest.raises(ConfigError, match=r"line 3.*presence\.source.*logind"):
        load_config(path)
