"""What deskctl remembers about one Linak desk between runs: its travel and its collision lock.

A Linak desk tells its lowest height (the base offset) but not its top, and
tops vary from desk to desk (1115-1280 mm have been seen).  The top is learned
when the desk stops there on its own, with no error, and kept here, so that a
later target above it is refused before anything is sent.  A collision lock
is kept too: the desk ignores moves until a STOP, whichever program asks.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from deskctl.atomic import write_atomic
from deskctl.errors import StorageError
from deskctl.model import Limits

log = logging.getLogger(__name__)

DEFAULT_BASE_MM = 620.0
"""An IKEA IDÅSEN's lowest height, until the desk says its own."""
PROVISIONAL_TRAVEL_MM = 680.0
"""Room above the base while the top is unknown: tops up to 1280 mm over bases from
620 mm have been seen, so a desk's real top is reached and learned, not refused."""


@dataclass
class KnownRange:
    base_mm: float | None = None
    top_mm: float | None = None
    collision: bool = False
    """The desk stopped on a collision and has not been sent a STOP since."""

    @property
    def limits(self) -> Limits:
        base = DEFAULT_BASE_MM if self.base_mm is None else self.base_mm
        top = base + PROVISIONAL_TRAVEL_MM if self.top_mm is None else self.top_mm
        return Limits(base, top)

    @classmethod
    def load(cls, path: Path | None) -> KnownRange:
        """What ``path`` remembers; nothing (a desk never seen) if it is missing or unreadable."""
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text())
            known = cls(
                base_mm=_height(data.get("base_mm")),
                top_mm=_height(data.get("top_mm")),
                collision=bool(data.get("collision", False)),
            )
            known.limits  # noqa: B018 (checks that the range makes sense)
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()
        return known

    def save(self, path: Path | None) -> None:
        """Write it down; a failure is logged, never allowed to stop a stop."""
        if path is None:
            return
        try:
            write_atomic(path, json.dumps(asdict(self)).encode())
        except (OSError, StorageError) as error:
            log.warning("could not remember the desk's range in %s: %s", path, error)


def _height(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or not 0 < value < 3000:
        raise ValueError(f"not a height: {value!r}")
    return float(value)
