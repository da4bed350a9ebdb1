"""Shared fixtures: an isolated home for every test, and virtual time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import Phase, settings


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every deskctl folder into the test's own temporary directory."""
    home = tmp_path / "home"
    for variable, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    for variable in ("DESKCTL_CONFIG", "DESKCTL_DESK", "DESKCTL_PROFILE", "EDITOR", "VISUAL"):
        monkeypatch.delenv(variable, raising=False)
    return home


def env_with(**changes: str) -> dict[str, str]:
    return {**os.environ, **changes}


# Failures on these slow examples shrink for minutes; "quick" reports the first failure as found.
settings.register_profile("quick", phases=[Phase.explicit, Phase.reuse, Phase.generate])
# CI checks the same examples on every run, so that a red build always means a change broke it.
settings.register_profile("ci", derandomize=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
