"""``linak-emu://NAME``: deskctl's Linak driver talking to an in-process emulated desk.

The driver is the real one (bleak, the Linak bytes, the handshake); only the
radio is virtual, and the driver knows no more of the desk than it would of a
real one.  Options shape the desk: ``seed=N`` draws one from the range the
sources describe (travel, speeds, reaction, watchdog, user-id gate, ...),
then the physics options of ``sim://`` plus ``user_id=1`` (a DPG1C-type
controller that needs a user id), ``memories=N`` (memory slots, 0 to 4) and
``reference_timeout=S`` (the move-to watchdog) change it further.
``link_latency=S``, ``spike_p=P`` and ``spike=LO-HI`` make the Bluetooth link a
poor one.  Its height, memories and collision lock are remembered between
runs, like the simulated desk's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from deskctl.atomic import write_atomic
from deskctl.clock import LoopClock
from deskctl.drivers.ble_bumble import BumbleClient, BumbleScanner, LinkDelays
from deskctl.drivers.linak import LinakDesk
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.drivers.url_options import number, take_physics
from deskctl.errors import UnknownDeskURL
from deskctl.model import Fault

EMULATOR_OPTIONS = (
    "seed",
    "user_id",
    "memories",
    "reference_timeout",
    "link_latency",
    "spike_p",
    "spike",
)


def emulated_address(name: str) -> str:
    """A stable, locally administered Bluetooth address for an emulated desk name."""
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{byte:02X}" for byte in (0xC2, *digest[:5]))


class EmulatedLinakDesk(LinakDesk):
    def __init__(
        self,
        emulator: LinakEmulator,
        address: str,
        state_file: Path | None,
        remember: Path | None = None,
    ) -> None:
        super().__init__(
            address,
            clock=emulator.clock,
            client_backend=BumbleClient,
            scanner_backend=BumbleScanner,
            remember=remember,
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
                "collision": self.emulator.collision_locked,
            }
            write_atomic(self._state_file, json.dumps(data).encode())

    def _restore(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
            height = float(data["height_mm"])
            memories = {
                int(k): None if v is None else float(v) for k, v in data["memories"].items()
            }
            collision = bool(data.get("collision", False))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return  # a fresh desk
        model = self.emulator.model
        model.height_mm = model.params.limits.clamp(height)
        if collision:
            model.latch(Fault.COLLISION)
        self.emulator.memories.update(
            (k, v) for k, v in memories.items() if k in self.emulator.memories
        )


def from_url(
    name: str, options: dict[str, str], state_file: Path | None, remember: Path | None = None
) -> EmulatedLinakDesk:
    options = dict(options)
    seed = options.pop("seed", None)
    base = (
        LinakOptions()
        if seed is None
        else LinakOptions.seeded(int(number("linak-emu", "seed", seed)))
    )
    physics = take_physics("linak-emu", options, others=EMULATOR_OPTIONS, base=base.params)
    slots = int(number("linak-emu", "memories", options.pop("memories", str(base.memory_slots))))
    if slots > 4:
        raise UnknownDeskURL("linak-emu:// desks have 0 to 4 memory slots")
    user_id = options.pop("user_id", None)
    timeout = options.pop("reference_timeout", None)
    emulator_options = replace(
        base,
        params=physics.params,
        name=f"Desk {name}",
        height_mm=physics.params.limits.clamp(physics.height_mm or base.height_mm),
        memory_slots=slots,
        needs_user_id=base.needs_user_id
        if user_id is None
        else user_id not in ("0", "false", "no"),
        reference_timeout_s=base.reference_timeout_s
        if timeout is None
        else number("linak-emu", "reference_timeout", timeout),
        obstacle_mm=physics.obstacle_mm,
        link=_link(options),
    )
    emulator = LinakEmulator(emulator_options, LoopClock(physics.speed))
    return EmulatedLinakDesk(emulator, emulated_address(name), state_file, remember)


def _link(options: dict[str, str]) -> LinkDelays | None:
    """``link_latency=0.02&spike_p=0.2&spike=0.3-0.7``: a poor Bluetooth link, or None."""
    latency = number("linak-emu", "link_latency", options.pop("link_latency", "0"))
    spike_p = number("linak-emu", "spike_p", options.pop("spike_p", "0"))
    spike = options.pop("spike", "0.3-0.7")
    low, _, high = spike.partition("-")
    spike_s = (
        number("linak-emu", "spike", low),
        number("linak-emu", "spike", high or low),
    )
    if not latency and not spike_p:
        return None
    try:
        return LinkDelays(latency_s=latency, spike_p=spike_p, spike_s=spike_s)
    except ValueError:
        raise UnknownDeskURL(
            "linak-emu:// link options: link_latency in seconds, spike_p from 0 to 1, "
            "spike=LO-HI seconds"
        ) from None
