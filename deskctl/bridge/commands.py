"""Commands from the broker: parsed and checked before anything reaches a desk.

A payload is text of a few words at most; anything else is refused with a
reason, never guessed at.  Moves are rationed per desk by a token bucket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deskctl.errors import InvalidHeight
from deskctl.profiles.at_desk import NAME_RE
from deskctl.units import Unit, parse_user_height, to_unit

MAX_PAYLOAD = 64
PRESET = re.compile(r"^preset_([1-9])$")
ANSWERS = ("confirm", "snooze", "skip")


class CommandRefused(Exception):
    """A command that is not carried out; the message says why."""


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class MoveTo:
    height_mm: float


@dataclass(frozen=True)
class GoTo:
    """To the sitting or standing height of whoever is at the desk."""

    posture: str


@dataclass(frozen=True)
class RecallPreset:
    slot: int


@dataclass(frozen=True)
class Answer:
    """An answer to the schedule's prompt: confirm (which moves the desk), snooze or skip."""

    answer: str


@dataclass(frozen=True)
class UseProfile:
    name: str


Command = Stop | MoveTo | GoTo | RecallPreset | Answer | UseProfile


def moves_the_desk(command: Command) -> bool:
    return isinstance(command, MoveTo | GoTo | RecallPreset) or command == Answer("confirm")


def parse_command(kind: str, payload: bytes, unit: Unit) -> Command:
    """The command that ``payload`` on a desk's ``kind`` topic asks for."""
    if len(payload) > MAX_PAYLOAD:
        raise CommandRefused(f"the payload is {len(payload)} bytes; commands are short words")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandRefused("the payload is not UTF-8 text") from None
    if kind == "height/set":
        return MoveTo(_height(text, unit))
    if kind == "profile/set":
        if not NAME_RE.match(text):
            raise CommandRefused(f"{text!r} is not a profile name")
        return UseProfile(text)
    word = text.lower()
    if word == "stop":
        return Stop()
    if word in ("sit", "stand"):
        return GoTo(word)
    if word in ANSWERS:
        return Answer(word)
    preset = PRESET.match(word)
    if preset:
        return RecallPreset(int(preset.group(1)))
    raise CommandRefused(
        f"unknown command {text!r}: sit, stand, stop, preset_N, confirm, snooze or skip"
    )


# A bare number: digits 0-9 with at most one decimal point or comma, nothing else.
_BARE = re.compile(r"^(?:\d+(?:[.,]\d+)?|[.,]\d+)$", re.ASCII)
# A number with a word after it: the command line's own message says what is wrong.
_WITH_UNIT = re.compile(r"^[\d.,]+\s*[a-z\"]+$", re.ASCII | re.IGNORECASE)


def _height(text: str, unit: Unit) -> float:
    """A height as the command line parses it, except that a bare number is in the bridge's
    unit (what Home Assistant's number sends)."""
    if not text.isascii():
        raise CommandRefused(f"{text!r} is not a height: write its digits as 0-9")
    try:
        return parse_user_height(text, unit)  # the one rule: a bare number is in the unit
    except InvalidHeight as error:
        if _BARE.match(text) or _WITH_UNIT.match(text):
            raise CommandRefused(str(error)) from None
        raise CommandRefused(
            f"{text!r} is not a height: send a number in {unit.value} "
            f"(like {round(to_unit(1100, unit), 1):g}) or one with a unit (1100mm, 110cm, 43.3in)"
        ) from None


class MoveRation:
    """A token bucket: ``burst`` moves at once, then one every ``60 / per_minute`` seconds."""

    def __init__(self, per_minute: int, burst: int = 3) -> None:
        self.interval_s = 60.0 / per_minute
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None

    def take(self, now: float) -> bool:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.interval_s)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def wait_s(self) -> float:
        return (1 - self._tokens) * self.interval_s
