"""The app's own commands in the command palette: sit, stand, move to a height, presets,
people, pause and resume, and the answers to a suggested height."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from deskctl.errors import DeskctlError
from deskctl.units import format_height, parse_height

if TYPE_CHECKING:
    from deskctl.tui.app import DeskApp


class DeskCommands(Provider):
    def _app(self) -> DeskApp:
        from deskctl.tui.app import DeskApp

        assert isinstance(self.app, DeskApp)
        return self.app

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self._app()
        commands: list[tuple[str, Callable[[], object], str]] = [
            ("Sit", partial(app.action_posture, "sit"), f"move to {app._h(app.sit_mm)}"),
            ("Stand", partial(app.action_posture, "stand"), f"move to {app._h(app.stand_mm)}"),
            ("Stop", app.action_stop, "stop the desk"),
            ("Go to a preset", partial(app.action_presets, "go"), "pick a memory preset"),
            ("Store a preset", partial(app.action_presets, "store"), "the height in a preset"),
            ("Pause the schedule", app.pause_schedule, "no prompts until resumed"),
            ("Resume the schedule", app.resume_schedule, "prompts again"),
            ("Help", app.action_help, "every key"),
        ]
        for posture, suggestion in app.suggested.items():
            new, was = app._h(suggestion.suggested_mm), app._h(suggestion.current_mm)
            apply = partial(app.answer_suggestion, posture, apply=True)
            dismiss = partial(app.answer_suggestion, posture, apply=False)
            commands.append((f"Apply the suggested {posture} height", apply, f"{new}, not {was}"))
            commands.append((f"Dismiss the suggested {posture} height", dismiss, f"stay at {was}"))
        for name in app.profiles.names():
            who = partial(app.switch_person, name)
            commands.append((f"Switch person: {name}", who, f"{name} is at the desk"))
        return commands

    async def discover(self) -> Hits:
        for title, run, help in self._commands():
            yield DiscoveryHit(title, run, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, run, help in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), run, help=help)
        # "move to 95cm", "to 37in", or just a height
        words = query.lower().removeprefix("move").strip().removeprefix("to").strip()
        app = self._app()
        try:
            height = parse_height(words)
        except DeskctlError:
            return
        shown = format_height(height, app.unit)
        yield Hit(1.0, f"Move to {shown}", partial(app.move_to, height), help="the desk moves")
