"""Published Linak clients, unmodified, drive deskctl's emulated Linak desk.

If the emulator were unfaithful (wrong UUIDs, bytes, handshake answers or
timing), these clients, written against real desks, would fail.  Each runs in
its own virtual environment, made by ``scripts/setup --test``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import deskctl

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).parent / "peers" / "move_with_peer.py"
# The installed deskctl's folder (the editable link tree), importable by the peers' Pythons.
DESKCTL_PATH = Path(deskctl.__file__).parent.parent


def drive(peer: str, *args: str | float, tmp_path: Path) -> list[dict[str, Any]]:
    python = ROOT / ".venv-peers" / peer / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run scripts/setup --test")
    result = subprocess.run(
        [str(python), str(HARNESS), peer, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PYTHONPATH": str(DESKCTL_PATH), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("peer", ["idasen", "linak-controller"])
def test_published_client_moves_the_emulated_desk(peer: str, tmp_path: Path) -> None:
    moves = drive(peer, 1100, 700, 1250, tmp_path=tmp_path)
    assert [move["target_mm"] for move in moves] == [1100, 700, 1250]
    for move in moves:
        # Both clients end within a few millimetres on real desks; so must they here.
        assert move["final_mm"] == pytest.approx(move["target_mm"], abs=5.0), move


@pytest.mark.parametrize("peer", ["idasen", "linak-controller"])
def test_published_clients_move_seeded_desks(peer: str, tmp_path: Path) -> None:
    """The seeded range (user-id gates, watchdogs, bases, answers) stays within what real
    clients cope with: each lands on every desk, within a millimetre of its rounding."""
    desks = ["--desk", "3:1100,700", "--desk", "4:1100,690", "--desk", "13:1100,700"]
    moves = drive(peer, *desks, tmp_path=tmp_path)
    assert len(moves) == 6
    for move in moves:
        assert move["problem"] == "", move
        assert move["final_mm"] == pytest.approx(move["target_mm"], abs=1.0), move
