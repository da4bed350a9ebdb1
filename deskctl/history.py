"""What happened at the desk, in an embedded SQLite database, and the day's figures.

One table of events, each committed as it happens (WAL journal), so a killed
process loses nothing it recorded.  ``kind`` is what the engine's records say:
``posture`` (sit, stand, away, off: the timeline; a ``manual`` detail marks a
hand move), ``transition`` (prompted, confirmed, snoozed, skipped, automatic,
lapsed, capped), ``exercise`` (shown, done, skipped) and ``move``.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from deskctl.errors import StorageError
from deskctl.policy.learning import Adjustment
from deskctl.policy.tuning import FollowedMove
from deskctl.purpose import Purpose

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    what TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t);
CREATE TABLE IF NOT EXISTS writer (pid INTEGER NOT NULL);
"""
MIGRATIONS = (
    # 1: fine-tunes after moves to the person's heights (heights that learn from the hands)
    """
    CREATE TABLE IF NOT EXISTS followed_moves (
        id INTEGER PRIMARY KEY,
        t REAL NOT NULL,
        desk TEXT NOT NULL,
        profile TEXT,
        posture TEXT NOT NULL,
        kind TEXT NOT NULL,
        target_mm REAL NOT NULL,
        landed_mm REAL NOT NULL,
        ended INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS followed_moves_by_desk ON followed_moves (desk, t);
    CREATE TABLE IF NOT EXISTS adjustments (
        id INTEGER PRIMARY KEY,
        move INTEGER NOT NULL UNIQUE REFERENCES followed_moves (id),
        t REAL NOT NULL,
        desk TEXT NOT NULL,
        profile TEXT,
        posture TEXT NOT NULL,
        kind TEXT NOT NULL,
        target_mm REAL NOT NULL,
        settled_mm REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS adjustments_by_desk ON adjustments (desk, t);
    """,
)
"""Each step brings a history of ``user_version`` n to n + 1."""
AT_DESK = ("sit", "stand")
CHANGE_CAUSES = ("prompt", "automatic", "manual")


@dataclass(frozen=True)
class DayStats:
    day: dt.date
    sitting_s: float
    standing_s: float
    longest_sitting_s: float
    changes: int
    exercises_done: int
    exercises_shown: int
    goal_s: float

    @property
    def at_desk_s(self) -> float:
        return self.sitting_s + self.standing_s

    @property
    def standing_share(self) -> float:
        return self.standing_s / self.at_desk_s if self.at_desk_s else 0.0

    @property
    def changes_per_hour(self) -> float:
        return self.changes / (self.at_desk_s / 3600) if self.at_desk_s else 0.0

    @property
    def goal_met(self) -> bool:
        return self.goal_s > 0 and self.standing_s >= self.goal_s


@dataclass(frozen=True)
class Change:
    """A change of posture and the exercise paired with it."""

    t: float
    posture: str
    cause: str
    """prompt, automatic or manual (the handset)."""
    exercise_id: str | None
    outcome: str | None
    """done or skipped; None when the person said neither."""


class History:
    def __init__(self, path: Path | str) -> None:
        """``path`` is the database file (created when missing), or ``":memory:"``."""
        self.path = path
        try:
            if isinstance(path, Path):
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None)  # each write commits
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
            self._db.executescript(SCHEMA)
            if path != ":memory:":
                # Damaged pages surface here, once, rather than in the middle of a figure.
                (verdict,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
                if verdict != "ok":
                    raise sqlite3.DatabaseError("database disk image is malformed")
            self._migrate()  # only once the file is known sound: a damaged one stays as it is
        except sqlite3.Error as error:
            raise self._failure(error, "open") from None
        except OSError as error:
            raise StorageError(f"cannot open the history at {path}: {error}") from None

    def _migrate(self) -> None:
        """Bring an older history up to this version's tables, keeping all it holds."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in step.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _failure(self, error: sqlite3.Error, doing: str) -> StorageError:
        """One line that names the file and says what to do."""
        text = str(error)
        if _damaged(error):
            return StorageError(
                f"the history {self.path} is damaged ({text}): 'deskctl history --fresh' "
                "keeps it aside and starts a new one"
            )
        return StorageError(f"cannot {doing} the history {self.path}: {text}")

    def _run(self, query: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(query, args)
        except sqlite3.Error as error:
            raise self._failure(error, "read") from None

    def close(self) -> None:
        self._db.close()

    def record(self, t: float, kind: str, what: str, detail: str = "") -> None:
        try:
            self._db.execute(
                "INSERT INTO events (t, kind, what, detail) VALUES (?, ?, ?, ?)",
                (t, kind, what, detail),
            )
        except sqlite3.Error as error:
            raise self._failure(error, "write") from None

    def events(
        self, start: float, end: float, kind: str | None = None
    ) -> list[tuple[float, str, str, str]]:
        query = "SELECT t, kind, what, detail FROM events WHERE t >= ? AND t < ?"
        args: tuple[object, ...] = (start, end)
        if kind is not None:
            query += " AND kind = ?"
            args += (kind,)
        return list(self._run(query + " ORDER BY t, rowid", args))

    # -- fine-tunes ---------------------------------------------------------------------------

    def _write(self, query: str, args: tuple[object, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(query, args)
        except sqlite3.Error as error:
            raise self._failure(error, "write") from None

    def note_followed(self, t: float, desk: str, purpose: Purpose, landed_mm: float) -> int:
        """A move to one of the person's heights; the desk's earlier ones are over."""
        profile, posture, kind = purpose.profile, purpose.posture, purpose.kind
        target_mm = purpose.target_mm
        self._write("UPDATE followed_moves SET ended = 1 WHERE desk = ? AND ended = 0", (desk,))
        cursor = self._write(
            "INSERT INTO followed_moves (t, desk, profile, posture, kind, target_mm, landed_mm) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (t, desk, profile, posture, kind, target_mm, landed_mm),
        )
        return int(cursor.lastrowid or 0)

    def last_followed(self, desk: str) -> FollowedMove | None:
        row = self._run(
            "SELECT id, t, desk, profile, posture, kind, target_mm, landed_mm FROM followed_moves "
            "WHERE desk = ? AND ended = 0 ORDER BY t DESC, id DESC LIMIT 1",
            (desk,),
        ).fetchone()
        return None if row is None else FollowedMove(*row)

    def end_followed(self, ident: int) -> None:
        self._write("UPDATE followed_moves SET ended = 1 WHERE id = ?", (ident,))

    def note_adjustment(self, move: FollowedMove, t: float, settled_mm: float) -> Adjustment:
        """Where the person settled the desk after ``move``; a later nudge replaces it."""
        self._write(
            "INSERT INTO adjustments (move, t, desk, profile, posture, kind, target_mm, "
            "settled_mm) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (move) DO UPDATE SET t = excluded.t, settled_mm = excluded.settled_mm",
            (move.id, t, move.desk, move.profile, move.posture, move.kind, move.target_mm,
             settled_mm),
        )  # fmt: skip
        (ident,) = self._run("SELECT id FROM adjustments WHERE move = ?", (move.id,)).fetchone()
        return Adjustment(
            ident, t, move.desk, move.profile, move.posture, move.kind, move.target_mm, settled_mm
        )

    def adjustments(self, desk: str | None = None) -> list[Adjustment]:
        """The recorded adjustments, oldest first: at one desk (None: every desk)."""
        query = (
            "SELECT id, t, desk, profile, posture, kind, target_mm, settled_mm FROM adjustments "
            "WHERE ? IS NULL OR desk = ? ORDER BY t, id"
        )
        rows = self._run(query, (desk, desk))
        return [Adjustment(*row) for row in rows]

    def close_dangling(self) -> None:
        """Become the history's writer.  A process that was killed left its last posture
        open: end it at the last thing it recorded, rather than letting it run on until
        the next start."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM writer")
            self._db.execute("INSERT INTO writer (pid) VALUES (?)", (os.getpid(),))
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise self._failure(error, "write") from None
        last_posture = self._run(
            "SELECT what FROM events WHERE kind = 'posture' ORDER BY t DESC, rowid DESC LIMIT 1"
        ).fetchone()
        if last_posture is None or last_posture[0] == "off":
            return
        (last,) = self._run("SELECT MAX(t) FROM events").fetchone()
        self.record(last, "posture", "off", "not closed")

    def _counted_until(self, now: float) -> float:
        """``now``, unless the process that writes the history is gone: then what it left
        open ends at its last record (the next writer will close it there)."""
        row = self._run("SELECT pid FROM writer").fetchone()
        if row is None or row[0] == os.getpid() or _alive(row[0]):
            return now
        (last,) = self._run("SELECT MAX(t) FROM events").fetchone()
        return now if last is None else min(now, last)

    def changes(self, day: dt.date, timezone: dt.tzinfo) -> list[Change]:
        """The day's changes of posture, each with the exercise shown with it and what
        the person said of it."""
        start = dt.datetime.combine(day, dt.time(), timezone).timestamp()
        events = self.events(start, start + 86400)
        changes = []
        for t, kind, what, detail in events:
            if kind != "posture" or what not in AT_DESK or detail not in CHANGE_CAUSES:
                continue
            shown = next(
                (d for u, k, w, d in events if u == t and k == "exercise" and w == "shown"), None
            )
            outcome = next(
                (
                    w
                    for u, k, w, d in events
                    if u >= t and k == "exercise" and w in ("done", "skipped") and d == shown
                ),
                None,
            )
            changes.append(Change(t, what, detail, shown, outcome if shown else None))
        return changes

    def first_day(self, timezone: dt.tzinfo) -> dt.date | None:
        (first,) = self._run("SELECT MIN(t) FROM events").fetchone()
        return None if first is None else dt.datetime.fromtimestamp(first, timezone).date()

    # -- figures ------------------------------------------------------------------------------

    def _intervals(self, start: float, end: float) -> Iterator[tuple[str, float, float]]:
        """(posture, from, to) covering [start, end), from the posture events."""
        before = self._run(
            "SELECT what FROM events WHERE kind = 'posture' AND t < ? ORDER BY t DESC, rowid DESC "
            "LIMIT 1",
            (start,),
        ).fetchone()
        current, since = (before[0] if before else "off"), start
        for t, _, what, _ in self.events(start, end, "posture"):
            if t > since:
                yield current, since, t
            current, since = what, max(since, t)
        if end > since:
            yield current, since, end

    def postures(self, start: float, end: float, now: float) -> list[tuple[str, float, float]]:
        """(posture, from, to) covering [start, end) up to ``now`` at most: the time the
        day's figures count, for drawing where it lies."""
        until = min(end, self._counted_until(now))
        return list(self._intervals(start, until)) if until > start else []

    def day(self, day: dt.date, timezone: dt.tzinfo, goal_s: float, now: float) -> DayStats:
        start = dt.datetime.combine(day, dt.time(), timezone).timestamp()
        end = min(self._counted_until(now), start + 86400)
        sitting = standing = longest = 0.0
        changes, run, previous = 0, 0.0, None
        for posture, begins, ends in self._intervals(start, max(start, end)):
            length = ends - begins
            if posture == "sit":
                sitting += length
                run += length
                longest = max(longest, run)
            else:
                run = 0.0
            if posture == "stand":
                standing += length
            if posture in AT_DESK:
                changes += previous is not None and previous != posture
                previous = posture
        exercises = self.events(start, start + 86400, "exercise")
        return DayStats(
            day=day,
            sitting_s=sitting,
            standing_s=standing,
            longest_sitting_s=longest,
            changes=changes,
            exercises_done=sum(what == "done" for _, _, what, _ in exercises),
            exercises_shown=sum(what == "shown" for _, _, what, _ in exercises),
            goal_s=goal_s,
        )

    def streak(
        self, today: dt.date, timezone: dt.tzinfo, goal: Callable[[dt.date], float], now: float
    ) -> int:
        """Days in a row, up to today, that met their standing goal (today counts once met)."""
        count, day = 0, today
        if not self.day(today, timezone, goal(today), now).goal_met:
            day -= dt.timedelta(days=1)
        first = self.first_day(timezone)
        while first is not None and day >= first:
            stats = self.day(day, timezone, goal(day), now)
            if stats.at_desk_s and not stats.goal_met:
                break
            count += stats.goal_met  # days off neither count nor break the streak
            day -= dt.timedelta(days=1)
        return count


def _damaged(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", "")
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(error)


def set_aside(path: Path) -> Path | None:
    """Keep a damaged history beside its place, with its journal, so that a fresh one
    starts there; returns where it went (None when there was none)."""
    if not path.exists():
        return None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        for suffix in ("-wal", "-shm"):
            journal = path.with_name(path.name + suffix)
            if journal.exists():
                os.replace(journal, kept.with_name(kept.name + suffix))
        os.replace(path, kept)
    except OSError as error:
        raise StorageError(f"cannot set the history {path} aside: {error.strerror}") from None
    return kept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def timeline(
    history: History, day: dt.date, timezone: dt.tzinfo, first_hour: int = 8, hours: int = 11
) -> str:
    """One mark per 10 minutes from ``first_hour``: ``#`` standing, ``-`` sitting,
    ``.`` away, blank off."""
    start = dt.datetime.combine(day, dt.time(first_hour), timezone).timestamp()
    marks = {"stand": "#", "sit": "-", "away": ".", "off": " "}
    intervals = list(history._intervals(start, start + hours * 3600))
    line = ""
    for n in range(hours * 6):
        middle = start + (n + 0.5) * 600
        posture = next((p for p, a, b in intervals if a <= middle < b), "off")
        line += marks.get(posture, " ")
    return line
