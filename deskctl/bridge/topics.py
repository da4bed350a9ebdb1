"""Where each desk's state, commands and Home Assistant discovery live on the broker.

Everything sits under ``BASE/NODE/DESK/``: the node tells bridges apart, so any
number of them share one broker without their topics or ids meeting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMAND_KINDS = ("cmd", "height/set", "profile/set")
"""The command topics under a desk's prefix, each taking one kind of payload."""


def desk_id(name: str) -> str:
    """A configured desk's name as a topic word and id (Home Assistant takes [A-Za-z0-9_-])."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "desk"


@dataclass(frozen=True)
class BridgeTopics:
    base: str
    node: str
    discovery_prefix: str

    @property
    def status(self) -> str:
        """The bridge's own availability; its last will says ``offline``."""
        return f"{self.base}/{self.node}/status"

    @property
    def presence(self) -> str:
        """Where a starting bridge says hello and a live one with the same node answers."""
        return f"{self.base}/{self.node}/bridges"

    @property
    def home_assistant_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    def command_filters(self) -> list[str]:
        return [f"{self.base}/{self.node}/+/{kind}" for kind in COMMAND_KINDS]

    def parse_command_topic(self, topic: str) -> tuple[str, str] | None:
        """``(desk id, kind)`` for one of this bridge's command topics, else None."""
        head = f"{self.base}/{self.node}/"
        if not topic.startswith(head):
            return None
        desk, _, kind = topic[len(head) :].partition("/")
        return (desk, kind) if desk and kind in COMMAND_KINDS else None

    def desk(self, desk: str) -> DeskTopics:
        return DeskTopics(self, desk)


@dataclass(frozen=True)
class DeskTopics:
    bridge: BridgeTopics
    desk: str

    @property
    def prefix(self) -> str:
        return f"{self.bridge.base}/{self.bridge.node}/{self.desk}"

    @property
    def unique_id(self) -> str:
        return f"deskctl_{self.bridge.node}_{self.desk}"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def event(self) -> str:
        """Refused commands, prompts and failed moves, as they happen (never retained)."""
        return f"{self.prefix}/event"

    def command(self, kind: str) -> str:
        return f"{self.prefix}/{kind}"

    @property
    def discovery(self) -> str:
        return f"{self.bridge.discovery_prefix}/device/{self.unique_id}/config"
