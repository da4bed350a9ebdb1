"""Meetings as busy intervals: what a calendar says, reduced to the stretches of time in
which the schedule must not ask for a change of posture.

Pure: iCalendar text in, Unix-time intervals out (``busy_intervals``), and ``Busy``, a
sorted set of merged intervals that answers "busy at this moment? until when?".  The
calendars themselves (files, URLs, their caches) are in ``calendars.py``.

What counts as busy: an event with a start and an end time that is not marked free
(``TRANSP:TRANSPARENT``) and not cancelled (``STATUS:CANCELLED``).  All-day events are
not meetings: they are holidays, birthdays, reminders and "working from home", and one
that blocked the whole day would leave nobody asked to stand.  Recurring events are
expanded with their exceptions (``EXDATE``) and moved instances (``RECURRENCE-ID``).
Times with a ``TZID`` or in UTC are kept as they are; floating times (no zone) are the
person's local time.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

Interval = tuple[float, float]


class Meetings(Protocol):
    """What the schedule asks of the person's meetings."""

    def until(self, moment: float) -> float | None:
        """When the busy stretch ``moment`` falls in ends; None when it falls in none."""

    def next_start(self, moment: float) -> float | None:
        """When the next busy stretch after ``moment`` begins (None: none is known)."""


class CalendarError(ValueError):
    """The text is no iCalendar calendar, or one with an event that cannot be read."""


def busy_intervals(data: bytes, start: float, end: float, zone: dt.tzinfo) -> list[Interval]:
    """The busy events of a calendar that overlap ``[start, end)``, as (from, to) in Unix
    time, sorted and merged."""
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as error:
        raise CalendarError(f"not an iCalendar file ({_short(error)})") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise CalendarError("not an iCalendar file (no VCALENDAR)")
    # A day's margin on either side: floating times are matched in the query's own clock.
    since = dt.datetime.fromtimestamp(start, zone) - dt.timedelta(days=1)
    until = dt.datetime.fromtimestamp(end, zone) + dt.timedelta(days=1)
    try:
        events = recurring_ical_events.of(calendar).between(since, until)
    except Exception as error:  # the library raises many kinds on a broken rule or date
        raise CalendarError(f"an event cannot be read ({_short(error)})") from None
    found = []
    for event in events:
        interval = _busy(event, zone)
        if interval is not None and interval[0] < end and interval[1] > start:
            found.append(interval)
    return merge(found)


def _busy(event: object, zone: dt.tzinfo) -> Interval | None:
    import icalendar

    if not isinstance(event, icalendar.Event):
        return None
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    begins = event.get("DTSTART")
    ends = event.get("DTEND")
    if begins is None or ends is None:
        return None
    first, last = begins.dt, ends.dt
    if not isinstance(first, dt.datetime) or not isinstance(last, dt.datetime):
        return None  # an all-day event
    return _timestamp(first, zone), _timestamp(last, zone)


def _timestamp(moment: dt.datetime, zone: dt.tzinfo) -> float:
    if moment.tzinfo is None:  # a floating time: the person's local time
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined: back-to-back meetings are
    one busy stretch.  Empty intervals are dropped."""
    merged: list[Interval] = []
    for begins, ends in sorted(i for i in intervals if i[1] > i[0]):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


@dataclass(frozen=True)
class Busy:
    """Busy stretches of time, merged: the schedule asks ``until(moment)``."""

    intervals: tuple[Interval, ...] = ()
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", tuple(merge(self.intervals)))
        object.__setattr__(self, "_starts", tuple(i[0] for i in self.intervals))

    def until(self, moment: float) -> float | None:
        """When the busy stretch ``moment`` falls in ends; None when it falls in none."""
        index = bisect.bisect_right(self._starts, moment) - 1
        if index >= 0 and moment < self.intervals[index][1]:
            return self.intervals[index][1]
        return None

    def next_start(self, moment: float) -> float | None:
        """When the next busy stretch after ``moment`` begins."""
        index = bisect.bisect_right(self._starts, moment)
        return self._starts[index] if index < len(self._starts) else None


NO_MEETINGS = Busy()


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
