"""What every command of the command line needs: its options, the config, the person and
a way to open the desk.  The command modules (``cli``, ``cli_policy``, ``cli_profile``) all
take one; it lives apart from them so that they need not import each other."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TextIO

from deskctl.errors import DeskctlError
from deskctl.units import Unit, format_height, format_speed

if TYPE_CHECKING:
    from deskctl.config import Config, DeskEntry
    from deskctl.desk import Desk
    from deskctl.model import DeskState
    from deskctl.paths import Paths
    from deskctl.profiles.model import Profile
    from deskctl.profiles.store import ProfileStore


class Context:
    """What every command needs: options, config and a way to open the desk."""

    def __init__(self, args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
        from deskctl.config import load_config
        from deskctl.paths import Paths

        self.args = args
        self.out = out
        self.paths: Paths = Paths.from_env()
        named = bool(os.environ.get("DESKCTL_CONFIG"))
        self.config: Config = load_config(self.paths.config_file, named=named)
        self.entry: DeskEntry = self.config.resolve(args.desk or os.environ.get("DESKCTL_DESK"))
        self.unit: Unit = Unit(args.unit) if args.unit else self._profile_unit() or self.config.unit

    @functools.cached_property
    def profiles(self) -> ProfileStore:
        from deskctl.profiles.store import ProfileStore

        return ProfileStore(self.paths.profiles_dir)

    def desk_key(self) -> str:
        """The desk itself, as active profiles are keyed."""
        from deskctl.drivers.registry import desk_key

        return desk_key(self.entry.url)

    def profile_name(self) -> str | None:
        """Whose profile applies: ``--profile``, ``$DESKCTL_PROFILE``, else the desk's own."""
        chosen: str | None = self.args.profile or os.environ.get("DESKCTL_PROFILE")
        if chosen:
            return chosen
        from deskctl.profiles.at_desk import ActiveProfiles

        active = ActiveProfiles(self.paths.profiles_dir)
        return active.at(self.desk_key()) if active.path.exists() else None

    def profile(self) -> Profile | None:
        name = self.profile_name()
        return None if name is None else self.profiles.load(name)

    def _profile_unit(self) -> Unit | None:
        from deskctl.profiles.at_desk import preferred_unit

        try:
            name = self.profile_name()
        except DeskctlError:
            return None  # the commands that use the profile say what is wrong with it
        return None if name is None else preferred_unit(self.paths.profiles_dir, name)

    def warn(self, notes: list[str]) -> None:
        for note in notes:
            print(f"deskctl: {note}", file=sys.stderr, flush=True)

    @property
    def through_agent(self) -> bool:
        """Whether desks are reached through the agent (the default) or opened directly."""
        direct = self.args.no_agent or os.environ.get("DESKCTL_NO_AGENT")
        return not direct and self.config.agent.enabled

    @asynccontextmanager
    async def desk(self) -> AsyncIterator[Desk]:
        """The desk, through the agent (started if need be) or, in direct mode, opened here."""
        if self.through_agent:
            from deskctl.agent.launch import open_remote_desk

            idle = self.config.agent.idle_exit_s
            async with open_remote_desk(
                self.entry.url, self.paths, self.unit, idle_exit_s=idle
            ) as remote:
                yield remote
            return
        from deskctl.drivers.registry import open_desk

        async with open_desk(self.entry.url, self.paths, self.unit) as desk:
            yield desk

    def height(self, mm: float) -> str:
        return format_height(mm, self.unit)

    def emit(self, text: str, data: dict[str, Any]) -> None:
        """Print ``text`` for people, or ``data`` as one JSON line with ``--json``."""
        line = json.dumps(data) if self.args.json else text
        print(line, file=self.out, flush=True)

    def state_data(self, state: DeskState) -> dict[str, Any]:
        return {
            "desk": self.entry.url,
            "height_mm": state.height_mm,
            "height": self.height(state.height_mm),
            "speed_mm_s": state.speed_mm_s,
            "moving": state.moving,
            "fault": None if state.fault is None else state.fault.value,
            "link": state.link.value,
        }

    def describe(self, state: DeskState) -> str:
        if state.fault is not None:
            motion = f"stopped: {state.fault.value}"
        elif state.moving:
            way = "up" if state.speed_mm_s > 0 else "down" if state.speed_mm_s < 0 else ""
            motion = f"moving {way} {format_speed(abs(state.speed_mm_s), self.unit)}".replace(
                "  ", " "
            )
        else:
            motion = "stopped"
        return f"{self.height(state.height_mm)}  {motion}"
