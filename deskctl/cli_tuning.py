"""A command's move, as the fine-tunes see it (``deskctl.policy.tuning``).

Through the agent, a move to the person's height carries its purpose and the agent,
which sees every rest of the desk, does the rest.  In direct mode nothing watches the
desk between commands, so each command notes its own move in the history: a move to the
person's height as a followed move, any other as a rest that may fine-tune the last one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from deskctl.errors import DeskctlError
from deskctl.purpose import Purpose, moving_for

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from deskctl.context import Context
    from deskctl.desk import Desk


@asynccontextmanager
async def noticed(ctx: Context, desk: Desk, purpose: Purpose | None = None) -> AsyncIterator[None]:
    """Around a command's move; ``purpose`` when it goes to one of the person's heights."""
    start = desk.state.height_mm
    with moving_for(purpose):
        yield
    rest = desk.state
    if ctx.through_agent or rest.moving or rest.fault is not None:
        return
    import time

    from deskctl.drivers.registry import parse_desk_url, physical_key
    from deskctl.history import History
    from deskctl.policy.tuning import Tuner

    try:
        history = History(ctx.paths.data_dir / "history.sqlite3")
        try:
            tuner = Tuner(lambda: history, physical_key(parse_desk_url(ctx.entry.url)), time.time)
            if purpose is not None:
                tuner.followed(purpose, rest.height_mm)
            else:
                tuner.saw(start)
                tuner.rested(rest.height_mm)
        finally:
            history.close()
    except DeskctlError as error:
        # The move itself went well; a history that cannot be written says so where it
        # counts (stats, run), and a full disk in the command's own error.
        log.info("the move went unrecorded: %s", error)
