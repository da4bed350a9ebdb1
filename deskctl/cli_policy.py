"""``deskctl run``, ``deskctl stats`` and ``deskctl simulate``: the schedule at work."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskctl.cli_spec import arg, command
from deskctl.clock import local_timezone
from deskctl.errors import BadInput, DeskUnavailable

if TYPE_CHECKING:
    from deskctl.agent.client import RemoteDesk
    from deskctl.context import Context
    from deskctl.desk import Desk
    from deskctl.history import History
    from deskctl.notify import PromptNotifications
    from deskctl.policy.calendars import Calendars
    from deskctl.policy.engine import Action, Event, Prompt, State
    from deskctl.policy.runner import Heights, Runner
    from deskctl.policy.simulate import Postponed
    from deskctl.run_view import RunView

ANSWERS = "answers: y stand/sit now, s snooze, n skip; after an exercise: d done, x skipped"


def history_started(ctx: Context) -> dt.date:
    """The first day in the history: when the person began, for the goal's ramp."""
    history = _history(ctx)
    try:
        return history.first_day(local_timezone()) or dt.date.today()
    finally:
        history.close()


def _history_path(ctx: Context) -> Path:
    return ctx.paths.data_dir / "history.sqlite3"


def _history(ctx: Context) -> History:
    from deskctl.history import History

    return History(_history_path(ctx))


async def cmd_history(ctx: Context) -> int:
    """Where the history is; with ``--fresh``, a damaged one is kept aside for a new one."""
    path = _history_path(ctx)
    if not ctx.args.fresh:
        ctx.emit(str(path), {"path": str(path)})
        return 0
    from deskctl.history import set_aside

    kept = set_aside(path)
    if kept is None:
        ctx.emit(f"no history at {path}: a new one starts with the next record", {"kept": None})
    else:
        ctx.emit(
            f"kept the old history as {kept}; a new one starts at {path} with the next record",
            {"kept": str(kept), "path": str(path)},
        )
    return 0


async def cmd_stats(ctx: Context) -> int:
    from deskctl.policy.prefs import settings_for
    from deskctl.report import day_data, render_day

    zone = local_timezone()
    history = _history(ctx)
    try:
        now = time.time()
        started = history.first_day(zone) or dt.date.today()
        settings = settings_for(ctx.profile(), started)
        today = dt.datetime.fromtimestamp(now, zone).date()
        days = (
            [today - dt.timedelta(days=n) for n in range(6, -1, -1)] if ctx.args.week else [today]
        )
        stats = [history.day(day, zone, settings.goal_s(day), now) for day in days]
        streak = history.streak(today, zone, settings.goal_s, now)
    finally:
        history.close()
    from deskctl import cli_suggest
    from deskctl.units import DESK_HEIGHTS_MM

    # No desk is opened for figures: suggestions are clamped to the plausible range here,
    # to the desk's own limits by 'profile suggest'.
    suggested = cli_suggest.found(ctx, DESK_HEIGHTS_MM)
    lines = [line for day in stats for line in render_day(day)]
    lines.append(f"streak: {streak} day{'s' if streak != 1 else ''} meeting the standing goal")
    lines += cli_suggest.lines(ctx, suggested)
    data: dict[str, Any] = {"days": [day_data(s) for s in stats], "streak": streak}
    data["suggestions"] = [cli_suggest.to_data(n, s) for n, s in enumerate(suggested, 1)]
    ctx.emit("\n".join(lines), data)
    return 0


async def cmd_simulate(ctx: Context) -> int:
    from deskctl.policy.engine import Engine
    from deskctl.policy.exercises import library as exercise_library
    from deskctl.policy.prefs import settings_for
    from deskctl.policy.simulate import Person, Simulation, postponed_changes
    from deskctl.report import change_data, change_line, day_data, render_day

    days: int = ctx.args.days
    if not 1 <= days <= 366:
        raise BadInput(f"simulate 1 to 366 days, not {days}")
    calendars = _calendars_for_simulate(ctx)
    # With calendars, simulated days are in local time, where their meetings fall.
    zone = local_timezone() if calendars else dt.UTC
    start = dt.datetime.combine(_first_day(ctx.args.start), dt.time(), zone)
    profile = ctx.profile()
    settings = settings_for(profile, start.date(), timezone=zone)
    if calendars:
        settings = dataclasses.replace(settings, meetings=calendars)
    engine = Engine(settings)
    heights = _simulated_heights(ctx, profile)
    person = Person(seed=ctx.args.seed, nudges_mm=_nudges(ctx, ctx.args.nudge or []))
    simulation = Simulation(engine, start.timestamp(), days, person, heights=heights)
    began = time.perf_counter()
    simulation.run()
    took = time.perf_counter() - began
    stats = simulation.stats()
    hours = "".join(f"{hour:02d}    " for hour in range(8, 19))
    lines = [f"{hours}  (# standing, - sitting, . away; 10 min a mark)"]
    for day in stats:
        lines.append(simulation.timeline(day.day) + f"  {day.day:%a %d %b}")
    lines.append("")
    library = exercise_library()
    changes = {day.day: simulation.history.changes(day.day, zone) for day in stats}
    waits = {day.day: postponed_changes(simulation.history, day.day, zone) for day in stats}
    for day in stats:
        lines += render_day(day)
        lines += [f"    {_postponed_line(wait, zone)}" for wait in waits[day.day]]
        if ctx.args.changes:
            lines += [f"    {change_line(change, library, zone)}" for change in changes[day.day]]
    if person.nudges_mm:
        lines.append(_first_suggestion_line(ctx, simulation, zone))
    speed = days * 86400 / took if took else float("inf")
    lines.append(
        f"{simulation.moves} moves; simulated {days} days in {took * 1000:.0f} ms "
        f"({speed:,.0f}x real time)"
    )
    if not ctx.args.changes:
        hint = "(--changes lists each change of posture with the exercise paired with it)"
        lines.insert(-1, hint)
    days_data = [
        day_data(s)
        | {"changes_made": [change_data(c) for c in changes[s.day]]}
        | ({"postponed": [_postponed_data(w) for w in waits[s.day]]} if calendars else {})
        for s in stats
    ]
    data: dict[str, Any] = {"days": days_data, "moves": simulation.moves, "speed": speed}
    if simulation.first_suggestion is not None:
        from deskctl.cli_suggest import to_data

        when, suggestion = simulation.first_suggestion
        data["first_suggestion"] = to_data(1, suggestion) | {"t": when}
    ctx.emit("\n".join(lines), data)
    return 0


def _simulated_heights(ctx: Context, profile: Any) -> tuple[float, float]:
    if profile is None:
        return ctx.entry.sit_mm, ctx.entry.stand_mm
    from deskctl.profiles.recommend import preferred

    return preferred(profile)


def _nudges(ctx: Context, given: list[str]) -> dict[str, float]:
    """``stand=+15mm``: after each scheduled stand the person moves the desk 15 mm up."""
    from deskctl.units import parse_user_height

    nudges: dict[str, float] = {}
    for text in given:
        posture, _, amount = text.partition("=")
        sign = -1.0 if amount.strip().startswith("-") else 1.0
        if posture not in ("sit", "stand") or not amount.strip():
            raise BadInput(f"--nudge {text!r}: write it like stand=+15mm or sit=-1cm")
        mm = parse_user_height(amount.strip().lstrip("+-"), ctx.unit, plausible_mm=(0, 100))
        nudges[posture] = sign * mm
    return nudges


def _first_suggestion_line(ctx: Context, simulation: Any, zone: dt.tzinfo) -> str:
    from deskctl.policy.suggestions import describe

    if simulation.first_suggestion is None:
        return "the fine-tunes made no suggestion"
    when, suggestion = simulation.first_suggestion
    moment = dt.datetime.fromtimestamp(when, zone).strftime("%a %d %b %H:%M")
    return f"first suggestion, {moment}: {describe(suggestion, ctx.height, zone)}"


def _calendars_for_simulate(ctx: Context) -> Calendars | None:
    """The ``--calendar`` files, each checked now: a simulation of a calendar that cannot be
    read would say nothing of it."""
    files: list[str] = ctx.args.calendar or []
    if not files:
        return None
    from deskctl.policy.calendars import CalendarFile, Calendars
    from deskctl.policy.meetings import CalendarError, busy_intervals

    for name in files:
        try:
            busy_intervals(CalendarFile(name).data(), 0, 0, dt.UTC)
        except CalendarError as error:
            raise BadInput(f"--calendar {name}: {error}") from None
    return Calendars(
        files,
        zone=local_timezone(),
        cache_dir=ctx.paths.state_dir / "calendars",
        warn=lambda line: ctx.warn([line]),
    )


def _postponed_line(wait: Postponed, zone: dt.tzinfo) -> str:
    """``postponed 09:20 (a meeting until 09:45): asked at 09:45``."""

    def clock(t: float) -> str:
        return dt.datetime.fromtimestamp(t, zone).strftime("%H:%M")

    asked = f"asked at {clock(wait.asked)}" if wait.asked is not None else "working time ended"
    back = " (you were away: asked when back)" if wait.away and wait.asked is not None else ""
    return f"postponed {clock(wait.due)} ({wait.why}): {asked}{back}"


def _postponed_data(wait: Postponed) -> dict[str, Any]:
    return {"due": wait.due, "why": wait.why, "asked": wait.asked, "away": wait.away}


def _first_day(text: str | None) -> dt.date:
    if not text:
        return _next_monday()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--start {text!r} is not a date: write it like 2026-11-23") from None


def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=(7 - today.weekday()) % 7)


async def cmd_run(ctx: Context) -> int:
    from deskctl.agent.client import RemoteDesk
    from deskctl.policy.runner import Heights
    from deskctl.profiles.recommend import heights_for

    profile = ctx.profile()
    async with ctx.desk() as desk:
        if profile is not None:
            found = heights_for(profile, desk.limits, ctx.unit)
            ctx.warn(found.notes)
            heights = Heights(found.sit_mm, found.stand_mm)
        else:
            heights = Heights(ctx.entry.sit_mm, ctx.entry.stand_mm)
        view = _view()
        desktop = _desktop(ctx, view, heights)
        show = Shown(view, desktop)
        ctx.emit(
            f"following the schedule at {ctx.entry.url} (sit {ctx.height(heights.sit_mm)}, "
            f"stand {ctx.height(heights.stand_mm)}); Ctrl-C ends it. {ANSWERS}",
            {"desk": ctx.entry.url, "sit_mm": heights.sit_mm, "stand_mm": heights.stand_mm},
        )
        from deskctl import cli_suggest

        view.suggested(
            cli_suggest.lines(
                ctx, cli_suggest.found(ctx, (desk.limits.min_mm, desk.limits.max_mm), profile)
            )
        )
        try:
            if isinstance(desk, RemoteDesk):
                await _follow_in_agent(ctx, desk, heights, show)
            else:
                await _follow_here(ctx, desk, heights, show)
        finally:
            await desktop.aclose()  # no prompt left on the desktop when run ends
    return 0


async def _follow_in_agent(ctx: Context, desk: RemoteDesk, heights: Heights, show: Shown) -> None:
    """The agent runs the schedule; this terminal shows its prompts and sends answers (the
    first answer from any face wins)."""
    import asyncio

    from deskctl.agent.schedule_wire import action_from_wire, state_from_wire

    lost = asyncio.Event()

    def on_event(message: dict[str, Any]) -> None:
        if message.get("event") == "action":
            action = action_from_wire(message["action"])
            if action is not None:
                show(action)
        elif message.get("event") == "schedule" and message.get("state") is not None:
            show.stepped(state_from_wire(message["state"]))
        elif message.get("event") == "lost":
            lost.set()

    def answer(word: str, exercise: str | None = None) -> None:
        fields = {"exercise": exercise} if exercise else {}
        desk.connection.tell("answer", desk=desk.key, answer=word, **fields)

    show.answers_to(answer)
    desk.events.add(on_event)
    await desk.connection.request(
        "follow",
        desk=desk.key,
        profile=ctx.profile_name(),
        auto=ctx.args.auto,
        sit_mm=heights.sit_mm,
        stand_mm=heights.stand_mm,
    )
    with StdinLines(_answers(show.view, answer)):
        await lost.wait()
    raise DeskUnavailable("the deskctl agent went away; the schedule stopped")


async def _follow_here(ctx: Context, desk: Desk, heights: Heights, show: Shown) -> None:
    """Direct mode: the schedule runs in this process."""
    import asyncio
    import contextlib

    from deskctl.clock import EpochClock
    from deskctl.drivers.registry import parse_desk_url, physical_key
    from deskctl.policy.calendars import with_calendars
    from deskctl.policy.engine import Engine
    from deskctl.policy.prefs import settings_for
    from deskctl.policy.runner import Runner
    from deskctl.policy.tuning import Tuner, watch

    zone = local_timezone()
    history = _history(ctx)
    key = physical_key(parse_desk_url(ctx.entry.url))
    tuner = Tuner(lambda: history, key, EpochClock().now)
    watching = asyncio.create_task(watch(desk, tuner))
    try:
        started = history.first_day(zone) or dt.date.today()
        settings = settings_for(ctx.profile(), started, timezone=zone, auto_move=ctx.args.auto)
        settings = with_calendars(
            settings,
            ctx.profile(),
            state_dir=ctx.paths.state_dir,
            warn=lambda line: ctx.warn([line]),
        )
        runner = Runner(
            desk,
            Engine(settings),
            history,
            heights=heights,
            show=show,
            stepped=show.stepped,
            presence=ctx.config.presence,
            tuner=tuner,
            profile=ctx.profile_name(),
        )
        answer = answers_here(runner)
        show.answers_to(answer)
        with StdinLines(_answers(show.view, answer)):
            await runner.run()
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        history.close()


def answers_here(runner: Runner) -> Callable[..., None]:
    """An answer's word (and the exercise it is about) as the event the runner takes."""
    from deskctl.policy.engine import Confirm, ExerciseDone, Skip, Snooze

    events: dict[str, Event] = {"confirm": Confirm(), "snooze": Snooze(), "skip": Skip()}

    def answer(word: str, exercise: str | None = None) -> None:
        if exercise is not None:
            runner.tell(ExerciseDone(exercise, word == "done"))
        else:
            runner.tell(events[word])

    return answer


class Shown:
    """Where ``deskctl run`` shows the schedule: this terminal, and the desktop's
    notifications, whose buttons answer a prompt as the terminal's letters do."""

    def __init__(self, view: RunView, desktop: PromptNotifications) -> None:
        self.view = view
        self.desktop = desktop

    def __call__(self, action: Action) -> None:
        self.view(action)
        self.desktop.action(action)

    def stepped(self, state: State) -> None:
        self.view.stepped(state)
        self.desktop.stepped(state)

    def answers_to(self, answer: Callable[..., None]) -> None:
        def clicked(word: str) -> None:
            if self.view.prompt_open:
                answer(word)
            else:
                self.view.nothing_to_answer()

        self.desktop.answer = clicked


def _answers(show: RunView, answer: Callable[..., None]) -> Callable[[str], None]:
    """What a line typed in the terminal means: y (or Enter), s, n; d or x after an exercise."""
    words = {"y": "confirm", "": "confirm", "s": "snooze", "n": "skip"}

    def on_line(line: str) -> None:
        word = line.strip().lower()
        if word in words and not show.prompt_open:
            show.nothing_to_answer()
        elif word in words:
            answer(words[word])
        elif word in ("d", "x") and show.exercise_id is not None:
            answer("done" if word == "d" else "skipped", show.exercise_id)
            show.exercise_id = None
        else:
            print(ANSWERS, flush=True)

    return on_line


class StdinLines:
    """Deliver each line typed on standard input, without a thread or polling."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        import asyncio

        self.on_line = on_line
        self.loop = asyncio.get_running_loop()
        self.watching = False

    def __enter__(self) -> None:
        if sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty():
            self.loop.add_reader(sys.stdin.fileno(), self._readable)
            self.watching = True

    def _readable(self) -> None:
        line = sys.stdin.readline()
        if not line:
            self.loop.remove_reader(sys.stdin.fileno())
            self.watching = False
            return
        self.on_line(line)

    def __exit__(self, *_: object) -> None:
        if self.watching:
            self.loop.remove_reader(sys.stdin.fileno())


def _view() -> RunView:
    """The schedule in this terminal."""
    from deskctl.policy.exercises import library
    from deskctl.run_view import RunView

    def say(text: str, _urgent: bool) -> None:
        print(text, flush=True)

    return RunView(library(), say, local_timezone(), time.time)


def _desktop(ctx: Context, view: RunView, heights: Heights) -> PromptNotifications:
    """The prompts (and the schedule's notices) as desktop notifications, unless turned off
    by ``--no-notify`` or ``notify = false`` in the config."""
    from deskctl.notify import PromptNotifications, prompt_words

    def words(prompt: Prompt) -> tuple[str, str]:
        exercise = view.library.get(prompt.exercise_id or "")
        height = ctx.height(heights.of(prompt.target))
        return prompt_words(prompt, exercise.name if exercise else None, height)

    enabled = ctx.config.notify and not ctx.args.no_notify
    return PromptNotifications(lambda _: None, words, enabled=enabled, notices=True)


POLICY_COMMANDS = (
    command(
        "history",
        cmd_history,
        "where the history is; --fresh keeps a damaged one aside and starts anew",
        arg("--fresh", action="store_true", help="keep the history aside, start a new one"),
    ),
    command(
        "run",
        cmd_run,
        "follow the sit/stand schedule with prompts and exercises",
        arg(
            "--auto",
            action="store_true",
            help="move the desk without a confirmation when you are at the computer",
        ),
        arg("--no-notify", action="store_true", help="no desktop notifications"),
    ),
    command(
        "stats",
        cmd_stats,
        "today's sitting, standing and exercises",
        arg("--week", action="store_true", help="the last seven days"),
    ),
    command(
        "simulate",
        cmd_simulate,
        "run the schedule on simulated days and sum it up",
        arg("--days", type=int, default=5, help="how many days (default 5)"),
        arg("--start", help="first day, YYYY-MM-DD (default: next Monday)"),
        arg("--seed", type=int, default=0, help="the simulated person's luck"),
        arg(
            "--nudge",
            action="append",
            metavar="POSTURE=DISTANCE",
            help="after each scheduled stand (or sit) the person fine-tunes the height by "
            "hand: stand=+15mm",
        ),
        arg(
            "--changes",
            action="store_true",
            help="list each change of posture with the exercise paired with it",
        ),
        arg(
            "--calendar",
            action="append",
            metavar="FILE",
            help="an .ics file whose meetings postpone changes (repeatable)",
        ),
    ),
)
