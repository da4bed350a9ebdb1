"""A private D-Bus session bus for a test: a real ``dbus-daemon`` that the test's fake
desktop services (screen saver, idle monitor, logind, notifications) own names on."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_session_bus(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """A ``dbus-daemon`` listening in ``folder``, and its address once it listens."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise RuntimeError("dbus-daemon is missing: scripts/setup --test installs it")
    config = folder / "session.conf"
    config.write_text(BUS_CONFIG.format(folder=folder))
    process = subprocess.Popen(
        [daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    # The daemon prints its address once it listens: reading that line is the wait.
    address = process.stdout.readline().strip()
    if not address:
        process.kill()
        raise RuntimeError("dbus-daemon did not start")
    return process, address


@pytest.fixture
def session_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start a session bus of the test's own and point ``DBUS_SESSION_BUS_ADDRESS`` at it."""
    folder = tmp_path / "bus"
    folder.mkdir()
    process, address = start_session_bus(folder)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        process.terminate()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
