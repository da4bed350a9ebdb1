"""The sit/stand engine: a pure state machine.

``Engine.step(state, event, now) -> (state, actions)``: no clock, no sleeps, no
I/O.  ``now`` is Unix time; the engine turns it into local time itself for the
working hours.  ``state.next_wake`` says when it next needs a ``Tick``; between
ticks only events (the person, the desk) can change anything.

The rules, in short:

* Outside working hours nothing happens.  Inside, a bout in one posture lasts
  its planned length, then the engine *prompts* the change, paired with an
  exercise for the posture being entered.
* The desk moves only when the person confirms, or when they opted in to
  automatic moves *and* were active at the computer moments ago; never when
  they are away, never while the desk is faulted (a collision waits for them),
  never off-schedule.
* A prompt can be snoozed a bounded number of times, and each snooze is paid
  back: the snoozed minutes come off the next bout of the same posture.  It
  can be skipped.  A prompt nobody answers lapses and comes back later.
* Moving the desk by hand is accepted: the new posture starts a new bout.
* Time away from the desk is a natural break: the cycle starts afresh on return.
* Standing is capped per bout and per day.
* A change that falls in a meeting (``Settings.meetings``) or while the desktop is
  set not to disturb (``Settings.do_not_disturb``) is postponed to the meeting's end,
  not dropped: no prompt and no automatic move during it, and the next bout is timed
  from the change when it is made.  The standing a meeting took is made up by longer
  standing bouts; a standing bout ends a minute before a meeting begins, and nobody is
  asked to stand up for less than the shortest bout before one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from deskctl.policy.exercises import Library, Posture, library
from deskctl.policy.meetings import NO_MEETINGS, Meetings
from deskctl.policy.schedule import SHORTEST_BOUT_S, Rhythm, WorkingHours, daily_goal_s

RECENT_EXERCISES = 5
MEETING_LEAD_S = 60.0
"""A standing bout ends this long before a meeting: time to be asked and to sit down."""


class Phase(StrEnum):
    OFF = "off"
    """Outside working hours."""
    AT_DESK = "at-desk"
    """In a bout of sitting or standing."""
    PROMPT = "prompt"
    """Asking for a change of posture."""
    MOVING = "moving"
    """The desk is moving to the new posture."""
    AWAY = "away"
    BLOCKED = "blocked"
    """The desk reported a fault: nothing moves until the person clears it."""


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """Time has passed (the runner wakes the engine at ``state.next_wake``)."""


@dataclass(frozen=True)
class Confirm:
    """The person agreed to the change of posture."""


@dataclass(frozen=True)
class Snooze:
    pass


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Activity:
    """The person is at the computer (keyboard, mouse, the TUI, a terminal answer)."""


@dataclass(frozen=True)
class Away:
    """The person left (the platform reports them idle, or nobody answered)."""

    since: float | None = None
    """When they left, if the platform knows (idle for a while before it said so)."""


@dataclass(frozen=True)
class Locked:
    """The screen locked: the person left at once, and their time away is a break
    however short (they got up); unlocking it is activity."""


@dataclass(frozen=True)
class Arrived:
    """The desk reached the posture the engine asked for."""

    posture: Posture


@dataclass(frozen=True)
class DeskMoved:
    """The desk changed posture without the engine asking: the handset, another app."""

    posture: Posture


@dataclass(frozen=True)
class MoveFailed:
    reason: str


@dataclass(frozen=True)
class Faulted:
    """A collision or an overheated motor: the desk waits for the person."""

    reason: str


@dataclass(frozen=True)
class Rearmed:
    """The person cleared the fault (``deskctl stop``)."""


@dataclass(frozen=True)
class ExerciseDone:
    exercise_id: str
    done: bool = True


Event = (
    Tick
    | Confirm
    | Snooze
    | Skip
    | Activity
    | Away
    | Locked
    | Arrived
    | DeskMoved
    | MoveFailed
    | Faulted
    | Rearmed
    | ExerciseDone
)

# -- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """Ask for the change; with ``auto`` the desk moves when ``countdown_s`` runs out."""

    target: Posture
    exercise_id: str | None
    countdown_s: float
    auto: bool
    snoozes_left: int


@dataclass(frozen=True)
class Move:
    target: Posture


@dataclass(frozen=True)
class ShowExercise:
    exercise_id: str


@dataclass(frozen=True)
class Notify:
    text: str


@dataclass(frozen=True)
class Record:
    """Something for the history: ``kind`` is posture, transition, exercise or move."""

    kind: str
    what: str
    detail: str = ""


Action = Prompt | Move | ShowExercise | Notify | Record

# -- configuration and state --------------------------------------------------------------------


def _undisturbed() -> bool:
    return False


@dataclass(frozen=True)
class Settings:
    rhythm: Rhythm = field(default_factory=Rhythm)
    hours: WorkingHours = field(default_factory=WorkingHours)
    timezone: dt.tzinfo = dt.UTC
    auto_move: bool = False
    """Opt-in: move without a confirmation when the person is present."""
    presence_s: float = 120.0
    """Activity this recent means the person is at the desk."""
    countdown_s: float = 30.0
    """Automatic moves: the warning before the desk moves (any answer cancels it)."""
    answer_s: float = 300.0
    """How long a prompt waits for an answer before it lapses."""
    snooze_s: float = 5 * 60
    max_snoozes: int = 2
    retry_s: float = 10 * 60
    """After a lapsed prompt or a failed move, ask again this much later."""
    natural_break_s: float = 5 * 60
    """Away at least this long counts as a break: the cycle starts afresh."""
    min_bout_s: float = SHORTEST_BOUT_S
    focus: tuple[str, ...] = ()
    skip_exercises: tuple[str, ...] = ()
    longest_exercise_s: float = 120.0
    library: Library = field(default_factory=library)
    meetings: Meetings = NO_MEETINGS
    """The person's meetings, from their calendars."""
    do_not_disturb: Callable[[], bool] = _undisturbed
    """Whether the desktop is set not to disturb now: a meeting with no known end."""

    def goal_s(self, day: dt.date) -> float:
        """The day's goal of standing and moving, within what its working hours allow."""
        return daily_goal_s(self.rhythm, self.hours, day)


@dataclass(frozen=True)
class State:
    phase: Phase = Phase.OFF
    posture: Posture = Posture.SIT
    since: float = 0.0
    """When the current bout began."""
    due: float | None = None
    """When the next change of posture is due."""
    boundary: float | None = None
    """When working time next starts (when off) or ends (when at work)."""
    prompt_until: float | None = None
    target: Posture | None = None
    exercise_id: str | None = None
    auto: bool = False
    snoozes: int = 0
    debt_s: dict[Posture, float] = field(default_factory=dict)
    """Snoozed seconds to take off the next bout of each posture."""
    day: dt.date | None = None
    standing_s: float = 0.0
    """Standing today in finished bouts."""
    recent: tuple[str, ...] = ()
    last_activity: float | None = None
    away_since: float | None = None
    locked: bool = False
    """The time away began with a locked screen: a natural break whatever its length."""
    resume: Phase | None = None
    """Where a blocked engine goes back to when the desk is re-armed."""
    outcome: str | None = None
    """How the last prompt ended: confirmed, snoozed, skipped, lapsed, away, automatic or
    by hand (None while one is open, or before the first)."""
    owed_s: float = 0.0
    """Standing the day's meetings kept the person from: the next standing bouts are
    longer by it (within the cap of a standing bout)."""
    postponed_at: float | None = None
    """When the change now waiting for a meeting to end was first due (None: none waits).
    With ``due`` None it waits for do-not-disturb to end."""

    @property
    def next_wake(self) -> float | None:
        """When the engine next needs a ``Tick``; None: only an event can change anything."""
        waits = {Phase.AT_DESK: self.due, Phase.PROMPT: self.prompt_until}
        times = [t for t in (waits.get(self.phase), self.boundary) if t is not None]
        return min(times) if times else None

    @property
    def next_change(self) -> float | None:
        """When the posture is next due to change (or the engine next looks again)."""
        return self.due if self.phase is Phase.AT_DESK else self.next_wake


Step = tuple[State, list[Action]]


class Engine:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    # -- time ---------------------------------------------------------------------------------

    def _local(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, self.settings.timezone)

    def _working_range(self, now: float) -> tuple[float, float] | None:
        found = self.settings.hours.range_at(self._local(now))
        return None if found is None else (found[0].timestamp(), found[1].timestamp())

    def _next_start(self, now: float) -> float | None:
        begins = self.settings.hours.next_start(self._local(now))
        return None if begins is None else begins.timestamp()

    def _bout_s(
        self, state: State, posture: Posture, now: float, *, before_meetings: bool = True
    ) -> float:
        rhythm = self.settings.rhythm
        if posture is Posture.SIT:
            bout = rhythm.sit_s
        else:
            left_today = rhythm.daily_standing_cap_s - state.standing_s
            bout = min(rhythm.up_bout_s + state.owed_s, rhythm.max_standing_s, left_today)
            # Seated before the next meeting: the bout ends a minute before it begins.
            begins = self._free_for(now) if before_meetings else None
            if begins is not None and begins >= self.settings.min_bout_s:
                bout = min(bout, begins)
        return max(self.settings.min_bout_s, bout - state.debt_s.get(posture, 0.0))

    def _free_for(self, now: float) -> float | None:
        """How long until the time to get ready for the next meeting (None: none known)."""
        begins = self.settings.meetings.next_start(now)
        return None if begins is None else begins - MEETING_LEAD_S - now

    def plan(self, state: State, now: float, until: float) -> list[tuple[Posture, float, float]]:
        """The bouts ahead from ``now`` to ``until`` if every change is taken when due:
        (posture, from, to), within working hours only."""
        bouts: list[tuple[Posture, float, float]] = []
        posture, t = state.posture, now
        ends = state.due if state.phase is Phase.AT_DESK and state.due else None
        ends = None if ends is None else self._after_meetings(ends)
        cap = self.settings.rhythm.daily_standing_cap_s
        while t < until:
            working = self._working_range(t)
            if working is None:
                begins = self._next_start(t)
                if begins is None or begins >= until:
                    break
                t, ends = begins, None
                continue
            if ends is None or ends <= t:
                ends = self._after_meetings(t + self._bout_s(state, posture, t))
            stop = min(ends, working[1], until)
            bouts.append((posture, t, stop))
            if posture is Posture.STAND:
                state = dataclasses.replace(state, standing_s=state.standing_s + stop - t)
            if stop == ends:
                upright = posture is Posture.SIT and state.standing_s < cap
                posture = Posture.STAND if upright else Posture.SIT
                ends = None
            t = stop
        return bouts

    def _after_meetings(self, moment: float) -> float:
        """When a change due at ``moment`` can be made: at the end of the meeting (or of
        back-to-back meetings) it falls in."""
        ends = self.settings.meetings.until(moment)
        return moment if ends is None or ends <= moment else ends

    def _meeting_ends(self, now: float) -> float | None:
        """When the meeting under way ends (``math.inf``: do not disturb, with no known
        end); None when there is none."""
        if self.settings.do_not_disturb():
            return math.inf
        ends = self.settings.meetings.until(now)
        return ends if ends is not None and ends > now else None

    def present(self, state: State, now: float) -> bool:
        last = state.last_activity
        return last is not None and now - last <= self.settings.presence_s

    # -- the machine --------------------------------------------------------------------------

    def step(self, state: State, event: Event, now: float) -> Step:
        """The state after ``event`` at ``now``, and what to do about it."""
        state, actions = self._new_day(state, now)
        if isinstance(event, Activity):
            state = dataclasses.replace(state, last_activity=now)
        handler = getattr(self, f"_on_{type(event).__name__.lower()}")
        state, more = handler(state, event, now)
        return state, actions + more

    def _new_day(self, state: State, now: float) -> Step:
        today = self._local(now).date()
        if state.day == today:
            return state, []
        actions: list[Action] = []
        if state.phase is not Phase.OFF and state.day is not None:
            # Work ran past midnight: close yesterday's bout where it is.
            state, actions = self._end_bout(state, now)
            state = dataclasses.replace(state, since=now)
        return dataclasses.replace(state, day=today, standing_s=0.0, owed_s=0.0), actions

    def _on_tick(self, state: State, _: Tick, now: float) -> Step:
        working = self._working_range(now)
        if state.phase is Phase.OFF:
            if working is None:
                return dataclasses.replace(state, boundary=self._next_start(now)), []
            return self._start_work(state, now, working[1])
        if working is None and state.phase in (Phase.AT_DESK, Phase.PROMPT, Phase.AWAY):
            return self._stop_work(state, now)
        # Moving or blocked: that finishes first; wake at the next change of working time.
        boundary = self._next_start(now) if working is None else working[1]
        state = dataclasses.replace(state, boundary=boundary)
        due = state.due if state.due is not None else state.postponed_at
        if state.phase is Phase.AT_DESK and due is not None and now >= due:
            return self._prompt(state, now)
        prompt_over = state.prompt_until is not None and now >= state.prompt_until
        if state.phase is Phase.PROMPT and prompt_over:
            return self._prompt_ran_out(state, now)
        return state, []

    def _start_work(self, state: State, now: float, ends: float) -> Step:
        state = dataclasses.replace(
            state, phase=Phase.AT_DESK, since=now, boundary=ends, snoozes=0, debt_s={}
        )
        state = dataclasses.replace(state, due=now + self._bout_s(state, state.posture, now))
        return state, [Record("posture", state.posture.value, "work starts")]

    def _stop_work(self, state: State, now: float) -> Step:
        state, actions = self._end_bout(state, now)
        state = dataclasses.replace(
            state,
            phase=Phase.OFF,
            due=None,
            prompt_until=None,
            target=None,
            boundary=self._next_start(now),
            postponed_at=None,
        )
        return state, [*actions, Record("posture", "off", "work ends")]

    def _end_bout(self, state: State, now: float) -> Step:
        """Count a finished bout (standing time adds up towards the daily cap)."""
        if state.posture is Posture.STAND and state.phase not in (Phase.OFF, Phase.AWAY):
            stood = max(0.0, now - state.since)
            # Standing beyond the usual bout pays back what meetings took.
            paid = max(0.0, stood - self.settings.rhythm.up_bout_s)
            state = dataclasses.replace(
                state,
                standing_s=state.standing_s + stood,
                owed_s=max(0.0, state.owed_s - paid),
            )
        return state, []

    def _prompt(self, state: State, now: float) -> Step:
        target = Posture.STAND if state.posture is Posture.SIT else Posture.SIT
        rhythm = self.settings.rhythm
        if target is Posture.STAND and state.standing_s >= rhythm.daily_standing_cap_s:
            # Enough standing for one day: keep sitting, with no prompt to nag.
            due = now + rhythm.sit_s
            return dataclasses.replace(state, due=due), [
                Record("transition", "capped", "the day's standing cap is reached")
            ]
        ends = self._meeting_ends(now)
        free_for = self._free_for(now)
        short = free_for is not None and free_for < self.settings.min_bout_s
        if ends is None and target is Posture.STAND and short:
            # Too little time to stand before the next meeting: stand up after it.
            begins = self.settings.meetings.next_start(now)
            ends = None if begins is None else self._after_meetings(begins)
        if ends is not None:
            return self._postpone(state, now, ends)
        if target is Posture.STAND and state.postponed_at is not None:
            # Each minute sat beyond the bout owes the standing the rhythm pairs with a
            # minute of sitting, so that the day keeps its ratio of sitting to standing.
            share = rhythm.up_bout_s / rhythm.sit_s
            owed = state.owed_s + (now - state.postponed_at) * share
            state = dataclasses.replace(state, owed_s=owed)
        settings = self.settings
        exercise = settings.library.pick(
            target,
            focus=settings.focus,
            skip=settings.skip_exercises,
            recent=state.recent,
            longest_s=min(settings.longest_exercise_s, max(rhythm.move_s, 20.0)),
        )
        exercise_id = None if exercise is None else exercise.id
        auto = settings.auto_move
        wait = settings.countdown_s if auto else settings.answer_s
        state = dataclasses.replace(
            state,
            phase=Phase.PROMPT,
            target=target,
            exercise_id=exercise_id,
            auto=auto,
            prompt_until=now + wait,
            outcome=None,
            postponed_at=None,
        )
        left = settings.max_snoozes - state.snoozes
        return state, [
            Prompt(target, exercise_id, wait, auto, left),
            Record("transition", "prompted", target.value),
        ]

    def _postpone(self, state: State, now: float, ends: float) -> Step:
        """No change during a meeting: ask again the moment it ends."""
        state = self._back_to_desk(state, due=None if math.isinf(ends) else ends)
        first = now if state.postponed_at is None else state.postponed_at
        state = dataclasses.replace(state, postponed_at=first)
        meeting = not math.isinf(ends)
        why = f"a meeting until {self._local(ends):%H:%M}" if meeting else "do not disturb"
        return state, [Record("transition", "postponed", why)]

    def _prompt_ran_out(self, state: State, now: float) -> Step:
        target = state.target or Posture.STAND
        if state.auto and self.present(state, now) and (ends := self._meeting_ends(now)):
            return self._postpone(state, now, ends)  # the warning ran into a meeting
        if state.auto and self.present(state, now):
            state = dataclasses.replace(
                state, phase=Phase.MOVING, prompt_until=None, outcome="automatic"
            )
            return state, [Move(target), Record("transition", "automatic", target.value)]
        back = self._back_to_desk(state, due=now + self.settings.retry_s)
        back = dataclasses.replace(back, outcome="lapsed")
        if not self.present(state, now):
            # Nobody answered and nobody has been active: the person is away.
            back, actions = self._on_away(back, Away(), now)
            back = dataclasses.replace(back, outcome="away")
            return back, [Record("transition", "lapsed", "nobody at the desk"), *actions]
        return back, [Record("transition", "lapsed", "no answer")]

    def _back_to_desk(self, state: State, due: float | None) -> State:
        return dataclasses.replace(
            state, phase=Phase.AT_DESK, due=due, prompt_until=None, target=None, auto=False
        )

    def _on_confirm(self, state: State, _: Confirm, now: float) -> Step:
        state = dataclasses.replace(state, last_activity=now)
        if state.phase is not Phase.PROMPT or state.target is None:
            return state, []
        target = state.target
        state = dataclasses.replace(
            state, phase=Phase.MOVING, prompt_until=None, auto=False, outcome="confirmed"
        )
        return state, [Move(target), Record("transition", "confirmed", target.value)]

    def _on_snooze(self, state: State, _: Snooze, now: float) -> Step:
        state = dataclasses.replace(state, last_activity=now)
        if state.phase is not Phase.PROMPT:
            return state, []
        if state.snoozes >= self.settings.max_snoozes:
            return state, [Notify("no snoozes left for this change: confirm it or skip it")]
        snooze = self.settings.snooze_s
        # The snooze is paid back: the next bout in this posture is that much shorter.
        debt = dict(state.debt_s)
        debt[state.posture] = debt.get(state.posture, 0.0) + snooze
        state = self._back_to_desk(state, due=now + snooze)
        state = dataclasses.replace(
            state, snoozes=state.snoozes + 1, debt_s=debt, outcome="snoozed"
        )
        return state, [Record("transition", "snoozed", f"{snooze / 60:g} min")]

    def _on_skip(self, state: State, _: Skip, now: float) -> Step:
        state = dataclasses.replace(state, last_activity=now)
        if state.phase is not Phase.PROMPT:
            return state, []
        state = self._back_to_desk(state, due=now + self._bout_s(state, state.posture, now))
        state = dataclasses.replace(state, snoozes=0, outcome="skipped")
        return state, [Record("transition", "skipped")]

    def _on_activity(self, state: State, _: Activity, now: float) -> Step:
        if state.phase is not Phase.AWAY or state.away_since is None:
            return state, []
        away, locked = now - state.away_since, state.locked
        state = dataclasses.replace(state, phase=Phase.AT_DESK, away_since=None, locked=False)
        if self._working_range(now) is None:
            return self._stop_work(dataclasses.replace(state, phase=Phase.AWAY), now)
        actions: list[Action] = [Record("posture", state.posture.value, "back")]
        if away >= self.settings.natural_break_s or locked:
            # A natural break: the cycle starts afresh.
            state = dataclasses.replace(state, since=now, snoozes=0, debt_s={})
            state = dataclasses.replace(state, due=now + self._bout_s(state, state.posture, now))
        elif state.due is not None:
            state = dataclasses.replace(state, due=max(state.due, now) + away)
        return state, actions

    def _on_away(self, state: State, event: Away, now: float) -> Step:
        if state.phase in (Phase.OFF, Phase.AWAY, Phase.BLOCKED, Phase.MOVING):
            return state, []
        left = now if event.since is None else max(state.since, min(event.since, now))
        state, actions = self._end_bout(state, left)
        state = dataclasses.replace(
            state, phase=Phase.AWAY, away_since=left, locked=False, prompt_until=None, target=None
        )
        return state, [*actions, Record("posture", "away")]

    def _on_locked(self, state: State, _: Locked, now: float) -> Step:
        # Whatever the last activity said, nobody is at a locked screen.
        state = dataclasses.replace(state, last_activity=None)
        if state.phase is Phase.AWAY:
            return dataclasses.replace(state, locked=True), []
        prompted = state.phase is Phase.PROMPT
        state, actions = self._on_away(state, Away(), now)
        if state.phase is Phase.AWAY:
            state = dataclasses.replace(state, locked=True)
        if prompted:
            state = dataclasses.replace(state, outcome="away")
        return state, actions

    def _on_arrived(self, state: State, event: Arrived, now: float) -> Step:
        if state.phase is not Phase.MOVING:
            return state, []
        cause = "automatic" if state.auto else "prompt"
        state, actions = self._new_posture(state, event.posture, now, cause)
        return state, [Record("move", "done", event.posture.value), *actions]

    def _on_deskmoved(self, state: State, event: DeskMoved, now: float) -> Step:
        if state.phase is Phase.OFF:
            return dataclasses.replace(state, posture=event.posture), []
        if event.posture is state.posture or state.phase is Phase.MOVING:
            return state, []
        # The person moved the desk themselves: follow them, never fight them.
        prompted = state.phase is Phase.PROMPT
        moved_to_prompt = prompted and state.target is event.posture
        state, actions = self._new_posture(
            state, event.posture, now, "manual", show=moved_to_prompt
        )
        if prompted:
            state = dataclasses.replace(state, outcome="by hand")
        if moved_to_prompt:
            actions.insert(0, Record("transition", "confirmed", "by hand"))
        return state, actions

    def _new_posture(
        self, state: State, posture: Posture, now: float, cause: str, show: bool = True
    ) -> Step:
        if state.phase is Phase.AWAY:
            state = dataclasses.replace(state, away_since=None, locked=False)
        state, actions = self._end_bout(state, now)
        debt = {k: v for k, v in state.debt_s.items() if k is not posture}
        exercise = state.exercise_id if show and posture is state.target else None
        state = dataclasses.replace(
            state,
            phase=Phase.AT_DESK,
            posture=posture,
            since=now,
            target=None,
            prompt_until=None,
            auto=False,
            snoozes=0,
            last_activity=now if cause == "manual" else state.last_activity,
            postponed_at=None,
        )
        bout = self._bout_s(state, posture, now)
        if posture is Posture.STAND:
            # What a meeting cuts off this bout is owed too.
            uncut = self._bout_s(state, posture, now, before_meetings=False)
            state = dataclasses.replace(state, owed_s=state.owed_s + uncut - bout)
        state = dataclasses.replace(state, due=now + bout, debt_s=debt)
        actions.append(Record("posture", posture.value, cause))
        if exercise is not None:
            recent = (*state.recent, exercise)[-RECENT_EXERCISES:]
            state = dataclasses.replace(state, recent=recent, exercise_id=None)
            actions += [ShowExercise(exercise), Record("exercise", "shown", exercise)]
        return state, actions

    def _on_movefailed(self, state: State, event: MoveFailed, now: float) -> Step:
        if state.phase is not Phase.MOVING:
            return state, []
        state = self._back_to_desk(state, due=now + self.settings.retry_s)
        return state, [
            Notify(f"the desk did not move: {event.reason}"),
            Record("move", "failed", event.reason),
        ]

    def _on_faulted(self, state: State, event: Faulted, now: float) -> Step:
        if state.phase is Phase.BLOCKED:
            return state, []
        resume = Phase.AT_DESK if state.phase in (Phase.PROMPT, Phase.MOVING) else state.phase
        state = dataclasses.replace(
            state, phase=Phase.BLOCKED, resume=resume, prompt_until=None, target=None
        )
        return state, [
            Notify(f"{event.reason}; nothing moves until you clear it ('deskctl stop')"),
            Record("move", "fault", event.reason),
        ]

    def _on_rearmed(self, state: State, _: Rearmed, now: float) -> Step:
        if state.phase is not Phase.BLOCKED:
            return state, []
        resume = state.resume or Phase.AT_DESK
        due = state.due if state.due is not None and state.due > now else now + 60.0
        state = dataclasses.replace(state, phase=resume, resume=None, due=due)
        return state, [Record("move", "re-armed")]

    def _on_exercisedone(self, state: State, event: ExerciseDone, now: float) -> Step:
        outcome = "done" if event.done else "skipped"
        return state, [Record("exercise", outcome, event.exercise_id)]
