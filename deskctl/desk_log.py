"""What deskctl remembers about each desk between runs: recent motor run time
(for the duty-cycle guard), the coast learned by hold-and-watch moves, and a
collision or controller fault that the user has not cleared yet."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from deskctl.atomic import write_atomic
from deskctl.desk import Desk
from deskctl.model import DeskState, Fault


def restore(desk: Desk, path: Path) -> None:
    """Load what was remembered about ``desk``; a missing or unreadable file means a fresh desk."""
    try:
        data = json.loads(path.read_text())
        runs = [(float(start), float(end)) for start, end in data.get("duty_runs", [])]
        samples = [(float(v), float(o), float(a)) for v, o, a in data.get("coast_samples", [])]
        extras = dict(data.get("coast_extras", {}))
        latched = data.get("latched")
        if latched is not None:
            desk.latched = DeskState(
                height_mm=float(latched["height_mm"]),
                fault=Fault(latched["fault"]),
                detail=str(latched.get("detail", "")),
            )
    except (OSError, ValueError, TypeError, KeyError):
        return
    offset = desk.clock.now() - time.time()
    desk.duty.runs = [(start + offset, end + offset) for start, end in runs]
    if desk.coast is not None:
        for speed, overrun, accel in samples:
            desk.coast.learn(speed, overrun, accel)
        with contextlib.suppress(ValueError, TypeError):  # unreadable: not learned yet
            desk.coast.restore_extras(extras)


def remember(desk: Desk, path: Path) -> None:
    """Save the duty log (in wall-clock time), learned coast samples and the fault latch."""
    offset = time.time() - desk.clock.now()
    now = desk.clock.now()
    desk.duty.stop(now)
    latched = None
    if desk.latched is not None and desk.latched.fault is not None:
        latched = {
            "fault": desk.latched.fault.value,
            "height_mm": desk.latched.height_mm,
            "detail": desk.latched.detail,
        }
    data = {
        # Wall-clock seconds, rounded so that an unchanged desk saves unchanged text.
        "duty_runs": [
            (round(start + offset, 1), round(end + offset, 1)) for start, end in desk.duty.runs
        ],
        "coast_samples": desk.coast.samples if desk.coast is not None else [],
        "coast_extras": desk.coast.extras() if desk.coast is not None else {},
        "latched": latched,
    }
    text = json.dumps(data)
    try:
        unchanged = path.read_text() == text
    except OSError:
        unchanged = False
    if not unchanged:
        write_atomic(path, text.encode())
