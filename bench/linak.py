"""deskctl, idasen and linak-controller make the same moves on the same emulated Linak desk.

Each client drives the emulator over the virtual radio, on virtual time; the
time of a move is the motor's, from first motion to rest, against the physical
minimum of that move.  The peers run unmodified in their own environments.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import deskctl
from deskctl.drivers.ble_bumble import BumbleClient, BumbleScanner
from deskctl.drivers.linak import LinakDesk
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.physics import MotorParams
from deskctl.vtime import run_virtual

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "peers" / "move_with_peer.py"
TARGETS = [1100.0, 700.0, 1250.0, 640.0, 1000.0, 950.0, 1180.0, 760.0]
Move = tuple[float, float, float, float]  # target, start, final, seconds


async def with_deskctl() -> list[Move]:
    emulator = LinakEmulator(LinakOptions(height_mm=720.0))
    address = "C2:00:00:00:00:03"
    await emulator.start(address)
    moves = []
    desk = LinakDesk(address, client_backend=BumbleClient, scanner_backend=BumbleScanner)
    async with desk:
        for target in TARGETS:
            start, began = emulator.height_mm, emulator.clock.now()
            await desk.move_to(target)
            await emulator.settled()
            runs = [run for run in emulator.model.duty.runs if run[1] > began]
            moves.append((target, start, emulator.height_mm, runs[-1][1] - runs[0][0]))
    await emulator.power_cut()
    return moves


def with_peer(peer: str) -> list[Move]:
    result = subprocess.run(
        [
            str(ROOT / ".venv-peers" / peer / "bin" / "python"),
            str(HARNESS),
            peer,
            *map(str, TARGETS),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(deskctl.__file__).parent.parent), "PATH": "/usr/bin:/bin"},
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [(r["target_mm"], r["start_mm"], r["final_mm"], r["seconds"]) for r in rows]


def run() -> list[tuple[str, str, str, str]]:
    params = MotorParams()
    results = {
        "deskctl": run_virtual(with_deskctl()),
        "idasen": with_peer("idasen"),
        "linak-controller": with_peer("linak-controller"),
    }
    summary = {}
    for client, moves in results.items():
        errors = [abs(final - target) for target, _, final, _ in moves]
        ratios = [s / params.minimum_move_time(t - start) for t, start, _, s in moves]
        summary[client] = (
            statistics.median(errors),
            max(errors),
            statistics.median(ratios),
            max(ratios),
        )
    best_error = min(v[1] for k, v in summary.items() if k != "deskctl")
    best_ratio = min(v[3] for k, v in summary.items() if k != "deskctl")
    rows = []
    for client, (median_error, worst_error, median_ratio, worst_ratio) in summary.items():
        ours = client == "deskctl"
        rows.append(
            (
                f"emulated Linak desk, {client}: final error (median / worst)",
                f"{median_error:.1f} / {worst_error:.1f} mm",
                "<= 1 mm and <= best peer" if ours else "(peer)",
                _met(worst_error <= 1.0 and worst_error <= best_error) if ours else "",
            )
        )
        rows.append(
            (
                f"emulated Linak desk, {client}: time / physical minimum (median / worst)",
                f"{median_ratio:.3f} / {worst_ratio:.3f}",
                "<= 1.05 and <= best peer" if ours else "(peer)",
                _met(worst_ratio <= 1.05 and worst_ratio <= best_ratio) if ours else "",
            )
        )
    return rows


def _met(condition: bool) -> str:
    return "yes" if condition else "no"
