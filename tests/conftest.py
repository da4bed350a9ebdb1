"""Shared fixtures: an isolated home for every test, and virtual time."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_rig import end_agent
from dbus_rig import session_bus
from hypothesis import Phase, settings


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every deskctl folder into the test's own temporary directory, and end the
    agent that the test's commands started."""
    home = tmp_path / "home"
    for variable, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    # The runtime folder holds the agent's socket, whose path must be short.
    runtime = Path(tempfile.mkdtemp(prefix="dk-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    # Nor to this machine's logind: a system bus address where no bus listens.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={runtime}/no-system-bus")
    for variable in (
        "DESKCTL_CONFIG",
        "DESKCTL_DESK",
        "DESKCTL_PROFILE",
        "DESKCTL_NO_AGENT",
        "DBUS_SESSION_BUS_ADDRESS",  # no test talks to the desktop it runs in
        "EDITOR",
        "VISUAL",
    ):
        monkeypatch.delenv(variable, raising=False)
    yield home
    end_agent(runtime / "deskctl")
    shutil.rmtree(runtime, ignore_errors=True)


__all__ = ["env_with", "isolated_home", "session_bus"]


def env_with(**changes: str) -> dict[str, str]:
    return {**os.environ, **changes}


# Failures on these slow examples shrink for minutes; "quick" reports the first failure as found.
settings.register_profile("quick", phases=[Phase.explicit, Phase.reuse, Phase.generate])
# CI checks the same examples on every run, so that a red build always means a change broke it.
settings.register_profile("ci", derandomize=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
