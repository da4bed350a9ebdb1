"""Cold start of ``deskctl status`` on the simulated desk against ``idasen --help``.

Both are started as fresh processes, alternately, and the medians compared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / ".venv-peers"  # made by scripts/setup --test
RUNS = 21


def wall_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def run() -> list[tuple[str, str, str, str]]:
    idasen = PEERS / "idasen" / "bin" / "idasen"
    deskctl = Path(sys.executable).with_name("deskctl")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "XDG_STATE_HOME": home, "XDG_CONFIG_HOME": home}
        env.pop("DESKCTL_DESK", None)
        ours, theirs = [], []
        for _ in range(RUNS):
            ours.append(wall_time([str(deskctl), "status"], env))
            theirs.append(wall_time([str(idasen), "--help"], env))
    ratio = statistics.median(ours) / statistics.median(theirs)
    return [
        (
            "`deskctl status` cold start / `idasen --help` (medians)",
            f"{ratio:.2f} ({statistics.median(ours) * 1000:.0f} / "
            f"{statistics.median(theirs) * 1000:.0f} ms)",
            "<= 1.0",
            "yes" if ratio <= 1.0 else "no",
        )
    ]
