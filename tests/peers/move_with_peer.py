"""Drive the emulated Linak desk with a published Linak client, unmodified.

Runs inside the peer's own virtual environment (each pins its own bleak), with
deskctl's emulator importable.  The peer builds its own ``BleakClient``; the
virtual radio is slipped in underneath it.  Prints one JSON line per move:
target, final height and time taken (virtual seconds).

    python move_with_peer.py idasen|linak-controller TARGET_MM [TARGET_MM ...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable

from deskctl.drivers.ble_bumble import use_virtual_radio
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.vtime import run_virtual

ADDRESS = "C2:00:00:00:00:02"


async def with_idasen(target_mm: float) -> None:
    from idasen import IdasenDesk

    async with IdasenDesk(ADDRESS) as desk:
        await desk.move_to_target(target_mm / 1000)


async def with_linak_controller(target_mm: float) -> None:
    from linak_controller import main

    sys.argv = ["linak-controller", "--mac-address", ADDRESS, "--move-to", f"{target_mm:.0f}"]
    await main.main()


PEERS: dict[str, Callable[[float], Awaitable[None]]] = {
    "idasen": with_idasen,
    "linak-controller": with_linak_controller,
}


async def run(peer: str, targets: list[float]) -> None:
    emulator = LinakEmulator(LinakOptions(height_mm=720.0))
    await emulator.start(ADDRESS)
    with use_virtual_radio():
        for target in targets:
            start, began = emulator.height_mm, emulator.clock.now()
            await PEERS[peer](target)
            await emulator.settled()  # the desk may still be braking when the client leaves
            # The move's time is the motor's: from first motion to rest, whatever the
            # client spent connecting.
            runs = [run for run in emulator.model.duty.runs if run[1] > began]
            result = {
                "target_mm": target,
                "start_mm": start,
                "final_mm": round(emulator.height_mm, 1),
                "seconds": runs[-1][1] - runs[0][0] if runs else 0.0,
            }
            print(json.dumps(result), flush=True)
    await emulator.power_cut()


if __name__ == "__main__":
    run_virtual(run(sys.argv[1], [float(t) for t in sys.argv[2:]]))
