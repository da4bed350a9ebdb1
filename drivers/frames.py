"""What serial frame parsers share: counts of what the line delivered."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LineStats:
    """How clean the line is: good frames, and what was thrown away."""

    frames: int = 0
    bad_checksums: int = 0
    dropped_bytes: int = 0
    """Bytes outside any frame: noise, or the rest of a frame whose start was lost."""
