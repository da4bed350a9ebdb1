"""What a move is for, when it goes to one of the person's heights.

A command that moves the desk to a sitting or standing height, or to a preset, says so
around the move (``with moving_for(Purpose(...))``); the desk that carries it out (the
agent's, through :class:`deskctl.agent.client.RemoteDesk`) passes it on, so that the
fine-tunes after the move can be noticed (``deskctl.policy.tuning``).  Kept tiny: every
command imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Purpose:
    kind: str
    """schedule, sit, stand or preset."""
    posture: str
    """sit or stand: whose height the target is."""
    target_mm: float
    profile: str | None

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


MOVING_FOR: ContextVar[Purpose | None] = ContextVar("moving_for", default=None)


@contextmanager
def moving_for(purpose: Purpose | None) -> Iterator[None]:
    """Moves made inside go to the person's height for ``purpose``."""
    token = MOVING_FOR.set(purpose)
    try:
        yield
    finally:
        MOVING_FOR.reset(token)
