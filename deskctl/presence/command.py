"""Running a small command for its output without blocking the schedule's loop."""

from __future__ import annotations

import asyncio
import contextlib

COMMAND_TIMEOUT_S = 2.0


async def output_of(command: list[str]) -> str | None:
    """The command's standard output, or None if it failed or took too long."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            out, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    return out.decode(errors="replace")
