"""The ``deskctl`` command line.

Every command opens the desk, does one thing and closes it again; the exit
code says how it went (see ``deskctl --help`` and the README).  Heavy modules
are imported inside the commands that need them, to keep start-up quick.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from deskctl import __version__
from deskctl.cli_spec import Handler, Spec, add_commands, arg, command, elsewhere, wants_everything
from deskctl.context import Context
from deskctl.errors import DeskBusy, DeskctlError, DeskUnavailable, Interrupted
from deskctl.units import Unit, parse_user_height

if TYPE_CHECKING:
    import asyncio

    from deskctl.desk import Desk
    from deskctl.model import DeskInfo, DeskState, Limits
    from deskctl.purpose import Purpose

EXIT_CODES = """\
exit codes:
  0    done
  1    unexpected error
  2    bad input: a malformed height, a height outside the desk's range, an
       unknown desk URL, a broken config or profile file
  3    the desk cannot be reached (not found, connection lost)
  4    the desk is busy: another process controls it
  5    the desk refused or ended a move (collision, overheated motor,
       controller error)
  6    a state or data file could not be written or read (a full disk, a damaged history)
  130  interrupted (Ctrl-C); the desk was stopped
"""


# -- commands ---------------------------------------------------------------------------------


async def cmd_status(ctx: Context) -> int:
    async with ctx.desk() as desk:
        _say_status(ctx, desk.info, desk.limits, desk.state)
    return 0


def _say_status(ctx: Context, info: DeskInfo, limits: Limits, state: DeskState) -> None:
    text = f"{info.name or info.family} ({ctx.entry.url}): {ctx.describe(state)}"
    data = ctx.state_data(state) | {
        "family": info.family,
        "limits_mm": [limits.min_mm, limits.max_mm],
    }
    ctx.emit(text, data)


def quick(ctx: Context) -> int | None:
    """``status`` and ``stop`` through a running agent, with no event loop; None when no
    agent listens (the ordinary path then starts one)."""
    from deskctl.agent import protocol
    from deskctl.agent.quick import QuickLine

    with QuickLine() as line:
        if not line.connect():
            return None
        try:
            opened = line.request("open", url=ctx.entry.url)
        except DeskBusy:
            if ctx.args.command == "stop":
                return _tell_holder_to_stop(ctx)
            raise
        if ctx.args.command == "status":
            info, limits, _ = protocol.desk_from_wire(opened)
            _say_status(ctx, info, limits, protocol.state_from_wire(opened["state"]))
        else:
            stopped = line.request("stop", desk=opened["desk"])
            _say_stopped(ctx, protocol.state_from_wire(stopped["state"]))
    return 0


async def _move(
    ctx: Context, target: float | Callable[[Desk], float], purpose: Purpose | None = None
) -> int:
    from deskctl.cli_tuning import noticed

    async with ctx.desk() as desk:
        height = target(desk) if callable(target) else target
        async with noticed(ctx, desk, purpose):
            return await _drive(ctx, desk, height, lambda: desk.move_to(height))


async def _drive(
    ctx: Context, desk: Desk, height: float, move: Callable[[], Awaitable[DeskState]]
) -> int:
    """Run ``move`` towards ``height`` with a progress bar, and report where it ended."""
    import asyncio

    try:
        async with _progress(ctx, desk, height):
            state = await move()
    except asyncio.CancelledError:
        rest = await desk.settled()
        raise Interrupted(
            f"interrupted; the desk stopped at {ctx.height(rest.height_mm)}"
        ) from None
    except Interrupted as error:  # another command (or face) stopped the desk
        rest = await desk.settled()
        raise Interrupted(f"{error}; it rests at {ctx.height(rest.height_mm)}") from None
    ctx.emit(f"at {ctx.height(state.height_mm)}", _desk_data(ctx, desk, state))
    return 0


def _desk_data(ctx: Context, desk: Desk, state: DeskState) -> dict[str, object]:
    """What ``--json`` says of a desk after a command: the same keys as ``status``."""
    limits = desk.limits
    return ctx.state_data(state) | {
        "family": desk.info.family,
        "limits_mm": [limits.min_mm, limits.max_mm],
    }


async def cmd_move(ctx: Context) -> int:
    return await _move(ctx, parse_user_height(ctx.args.height, ctx.unit))


async def _posture(ctx: Context, posture: str) -> int:
    """To the sitting or standing height of the active profile, else of the config."""
    from deskctl.cli_tuning import noticed
    from deskctl.purpose import Purpose

    profile = ctx.profile()
    if profile is None:
        height = ctx.entry.sit_mm if posture == "sit" else ctx.entry.stand_mm
        return await _move(ctx, height, Purpose(posture, posture, height, None))
    from deskctl.profiles.recommend import heights_for

    async with ctx.desk() as desk:
        heights = heights_for(profile, desk.limits, ctx.unit)
        ctx.warn(heights.notes)
        height = heights.sit_mm if posture == "sit" else heights.stand_mm
        slot = profile.presets.sit if posture == "sit" else profile.presets.stand
        async with noticed(ctx, desk, Purpose(posture, posture, height, profile.name)):
            if slot is not None and slot <= desk.capabilities.memory_presets:
                # The desk's own preset: its soft start and stop, and the handset agrees.
                return await _drive(ctx, desk, height, lambda: desk.recall_preset(slot))
            return await _drive(ctx, desk, height, lambda: desk.move_to(height))


async def cmd_sit(ctx: Context) -> int:
    return await _posture(ctx, "sit")


async def cmd_stand(ctx: Context) -> int:
    return await _posture(ctx, "stand")


async def _nudge(ctx: Context, sign: int) -> int:
    from deskctl.cli_tuning import noticed
    from deskctl.model import Direction

    if ctx.args.hold is not None:
        seconds = ctx.args.hold
        async with ctx.desk() as desk:
            async with noticed(ctx, desk):
                async with desk.hold(Direction.UP if sign > 0 else Direction.DOWN):
                    await desk.clock.sleep(seconds)
                with desk.subscribe() as states:
                    state = desk.state
                    while state.moving:
                        state = await anext(states)
            ctx.emit(f"at {ctx.height(state.height_mm)}", _desk_data(ctx, desk, state))
        return 0
    distance = parse_user_height(ctx.args.distance, ctx.unit, plausible_mm=None)
    return await _move(ctx, lambda desk: desk.state.height_mm + sign * distance)


async def cmd_up(ctx: Context) -> int:
    return await _nudge(ctx, +1)


async def cmd_down(ctx: Context) -> int:
    return await _nudge(ctx, -1)


async def cmd_stop(ctx: Context) -> int:
    try:
        async with ctx.desk() as desk:
            _say_stopped(ctx, await desk.stop())
    except DeskBusy:
        return _tell_holder_to_stop(ctx)
    return 0


def _say_stopped(ctx: Context, state: DeskState) -> None:
    ctx.emit(f"stopped at {ctx.height(state.height_mm)}", ctx.state_data(state))


def _desk_key(ctx: Context) -> str:
    from deskctl.drivers.registry import parse_desk_url, physical_key

    return physical_key(parse_desk_url(ctx.entry.url))


def _tell_holder_to_stop(ctx: Context) -> int:
    """A process that holds the desk itself: it stops the desk when told to."""
    from deskctl import runtime
    from deskctl.lock import tell_holder_to_stop

    pid = tell_holder_to_stop(runtime.lock_file(_desk_key(ctx)))
    if pid is None:
        raise DeskBusy(f"{ctx.entry.url} was busy, and its holder is gone; try again")
    ctx.emit(
        f"told pid {pid}, which controls {ctx.entry.url}, to stop it",
        {"desk": ctx.entry.url, "told_pid": pid},
    )
    return 0


async def cmd_watch(ctx: Context) -> int:
    async with ctx.desk() as desk:
        with desk.subscribe() as states:
            ctx.emit(ctx.describe(desk.state), ctx.state_data(desk.state))
            async for state in states:
                ctx.emit(ctx.describe(state), ctx.state_data(state))
        # The states end only when the desk (or the agent holding it) is gone.
        raise DeskUnavailable(desk.state.detail or "the desk's connection ended")


async def cmd_preset(ctx: Context) -> int:
    slot: int | None = ctx.args.slot
    async with ctx.desk() as desk:
        if slot is None:
            presets = await desk.presets()
            shown = {n: (None if h is None else ctx.height(h)) for n, h in presets.items()}
            text = "\n".join(f"{n}  {h or '(empty)'}" for n, h in shown.items())
            ctx.emit(text, {"presets_mm": presets})
        elif ctx.args.save:
            await desk.save_preset(slot)
            ctx.emit(
                f"preset {slot} = {ctx.height(desk.state.height_mm)}",
                {"slot": slot, "height_mm": desk.state.height_mm},
            )
        else:
            from deskctl.cli_tuning import noticed

            async with noticed(ctx, desk, _preset_purpose(ctx, desk, slot)):
                state = await desk.recall_preset(slot)
            ctx.emit(f"at {ctx.height(state.height_mm)}", ctx.state_data(state))
    return 0


def _preset_purpose(ctx: Context, desk: Desk, slot: int) -> Purpose | None:
    """A preset that holds the person's sitting or standing height (the profile's
    ``[presets]``) goes to that height; any other is just a move."""
    profile = ctx.profile()
    if profile is None or slot not in (profile.presets.sit, profile.presets.stand):
        return None
    from deskctl.profiles.recommend import heights_for
    from deskctl.purpose import Purpose

    posture = "sit" if slot == profile.presets.sit else "stand"
    heights = heights_for(profile, desk.limits, ctx.unit)
    height = heights.sit_mm if posture == "sit" else heights.stand_mm
    return Purpose("preset", posture, height, profile.name)


async def cmd_tui(ctx: Context) -> int:
    """``deskctl`` alone: the terminal interface."""
    from deskctl.tui.app import DeskApp, Options

    def settings(name: str | None) -> Any:
        # Called once the desk is there: the schedule's modules load after the first paint.
        import logging

        from deskctl.cli_policy import history_started
        from deskctl.clock import local_timezone
        from deskctl.policy.calendars import with_calendars
        from deskctl.policy.prefs import settings_for

        profile = None if name is None else ctx.profiles.load(name)
        found = settings_for(profile, history_started(ctx), timezone=local_timezone())
        # The plan shows changes after meetings; the schedule's runner says what cannot be read.
        warn = logging.getLogger("deskctl.calendars").warning
        return with_calendars(found, profile, state_dir=ctx.paths.state_dir, warn=warn)

    options = Options(
        url=ctx.entry.url,
        paths=ctx.paths,
        unit=ctx.unit,
        sit_mm=ctx.entry.sit_mm,
        stand_mm=ctx.entry.stand_mm,
        profile=ctx.profile_name(),
        settings=settings,
        notify=ctx.config.notify,
        presence=ctx.config.presence,
    )
    opener = None
    if ctx.through_agent:
        from deskctl.agent.launch import open_remote_desk

        opener = functools.partial(open_remote_desk, idle_exit_s=ctx.config.agent.idle_exit_s)
    await DeskApp(options, open_desk=opener).run_async()
    return 0


async def cmd_serve(ctx: Context) -> int:
    """``deskctl serve``: the desks on the MQTT broker, until Ctrl-C or SIGTERM."""
    import asyncio
    import dataclasses
    import logging

    from deskctl.bridge.serve import Bridge

    logging.basicConfig(
        level=logging.DEBUG if ctx.args.verbose else logging.INFO,
        format="deskctl serve: %(message)s",
        stream=sys.stderr,
    )
    config = ctx.config
    mqtt = dataclasses.replace(
        config.mqtt,
        username=os.environ.get("DESKCTL_MQTT_USERNAME") or config.mqtt.username,
        password=os.environ.get("DESKCTL_MQTT_PASSWORD") or config.mqtt.password,
    )
    chosen = ctx.args.desk or os.environ.get("DESKCTL_DESK")
    desks = [ctx.entry] if chosen else list(config.desks.values()) or [ctx.entry]
    unit = Unit(ctx.args.unit) if ctx.args.unit else config.unit
    async with contextlib.AsyncExitStack() as stack:
        opener = None
        if ctx.through_agent:
            # serve is the agent with its MQTT face: it holds the desks itself unless an
            # agent runs already, and local commands share its connections either way.
            from deskctl.agent.launch import agent_listens, open_remote_desk

            if not await agent_listens():
                await stack.enter_async_context(_agent_here(ctx))
            opener = functools.partial(open_remote_desk, start=False)
        bridge = Bridge(mqtt, desks, ctx.paths, unit=unit, open_desk=opener)
        with contextlib.suppress(asyncio.CancelledError):  # SIGTERM: a clean goodbye was said
            await bridge.run()
    return 0


@contextlib.asynccontextmanager
async def _agent_here(ctx: Context) -> AsyncIterator[None]:
    import asyncio

    from deskctl.agent.server import Agent, AgentSettings

    agent = Agent(
        ctx.paths,
        AgentSettings(keep_open_s=ctx.config.agent.keep_open_s, presence=ctx.config.presence),
    )
    listening = asyncio.Event()
    serving = asyncio.create_task(agent.serve(listening.set))
    waiting = asyncio.create_task(listening.wait())
    await asyncio.wait([serving, waiting], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if serving.done():
        serving.result()  # what kept it from listening
    try:
        yield
    finally:
        agent.shutdown()
        await asyncio.shield(serving)


async def cmd_agent(ctx: Context) -> int:
    """``deskctl agent``: hold the desks and serve every face, until Ctrl-C or SIGTERM."""
    import logging

    from deskctl.agent.server import AgentSettings, run_agent

    logging.basicConfig(
        level=logging.INFO if ctx.args.verbose else logging.WARNING,
        format="deskctl agent: %(message)s",
        stream=sys.stderr,
    )
    settings = AgentSettings(
        idle_exit_s=ctx.args.idle_exit,
        keep_open_s=ctx.config.agent.keep_open_s,
        presence=ctx.config.presence,
    )
    ready_fd: int | None = ctx.args.ready_fd

    def ready() -> None:
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)

    await run_agent(ctx.paths, settings, ready)
    return 0


async def cmd_desks(ctx: Context) -> int:
    config = ctx.config
    entries = list(config.desks.values()) or [config.resolve()]
    default = config.resolve().name
    rows = []
    for entry in entries:
        mark = "*" if entry.name == default else " "
        rows.append(
            f"{mark} {entry.name:<12} {entry.url:<28} "
            f"sit {ctx.height(entry.sit_mm)}  stand {ctx.height(entry.stand_mm)}"
        )
    data = {
        "default": default,
        "config": None if config.path is None else str(config.path),
        "desks": [
            {"name": e.name, "url": e.url, "sit_mm": e.sit_mm, "stand_mm": e.stand_mm}
            for e in entries
        ],
    }
    ctx.emit("\n".join(rows), data)
    return 0


async def cmd_scan(ctx: Context) -> int:
    from deskctl.drivers.scan import scan

    desks = await scan(ctx.args.timeout)
    rows = [f"{d.name or '(no name)':<20} {d.address:<20} {d.rssi:>4} dBm  {d.url}" for d in desks]
    ctx.emit(
        "\n".join(rows) or "no desks found (is the desk powered, and not connected elsewhere?)",
        {"desks": [d.__dict__ | {"url": d.url} for d in desks]},
    )
    return 0


async def cmd_emulate(ctx: Context) -> int:
    import asyncio
    from urllib.parse import parse_qsl

    from deskctl.drivers.emulated_boxes import emulated_box

    family: str = ctx.args.family
    emulator = emulated_box(family, dict(parse_qsl(ctx.args.options or "")))
    bridge = None
    if ctx.args.tcp is None:
        path = await emulator.start()
    else:
        from deskctl.drivers.tcp_bridge import TcpBridge

        bridge = TcpBridge(emulator)
        try:
            path = f"socket://127.0.0.1:{await bridge.start('127.0.0.1', ctx.args.tcp)}"
        except OSError as error:
            raise DeskUnavailable(f"cannot listen on TCP port {ctx.args.tcp}: {error}") from None
    ctx.emit(
        f"emulated {family} box on {path}: use --desk {family}://{path} (Ctrl-C ends it)",
        {"family": family, "port": path, "url": f"{family}://{path}"},
    )
    try:
        await asyncio.Event().wait()  # serve until interrupted
    finally:
        if bridge is not None:
            await bridge.stop()
        await emulator.stop()
    return 0


async def cmd_calibrate(ctx: Context) -> int:
    from deskctl.agent.client import RemoteDesk
    from deskctl.calibrate import calibrate

    async with ctx.desk() as desk:
        coast = await desk.calibrate() if isinstance(desk, RemoteDesk) else await calibrate(desk)
        ctx.emit(
            f"learned: reacts after {coast.latency_s:.2f} s, brakes at "
            f"{coast.decel_mm_s2:.0f} mm/s², top speed {coast.top_speed_mm_s:.0f} mm/s",
            {"latency_s": coast.latency_s, "decel_mm_s2": coast.decel_mm_s2},
        )
    return 0


# -- progress ---------------------------------------------------------------------------------


class _progress:
    """A progress bar on stderr while the desk moves (only on a terminal, never with --json)."""

    def __init__(self, ctx: Context, desk: Desk, target: float) -> None:
        self.enabled = sys.stderr.isatty() and not ctx.args.json
        self.ctx, self.desk, self.target = ctx, desk, target
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        import asyncio

        if self.enabled:
            self._task = asyncio.create_task(self._show())

    async def __aexit__(self, *exc: object) -> None:
        import asyncio
        import contextlib

        if self._task is not None:
            # Wait until the bar has cleared itself, or the result line lands beside it.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        start = self.desk.state.height_mm
        span = abs(self.target - start) or 1.0
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[at]}"))
        console = Console(stderr=True)
        with (
            Progress(*columns, console=console, transient=True) as bar,
            self.desk.subscribe() as states,
        ):
            task = bar.add_task(f"to {self.ctx.height(self.target)}", total=span, at="")
            async for state in states:
                done = min(span, abs(state.height_mm - start))
                bar.update(task, completed=done, at=self.ctx.height(state.height_mm))


# -- parsing and dispatch ---------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"deskctl: {message} (see '{self.prog} --help')\n")


def build_parser(words: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``words`` (see ``add_commands``), or for everything when None."""
    parser = _Parser(
        prog="deskctl",
        description="Control a standing desk. Heights: 1100 (mm), 110cm, 43.3in, 1.1m.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"deskctl {__version__}")
    _add_global_options(parser, defaults=True)
    # The same options after the command (deskctl status --json); SUPPRESS keeps earlier values.
    common = _Parser(add_help=False)
    _add_global_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    if words is not None and wants_everything(words):
        words = None
    add_commands(commands, COMMANDS, words, common)
    return parser


HOLD_S = (0.1, 30.0)
"""A hold is a nudge: longer than any desk's whole travel is a typo (and the motor's rest)."""


def _hold_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not HOLD_S[0] <= seconds <= HOLD_S[1]:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"hold for {HOLD_S[0]:g} to {HOLD_S[1]:g} seconds, not {text.strip()}"
        )
    return seconds


def _moves(way: str, run: Handler) -> Spec:
    return command(
        way,
        run,
        f"move {way} by a distance, or hold {way} for some seconds",
        arg("distance", nargs="?", default="1cm", help="how far (default 1cm)"),
        arg(
            "--hold",
            type=_hold_seconds,
            metavar="SECONDS",
            help=f"hold {way} this long ({HOLD_S[0]:g} to {HOLD_S[1]:g} s)",
        ),
    )


COMMANDS = (
    command("status", cmd_status, "show the desk's height and state"),
    command("move", cmd_move, "move to a height", arg("height", help="e.g. 110cm")),
    command("sit", cmd_sit, "move to the sitting height"),
    command("stand", cmd_stand, "move to the standing height"),
    _moves("up", cmd_up),
    _moves("down", cmd_down),
    command("stop", cmd_stop, "stop the desk (also re-arms it after a collision)"),
    command("watch", cmd_watch, "print every change of the desk's state until Ctrl-C"),
    command(
        "preset",
        cmd_preset,
        "list, recall or save the desk's memory presets",
        arg("slot", nargs="?", type=int, help="preset number to recall"),
        arg("--save", action="store_true", help="store the current height in SLOT"),
    ),
    command("desks", cmd_desks, "list the configured desks"),
    command(
        "emulate",
        cmd_emulate,
        "run an emulated desk on a serial port until Ctrl-C",
        arg("family", choices=["jiecang", "loctek"], help="the family to emulate"),
        arg(
            "--options",
            metavar="KEY=VALUE&...",
            help="as for sim:// (speed, min, max, ...), inches=1, noise/drop/corrupt=P (line "
            "faults); jiecang also move_to=0",
        ),
        arg(
            "--tcp",
            metavar="PORT",
            type=int,
            help="serve the box as a network serial bridge on this local TCP port "
            "(0: any free one)",
        ),
    ),
    command(
        "calibrate",
        cmd_calibrate,
        "teach deskctl how a desk without move-to-height coasts (it moves the desk)",
    ),
    elsewhere(
        "profile",
        "the people who use the desk: their heights and rhythm",
        "deskctl.cli_profile:PROFILE_COMMAND",
    ),
    elsewhere(
        "run",
        "follow the sit/stand schedule with prompts and exercises",
        "deskctl.cli_policy:POLICY_COMMANDS",
    ),
    elsewhere(
        "stats", "today's sitting, standing and exercises", "deskctl.cli_policy:POLICY_COMMANDS"
    ),
    elsewhere(
        "simulate",
        "run the schedule on simulated days and sum it up",
        "deskctl.cli_policy:POLICY_COMMANDS",
    ),
    elsewhere(
        "history",
        "where the history is; --fresh keeps a damaged one aside and starts anew",
        "deskctl.cli_policy:POLICY_COMMANDS",
    ),
    command(
        "agent",
        cmd_agent,
        "hold the desks for every deskctl command, interface and bridge (started on demand)",
        arg(
            "--idle-exit",
            type=float,
            metavar="SECONDS",
            help="exit after this long with no client, desk or schedule (default: never)",
        ),
        arg("--ready-fd", type=int, help=argparse.SUPPRESS),
        arg("-v", "--verbose", action="store_true", help="log what the agent does"),
    ),
    command(
        "serve",
        cmd_serve,
        "connect the configured desks to an MQTT broker (Home Assistant)",
        arg("-v", "--verbose", action="store_true", help="log every message"),
    ),
    command(
        "scan",
        cmd_scan,
        "list Bluetooth desks nearby, with their desk URLs",
        arg("--timeout", type=float, default=5.0, help="seconds to listen (default 5)"),
    ),
)


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--desk",
        default=default(None),
        help="desk URL or configured name (default: $DESKCTL_DESK, then the config)",
    )
    parser.add_argument(
        "--unit",
        choices=[u.value for u in Unit],
        default=default(None),
        help="unit to show heights in",
    )
    parser.add_argument(
        "--profile",
        default=default(None),
        help="whose heights to use (default: $DESKCTL_PROFILE, then the desk's active profile)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON for scripts"
    )
    parser.add_argument(
        "--no-agent",
        action="store_true",
        default=default(False),
        help="open the desk in this process instead of through the agent ($DESKCTL_NO_AGENT)",
    )


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    # "-5cm" would read as an option; no option starts with a digit, so it is a (bad) height.
    # A leading space keeps argparse from taking it for an option; heights are stripped.
    words = [f" {word}" if re.match(r"^-[\d.]", word) else word for word in words]
    parser = build_parser(words)
    args = parser.parse_args(words)
    if args.command is None:
        args.run = cmd_tui
    if args.command == "preset" and args.save and args.slot is None:
        parser.error("preset --save needs a SLOT")
    try:
        if args.command in ("status", "stop"):
            ctx = Context(args)
            if ctx.through_agent:
                done = quick(ctx)
                if done is not None:
                    return done
        import asyncio  # not before: status and stop through the agent need no event loop

        try:
            return asyncio.run(_run(args))
        except asyncio.CancelledError:  # SIGTERM
            return _interrupted(args)
    except KeyboardInterrupt:
        return _interrupted(args)
    except DeskctlError as error:
        print(f"deskctl: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug: one line for people, the traceback on request
        if os.environ.get("DESKCTL_DEBUG"):
            raise
        print(
            f"deskctl: unexpected error: {type(error).__name__}: {error} "
            "(run with DESKCTL_DEBUG=1 to see where)",
            file=sys.stderr,
        )
        return 1


def _interrupted(args: argparse.Namespace) -> int:
    if args.command in (None, "watch", "emulate", "run", "serve", "agent"):
        return 0
    print("deskctl: interrupted; the desk was stopped", file=sys.stderr)
    return Interrupted.exit_code


async def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    if args.command not in ("serve", "agent"):  # those two log on their own terms
        # A failure is one "deskctl:" line; what the libraries log on the way is not shown.
        logging.basicConfig(handlers=[logging.NullHandler()])
    main_task = asyncio.current_task()
    if main_task is not None:
        # SIGTERM stops the desk the way Ctrl-C does.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    run: Handler = args.run
    return await run(Context(args))


if __name__ == "__main__":
    sys.exit(main())
