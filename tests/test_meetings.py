"""Meetings from calendars: recurrences and their exceptions, all-day events, time zones,
free and cancelled events; files read again only when they change; URLs fetched from a
local web server, cached, and kept through a failure."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskctl.policy.calendars import CalendarFile, Calendars, CalendarUrl
from deskctl.policy.meetings import Busy, CalendarError, busy_intervals, merge

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//deskctl tests//EN
BEGIN:VEVENT
UID:standup
SUMMARY:Stand-up
DTSTART;TZID=Europe/Berlin:20261123T093000
DTEND;TZID=Europe/Berlin:20261123T094500
RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR
EXDATE;TZID=Europe/Berlin:20261125T093000
END:VEVENT
BEGIN:VEVENT
UID:standup
RECURRENCE-ID;TZID=Europe/Berlin:20261126T093000
SUMMARY:Stand-up, moved
DTSTART;TZID=Europe/Berlin:20261126T110000
DTEND;TZID=Europe/Berlin:20261126T111500
END:VEVENT
BEGIN:VEVENT
UID:review
SUMMARY:Review (UTC)
DTSTART:20261124T130000Z
DTEND:20261124T140000Z
END:VEVENT
BEGIN:VEVENT
UID:lunch
SUMMARY:Lunch with Jo (floating)
DTSTART:20261124T160000
DTEND:20261124T163000
END:VEVENT
BEGIN:VEVENT
UID:holiday
SUMMARY:Conference (all day)
DTSTART;VALUE=DATE:20261127
DTEND;VALUE=DATE:20261128
END:VEVENT
BEGIN:VEVENT
UID:focus
SUMMARY:Focus time, shown as free
DTSTART;TZID=Europe/Berlin:20261124T140000
DTEND;TZID=Europe/Berlin:20261124T150000
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:off
SUMMARY:Cancelled planning
DTSTART;TZID=Europe/Berlin:20261124T150000
DTEND;TZID=Europe/Berlin:20261124T160000
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""


# The stand-ups move to 10:00-10:15 from Monday on.
STANDUPS_AT_TEN = CALENDAR.replace("20261123T093000", "20261123T100000", 1).replace(
    "20261123T094500", "20261123T101500", 1
)


def berlin(day: int, hour: int, minute: int = 0) -> float:
    """Unix time of a Berlin wall-clock moment in the week of Monday 23 November 2026."""
    return dt.datetime(2026, 11, 23 + day, hour, minute, tzinfo=BERLIN).timestamp()


def week(zone: dt.tzinfo = BERLIN, text: str = CALENDAR) -> list[tuple[float, float]]:
    return busy_intervals(text.encode(), berlin(0, 0), berlin(7, 0), zone)


def test_recurrences_exceptions_and_moved_instances() -> None:
    standups = [i for i in week() if i[1] - i[0] == 15 * 60]
    assert standups == [
        (berlin(0, 9, 30), berlin(0, 9, 45)),
        (berlin(1, 9, 30), berlin(1, 9, 45)),
        # Wednesday's is struck out (EXDATE); Thursday's moved to 11:00 (RECURRENCE-ID).
        (berlin(3, 11), berlin(3, 11, 15)),
        (berlin(4, 9, 30), berlin(4, 9, 45)),
    ]


def test_only_timed_busy_events_count_in_their_own_time_zones() -> None:
    tuesday = [i for i in week() if berlin(1, 10) <= i[0] < berlin(2, 0)]
    # UTC 13:00 is 14:00 in Berlin; the floating lunch is at 16:00 wherever the person is.
    # Focus time (free) and the cancelled planning are not there; nor is Friday's all-day.
    assert tuesday == [(berlin(1, 14), berlin(1, 15)), (berlin(1, 16), berlin(1, 16, 30))]
    assert not [i for i in week() if berlin(4, 12) <= i[0] < berlin(5, 0)]
    in_new_york = [i for i in week(NEW_YORK) if berlin(1, 10) <= i[0] < berlin(2, 0)]
    lunch = dt.datetime(2026, 11, 24, 16, tzinfo=NEW_YORK).timestamp()
    assert (lunch, lunch + 1800) in in_new_york
    assert (berlin(1, 14), berlin(1, 15)) in in_new_york  # fixed times do not move


def test_back_to_back_meetings_are_one_busy_stretch() -> None:
    assert merge([(5, 6), (1, 3), (3, 4), (2, 2.5), (7, 7)]) == [(1, 4), (5, 6)]
    busy = Busy(((10.0, 20.0), (20.0, 30.0), (40.0, 50.0)))
    assert busy.until(9.9) is None
    assert busy.until(10.0) == 30.0
    assert busy.until(25.0) == 30.0
    assert busy.until(30.0) is None
    assert busy.until(45.0) == 50.0


def test_what_is_no_calendar_is_said() -> None:
    with pytest.raises(CalendarError, match="not an iCalendar file"):
        busy_intervals(b"hello, not a calendar", 0, 1e9, BERLIN)


def test_a_file_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "work.ics"
    path.write_text(CALENDAR)
    calendar = CalendarFile(str(path))
    first = calendar.data()
    assert calendar.data() is first
    # Same size, same modification time: not read again (so not seen either).
    info = path.stat()
    path.write_text(CALENDAR.replace("Stand-up", "Stand-UP"))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert calendar.data() is first
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    assert b"Stand-UP" in calendar.data()
    assert calendar.version == 2


def test_calendars_follow_a_file_that_changes_and_one_bad_line_for_a_broken_one(
    tmp_path: Path,
) -> None:
    good, bad = tmp_path / "work.ics", tmp_path / "broken.ics"
    good.write_text(CALENDAR)
    bad.write_text("BEGIN:VCALENDAR\nthis is not it")
    said: list[str] = []
    missing = str(tmp_path / "gone.ics")
    calendars = Calendars(
        [str(good), str(bad), missing], zone=BERLIN, cache_dir=tmp_path, warn=said.append
    )
    assert calendars.busy_until(berlin(0, 9, 40)) == berlin(0, 9, 45)
    assert calendars.busy_until(berlin(0, 9, 50)) is None
    calendars.busy_until(berlin(1, 9, 40))
    assert len(said) == 2, said  # once each, not at every look
    said.sort()
    assert said[0].startswith(f"calendar {bad}: not an iCalendar file")
    assert said[1] == (
        f"calendar {missing}: cannot read it (No such file or directory); "
        "the schedule goes on without it"
    )
    assert all(line.endswith("the schedule goes on without it") for line in said)
    # The person moves Monday's stand-up to 10:00: seen at the next look.
    good.write_text(STANDUPS_AT_TEN)
    os.utime(good, ns=(0, good.stat().st_mtime_ns + 10**9))
    assert calendars.busy_until(berlin(0, 9, 40)) is None
    assert calendars.busy_until(berlin(0, 10, 5)) == berlin(0, 10, 15)


# -- URLs -----------------------------------------------------------------------------------


class Server:
    """A calendar on a local web server: its body, its ETag, and a switch that breaks it."""

    def __init__(self) -> None:
        self.body = CALENDAR.encode()
        self.etag = '"v1"'
        self.broken = False
        self.requests: list[str] = []  # "200", "304" or "500" for each request answered
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # Noted before answering: the client may look as soon as it has the answer.
                if server.broken:
                    server.requests.append("500")
                    self.send_error(500, "Internal Server Error")
                    return
                if self.headers.get("If-None-Match") == server.etag:
                    server.requests.append("304")
                    self.send_response(304)
                    self.end_headers()
                    return
                server.requests.append("200")
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("ETag", server.etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *_: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/private-s3cret/basic.ics"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


class Clock:
    def __init__(self) -> None:
        self.now = berlin(0, 8)

    def __call__(self) -> float:
        return self.now


def test_a_url_is_fetched_at_most_every_refresh_and_asks_if_it_changed(
    server: Server, tmp_path: Path
) -> None:
    clock = Clock()
    said: list[str] = []
    calendars = Calendars(
        [server.url],
        zone=BERLIN,
        cache_dir=tmp_path,
        warn=said.append,
        refresh_s=900,
        clock=clock,
        background=False,
    )
    assert calendars.busy_until(berlin(0, 9, 40)) == berlin(0, 9, 45)
    clock.now += 600
    calendars.busy_until(berlin(0, 9, 40))
    assert server.requests == ["200"]  # ten minutes on: the copy is fresh enough
    clock.now += 600
    calendars.busy_until(berlin(0, 9, 40))
    assert server.requests == ["200", "304"]  # the server says it has not changed
    server.body = STANDUPS_AT_TEN.encode()
    server.etag = '"v2"'
    clock.now += 900
    assert calendars.busy_until(berlin(0, 10, 5)) == berlin(0, 10, 15)
    assert server.requests == ["200", "304", "200"]
    assert said == []


def test_a_url_that_fails_after_a_first_success_keeps_its_last_copy(
    server: Server, tmp_path: Path
) -> None:
    clock = Clock()
    said: list[str] = []

    def calendars() -> Calendars:
        return Calendars(
            [server.url],
            zone=BERLIN,
            cache_dir=tmp_path / "calendars",
            warn=said.append,
            clock=clock,
            background=False,
        )

    first = calendars()
    assert first.busy_until(berlin(0, 9, 40)) == berlin(0, 9, 45)
    server.broken = True
    clock.now += 3600
    assert first.busy_until(berlin(0, 9, 40)) == berlin(0, 9, 45)
    assert first.busy_until(berlin(1, 9, 40)) == berlin(1, 9, 45)
    assert server.requests == ["200", "500"]  # not fetched again at every look
    assert len(said) == 1
    assert said[0].startswith("calendar URL http://127.0.0.1/...: the server answered 500")
    assert said[0].endswith("using the last copy")
    assert "s3cret" not in said[0]  # a private calendar's secret stays out of messages
    # A new start (say, after a reboot) without the server: the copy in the state folder.
    server.close()
    clock.now += 3600
    again = calendars()
    assert again.busy_until(berlin(0, 9, 40)) == berlin(0, 9, 45)
    assert "cannot fetch it" in said[-1]


def test_a_url_never_fetched_and_unreachable_is_one_line(tmp_path: Path) -> None:
    said: list[str] = []
    url = CalendarUrl("http://127.0.0.1:9/none.ics", tmp_path, background=False)
    with pytest.raises(CalendarError, match="cannot fetch it"):
        url.data()
    calendars = Calendars(
        ["webcal://127.0.0.1:9/none.ics"],
        zone=BERLIN,
        cache_dir=tmp_path,
        warn=said.append,
        background=False,
    )
    assert calendars.busy_until(berlin(0, 9, 40)) is None
    assert said == [
        "calendar URL webcal://127.0.0.1/...: cannot fetch it ([Errno 111] Connection refused); "
        "the schedule goes on without it"
    ]
