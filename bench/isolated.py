"""A home of its own for a benchmark's deskctl processes: config, state, data and the
runtime folder (the agent's socket), and the agent they started ended afterwards."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from agent_rig import agent_pid, end_agent

__all__ = ["agent_pid", "isolated_env"]


@contextmanager
def isolated_env() -> Iterator[dict[str, str]]:
    home = tempfile.mkdtemp(prefix="deskctl-bench-")
    runtime = tempfile.mkdtemp(prefix="dk-", dir="/tmp")  # a socket path must be short
    env = {
        **os.environ,
        **{f"XDG_{kind}_HOME": home for kind in ("CONFIG", "STATE", "DATA")},
        "XDG_RUNTIME_DIR": runtime,
    }
    for variable in ("DESKCTL_DESK", "DESKCTL_CONFIG", "DESKCTL_PROFILE", "DESKCTL_NO_AGENT"):
        env.pop(variable, None)
    try:
        yield env
    finally:
        end_agent(Path(runtime) / "deskctl")
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
