"""``linak-emu://NAME``: deskctl's Linak driver talking to an in-process emulated desk.

The driver is the real one (bleak, the Linak bytes, the handshake); only the
radio is virtual.  Options shape the desk: the physics options of
``sim://`` plus ``user_id=1`` (a DPG1C-type controller that needs a user id),
``memories=N`` (memory slots, 0 to 4), ``reference_timeout=S`` (the
move-to watchdog).  Its height and memories are remembered between runs,
like the simulated desk's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from deskctl.atomic import write_atomic
from deskctl.clock import LoopClock
from deskctl.drivers.ble_bumble import BumbleClient, BumbleScanner
from deskctl.drivers.linak import LinakDesk
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.drivers.url_options import number, take_physics
from deskctl.errors import UnknownDeskURL

EMULATOR_OPTIONS = ("user_id", "memories", "reference_timeout")


def emulated_address(name: str) -> str:
    """A stable, locally administered Bluetooth address for an emulated desk name."""
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{byte:02X}" for byte in (0xC2, *digest[:5]))


class EmulatedLinakDesk(LinakDesk):
    def __init__(self, emulator: LinakEmulator, address: str, state_file: Path | None) -> None:
        params = emulator.options.params
        super().__init__(
            address,
            travel_mm=params.max_mm - params.min_mm,
            clock=emulator.clock,
            client_backend=BumbleClient,
            scanner_backend=BumbleScanner,
        )
        self.emulator = emulator
        self._state_file = state_file

    async def _open(self) -> None:
        if self._state_file is not None:
            self._restore(self._state_file)
        await self.emulator.start(self.address)
        await super()._open()

    async def _close(self) -> None:
        await super()._close()
        await self.emulator.power_cut()
        if self._state_file is not None:
            data = {
                "height_mm": round(self.emulator.height_mm, 1),
                "memories": self.emulator.memories,
            }
            write_atomic(self._state_file, json.dumps(data).encode())

    def _restore(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
            height = float(data["height_mm"])
            memories = {
                int(k): None if v is None else float(v) for k, v in data["memories"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return  # a fresh desk
        model = self.emulator.model
        model.height_mm = model.params.limits.clamp(height)
        self.emulator.memories.update(
            (k, v) for k, v in memories.items() if k in self.emulator.memories
        )


def from_url(name: str, options: dict[str, str], state_file: Path | None) -> EmulatedLinakDesk:
    options = dict(options)
    physics = take_physics("linak-emu", options, others=EMULATOR_OPTIONS)
    slots = int(number("linak-emu", "memories", options.pop("memories", "3")))
    if slots > 4:
        raise UnknownDeskURL("linak-emu:// desks have 0 to 4 memory slots")
    emulator = LinakEmulator(
        LinakOptions(
            params=physics.params,
            name=f"Desk {name}",
            height_mm=physics.height_mm or 720.0,
            memory_slots=slots,
            needs_user_id=options.pop("user_id", "0") not in ("0", "false", "no"),
            reference_timeout_s=number(
                "linak-emu", "reference_timeout", options.pop("reference_timeout", "0.5")
            ),
            obstacle_mm=physics.obstacle_mm,
        ),
        LoopClock(physics.speed),
    )
    return EmulatedLinakDesk(emulator, emulated_address(name), state_file)
