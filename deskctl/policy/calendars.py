"""The person's calendars: ``.ics`` files and URLs named in their profile, read only when
they change, and asked "busy until when?" by the schedule.

Nothing here polls.  The schedule asks at its own wakes (when a change of posture is
due); a file is read again then only if its modification time or size changed, and a
URL is fetched again then only when the last copy is older than ``refresh_s`` (in a
thread of its own, so the schedule never waits for the network; conditional, with the
ETag and Last-Modified the server gave).  Each URL's last copy is kept in the state
folder, so a network failure, or a restart without a network, keeps the meetings known.

A calendar that cannot be read or fetched is one line through ``warn`` (which file or
URL, and what is wrong), said once until it changes; the others go on without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from deskctl.errors import DeskctlError
from deskctl.policy.meetings import Busy, CalendarError, Interval, busy_intervals

if TYPE_CHECKING:
    from deskctl.policy.engine import Settings
    from deskctl.profiles.model import Profile

REFRESH_S = 15 * 60.0
"""A URL is fetched at most this often."""
WINDOW_S = 7 * 86400.0
"""Recurring events are expanded a week at a time."""
FETCH_TIMEOUT_S = 20.0
LARGEST_BYTES = 20 * 1024 * 1024

Warn = Callable[[str], None]


def is_url(source: str) -> bool:
    return source.split("://", 1)[0].lower() in ("http", "https", "webcal") and "://" in source


def shown(source: str) -> str:
    """A source as messages name it: a URL without its path and query, which often hold a
    private calendar's secret."""
    if not is_url(source):
        return source
    parts = urllib.parse.urlsplit(source)
    return f"{parts.scheme}://{parts.hostname or ''}/..."


class CalendarFile:
    """An ``.ics`` file, read again when its modification time or size changes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.path = Path(source).expanduser()
        self._seen: tuple[int, int] | None = None
        self._data: bytes | None = None
        self.version = 0
        """Grows each time the bytes change."""

    def data(self) -> bytes:
        """The file's bytes (the same object while the file is unchanged)."""
        try:
            info = self.path.stat()
            seen = (info.st_mtime_ns, info.st_size)
            if seen != self._seen or self._data is None:
                self._data, self._seen = self.path.read_bytes(), seen
                self.version += 1
        except OSError as error:
            self._data = self._seen = None
            raise CalendarError(f"cannot read it ({error.strerror or error})") from None
        return self._data


class CalendarUrl:
    """A calendar on a web server, fetched at most every ``refresh_s`` seconds, its last
    copy kept in ``cache_dir``."""

    def __init__(
        self,
        source: str,
        cache_dir: Path,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.time,
        background: bool = True,
    ) -> None:
        self.source = source
        scheme, rest = source.split("://", 1)
        self.url = ("https" if scheme.lower() == "webcal" else scheme) + "://" + rest
        key = hashlib.sha256(source.encode()).hexdigest()[:20]
        self.cache = cache_dir / f"{key}.ics"
        self.meta_file = cache_dir / f"{key}.json"
        self.refresh_s = refresh_s
        self.clock = clock
        self.background = background
        self.problem: str | None = None
        """Why the last fetch failed (the copy kept is used meanwhile)."""
        self._lock = threading.Lock()
        self._fetching: threading.Thread | None = None
        self._data: bytes | None = None
        self._meta: dict[str, object] = {}
        self.version = 0
        self._load_cache()

    def _load_cache(self) -> None:
        try:
            self._data = self.cache.read_bytes()
            self._meta = json.loads(self.meta_file.read_text())
        except (OSError, ValueError):
            self._meta = {}

    @property
    def fetched(self) -> float | None:
        """When the copy was last fetched or confirmed unchanged."""
        value = self._meta.get("fetched")
        return float(value) if isinstance(value, int | float) else None

    def data(self) -> bytes:
        """The last copy; fetches a new one first (or in the background) when it is old."""
        fetched = self.fetched
        if fetched is None or self.clock() - fetched >= self.refresh_s:
            self._start_fetch()
        with self._lock:
            data, problem = self._data, self.problem
        if data is None:
            raise CalendarError(problem or "not fetched yet")
        return data

    def _start_fetch(self) -> None:
        if not self.background:
            self.refresh()
            return
        if self._fetching is not None and self._fetching.is_alive():
            return
        self._fetching = threading.Thread(target=self.refresh, name="calendar", daemon=True)
        self._fetching.start()

    def refresh(self) -> None:
        """Fetch now: a new copy, or the server's word that it has not changed."""
        import urllib.error
        import urllib.request

        headers = {"User-Agent": "deskctl", "Accept": "text/calendar, */*"}
        if self._data is not None:
            if isinstance(etag := self._meta.get("etag"), str):
                headers["If-None-Match"] = etag
            if isinstance(modified := self._meta.get("last_modified"), str):
                headers["If-Modified-Since"] = modified
        request = urllib.request.Request(self.url, headers=headers)  # noqa: S310 (http(s) only)
        now = self.clock()
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
                body = answer.read(LARGEST_BYTES + 1)
                meta: dict[str, object] = {
                    "etag": answer.headers.get("ETag"),
                    "last_modified": answer.headers.get("Last-Modified"),
                    "fetched": now,
                }
        except urllib.error.HTTPError as error:
            if error.code == 304 and self._data is not None:
                self._save(self._data, {**self._meta, "fetched": now}, write_body=False)
            else:
                self._failed(f"the server answered {error.code} {error.reason}", now)
            return
        except OSError as error:
            self._failed(f"cannot fetch it ({getattr(error, 'reason', None) or error})", now)
            return
        if len(body) > LARGEST_BYTES:
            self._failed(f"larger than {LARGEST_BYTES // 2**20} MiB", now)
            return
        self._save(body, meta, write_body=True)

    def _save(self, body: bytes, meta: dict[str, object], *, write_body: bool) -> None:
        from deskctl.atomic import write_atomic

        with self._lock:
            if write_body:
                self.version += 1
            self._data, self._meta, self.problem = body, meta, None
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            if write_body:
                write_atomic(self.cache, body)
            write_atomic(self.meta_file, json.dumps(meta).encode())
        except (OSError, DeskctlError):
            pass  # the copy in memory serves; the next fetch tries to keep it again

    def _failed(self, problem: str, now: float) -> None:
        with self._lock:
            kept = self._data is not None
            self.problem = problem + ("; using the last copy" if kept else "")
            # Try again after the same pause, not at every wake.
            self._meta = {**self._meta, "fetched": now}


Source = CalendarFile | CalendarUrl


class Calendars:
    """All of a person's calendars as one ``busy_until(moment)`` for the schedule."""

    def __init__(
        self,
        sources: Iterable[str],
        *,
        zone: dt.tzinfo,
        cache_dir: Path,
        warn: Warn,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.time,
        background: bool = True,
    ) -> None:
        self.zone = zone
        self.warn = warn
        self.sources: list[Source] = [
            CalendarUrl(s, cache_dir, refresh_s=refresh_s, clock=clock, background=background)
            if is_url(s)
            else CalendarFile(s)
            for s in sources
        ]
        self._versions: list[int | None] = [None] * len(self.sources)
        self._weeks: dict[int, Busy] = {}
        self._said: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.sources)

    def look(self) -> None:
        """Read every calendar now (saying what cannot be), as the schedule starts."""
        self._check()

    def busy_until(self, moment: float) -> float | None:
        """When the meeting ``moment`` falls in ends (back-to-back meetings are one);
        None when it falls in none."""
        if not self.sources:
            return None
        return self._week(int(moment // WINDOW_S)).until(moment)

    until = busy_until

    def next_start(self, moment: float) -> float | None:
        """When the next meeting after ``moment`` begins, looking a week or two ahead."""
        if not self.sources:
            return None
        for week in (int(moment // WINDOW_S), int(moment // WINDOW_S) + 1):
            found = self._week(week).next_start(moment)
            if found is not None:
                return found
        return None

    def _week(self, week: int) -> Busy:
        self._check()
        busy = self._weeks.get(week)
        if busy is None:
            busy = self._weeks[week] = self._expand(week * WINDOW_S, (week + 1) * WINDOW_S)
        return busy

    def intervals(self, start: float, end: float) -> list[Interval]:
        """Every busy stretch overlapping ``[start, end)``."""
        self._check()
        return list(self._expand(start, end).intervals)

    def _check(self) -> None:
        """Forget expansions when any calendar changed since the last look."""
        versions = [self._version(source) for source in self.sources]
        if versions != self._versions:
            self._versions = versions
            self._weeks.clear()

    def _version(self, source: Source) -> int | None:
        try:
            source.data()
        except CalendarError as error:
            self._say(source.source, f"{error}; the schedule goes on without it")
            return None
        if isinstance(source, CalendarUrl) and source.problem is not None:
            self._say(source.source, source.problem)
        return source.version

    def _expand(self, start: float, end: float) -> Busy:
        found: list[Interval] = []
        for source, version in zip(self.sources, self._versions, strict=True):
            if version is None:
                continue
            try:
                found += busy_intervals(source.data(), start - 86400, end + 86400, self.zone)
            except CalendarError as error:
                self._say(source.source, f"{error}; the schedule goes on without it")
            else:
                if not (isinstance(source, CalendarUrl) and source.problem):
                    self._said.pop(source.source, None)
        return Busy(tuple(found))

    def _say(self, source: str, problem: str) -> None:
        if self._said.get(source) == problem:
            return
        self._said[source] = problem
        kind = "calendar" if not is_url(source) else "calendar URL"
        self.warn(f"{kind} {shown(source)}: {problem}")


def with_calendars(
    settings: Settings, profile: Profile | None, *, state_dir: Path, warn: Warn
) -> Settings:
    """The engine's settings with the meetings of the calendars the profile names."""
    if profile is None or not profile.calendars:
        return settings
    calendars = Calendars(
        profile.calendars, zone=settings.timezone, cache_dir=state_dir / "calendars", warn=warn
    )
    calendars.look()
    return dataclasses.replace(settings, meetings=calendars)
