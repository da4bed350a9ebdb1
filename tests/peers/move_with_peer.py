"""Drive the emulated Linak desk with a published Linak client, unmodified.

Runs inside the peer's own virtual environment (each pins its own bleak), with
deskctl's emulator importable.  The peer builds its own ``BleakClient``; the
virtual radio is slipped in underneath it.  Prints one JSON line per move:
target, start, final height, the motor's time for the move (virtual seconds)
and the physical minimum of that move on that desk.

    python move_with_peer.py PEER [--link LATENCY,P,LO,HI] TARGET_MM ...
    python move_with_peer.py PEER [--link LATENCY,P,LO,HI] --desk SEED:T1,T2 [--desk ...]

Bare targets are moves on the default emulated desk; each ``--desk`` is a desk
drawn from the emulator's seeded range, with its own moves.  ``--link`` makes
the Bluetooth link a poor one.  A move the peer gives up on, or that raises,
is still reported, where the desk stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from deskctl.drivers.ble_bumble import LinkDelays, use_virtual_radio
from deskctl.drivers.linak_emulator import LinakEmulator, LinakOptions
from deskctl.vtime import run_virtual

ADDRESS = "C2:00:00:00:00:02"
# A person's moves are seconds apart; some controllers need a quiet second between targets.
PAUSE_S = 2.0
# Far beyond any move; a client still going by then is reported as it stands.
MOVE_LIMIT_S = 300.0
IDASEN_BASE_MM = 620.0  # idasen assumes every desk's lowest height is 620 mm


async def with_idasen(target_mm: float, base_mm: float) -> None:
    from idasen import IdasenDesk

    async with IdasenDesk(ADDRESS) as desk:
        # Ask for the height above the base that the target means on this desk.
        await desk.move_to_target((target_mm - base_mm + IDASEN_BASE_MM) / 1000)


async def with_linak_controller(target_mm: float, base_mm: float) -> None:
    from linak_controller import main

    sys.argv = ["linak-controller", "--mac-address", ADDRESS, "--move-to", f"{target_mm:.0f}"]
    await main.main()


PEERS: dict[str, Callable[[float, float], Awaitable[None]]] = {
    "idasen": with_idasen,
    "linak-controller": with_linak_controller,
}


@contextlib.asynccontextmanager
async def overshoot(emulator: LinakEmulator, target: float) -> AsyncIterator[list[float]]:
    """Track how far past ``target`` the desk goes (in millimetres, 0 if never)."""
    sign = 1.0 if target > emulator.height_mm else -1.0
    furthest = [0.0]

    async def sample() -> None:
        while True:
            furthest[0] = max(furthest[0], (emulator.height_mm - target) * sign)
            await asyncio.sleep(0.01)

    task = asyncio.get_running_loop().create_task(sample())
    try:
        yield furthest
    finally:
        task.cancel()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--desk", action="append", default=[], help="SEED:TARGET,TARGET...")
    parser.add_argument("--link", help="latency,spike_p,spike_low,spike_high in seconds[,ordered]")
    parser.add_argument("targets", type=float, nargs="*")
    return parser.parse_args()


def desks(args: argparse.Namespace) -> list[tuple[int | None, list[float]]]:
    found: list[tuple[int | None, list[float]]] = []
    if args.targets:
        found.append((None, args.targets))
    for desk in args.desk:
        seed, _, targets = desk.partition(":")
        found.append((int(seed), [float(t) for t in targets.split(",")]))
    return found


def desk_options(seed: int | None, link: str | None) -> LinakOptions:
    delays = None
    if link:
        parts = link.split(",")
        latency, spike_p, low, high = (float(part) for part in parts[:4])
        delays = LinkDelays(
            latency, spike_p, (low, high), seed=seed or 0, ordered=parts[4:] == ["ordered"]
        )
    if seed is None:
        return LinakOptions(height_mm=720.0, link=delays)
    return LinakOptions.seeded(seed, link=delays)


async def run(args: argparse.Namespace) -> None:
    with use_virtual_radio():
        for seed, targets in desks(args):
            await run_desk(args.peer, seed, targets, args.link)


async def run_desk(peer: str, seed: int | None, targets: list[float], link: str | None) -> None:
    options = desk_options(seed, link)
    emulator = LinakEmulator(options)
    await emulator.start(ADDRESS)
    params = options.params
    try:
        for target in targets:
            await asyncio.sleep(PAUSE_S)
            start, began = emulator.height_mm, emulator.clock.now()
            problem = ""
            async with overshoot(emulator, target) as furthest:
                try:
                    async with asyncio.timeout(MOVE_LIMIT_S):
                        await PEERS[peer](target, params.min_mm)
                except (Exception, SystemExit) as error:
                    problem = f"{type(error).__name__}: {error}"
                await emulator.settled()  # the desk may still be braking when the client leaves
            # The move's time is the motor's: from first motion to rest, whatever the
            # client spent connecting.
            runs = [run for run in emulator.model.duty.runs if run[1] > began]
            result = {
                "seed": seed,
                "target_mm": target,
                "start_mm": start,
                "final_mm": round(emulator.height_mm, 1),
                "seconds": runs[-1][1] - runs[0][0] if runs else 0.0,
                "minimum_s": params.minimum_move_time(target - start),
                "overshoot_mm": round(furthest[0], 2),
                "problem": problem,
            }
            print(json.dumps(result), flush=True)
    finally:
        await emulator.power_cut()


if __name__ == "__main__":
    run_virtual(run(parse()))
