"""The agent's wire protocol, shared by both ends: JSON lines over a Unix socket.

Every line is one JSON object of at most ``MAX_LINE`` bytes with ``"v": VERSION``.

A client sends requests, ``{"v": 1, "id": 7, "op": "move", ...}``, and may send the next
before the last is answered (a ``stop`` while a ``move`` runs).  The agent answers each
once, ``{"v": 1, "id": 7, "ok": true, "result": {...}}`` or ``{"v": 1, "id": 7, "ok": false,
"error": {"kind": "Collision", "exit_code": 5, "message": "..."}}``, and sends events
between the answers, ``{"v": 1, "event": "state", "desk": "sim://default", "state":
{...}}``.  The operations and their fields are the models in ``deskctl.agent.messages``;
this module is what a client needs, so that a command starts without pydantic.
"""

from __future__ import annotations

import json
from typing import Any

from deskctl import errors
from deskctl.errors import DeskctlError
from deskctl.model import Capabilities, DeskInfo, DeskState, Fault, Limits, Link

VERSION = 1
MAX_LINE = 64 * 1024
SOCKET_NAME = "agent.sock"


class ProtocolViolation(DeskctlError):
    """A message that breaks the protocol (from either end)."""


def encode(message: dict[str, Any]) -> bytes:
    line = json.dumps({"v": VERSION, **message}, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ProtocolViolation(f"a message of {len(line)} bytes is over {MAX_LINE}")
    return line


def decode(line: bytes) -> dict[str, Any]:
    """One line as a message; a ProtocolViolation says what is wrong with it."""
    if len(line) > MAX_LINE:
        raise ProtocolViolation(f"a line of {len(line)} bytes is over {MAX_LINE}")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolViolation("a line that is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolViolation("a message that is not a JSON object")
    if message.get("v") != VERSION:
        raise ProtocolViolation(
            f"protocol version {message.get('v')!r}, this deskctl speaks {VERSION}"
        )
    return message


# -- the desk's facts on the wire -------------------------------------------------------------


def state_to_wire(state: DeskState) -> dict[str, Any]:
    return {
        "height_mm": state.height_mm,
        "speed_mm_s": state.speed_mm_s,
        "moving": state.moving,
        "fault": None if state.fault is None else state.fault.value,
        "link": state.link.value,
        "detail": state.detail,
    }


def state_from_wire(data: dict[str, Any], timestamp: float = 0.0) -> DeskState:
    fault = data.get("fault")
    return DeskState(
        height_mm=float(data["height_mm"]),
        speed_mm_s=float(data["speed_mm_s"]),
        moving=bool(data["moving"]),
        fault=None if fault is None else Fault(fault),
        link=Link(data["link"]),
        timestamp=timestamp,
        detail=str(data.get("detail", "")),
    )


def desk_to_wire(info: DeskInfo, limits: Limits, capabilities: Capabilities) -> dict[str, Any]:
    return {
        "info": {
            "family": info.family,
            "address": info.address,
            "name": info.name,
            "model": info.model,
            "firmware": info.firmware,
        },
        "limits_mm": [limits.min_mm, limits.max_mm],
        "capabilities": {
            "native_move_to": capabilities.native_move_to,
            "memory_presets": capabilities.memory_presets,
            "can_save_presets": capabilities.can_save_presets,
            "reports_speed": capabilities.reports_speed,
            "nominal_speed_mm_s": capabilities.nominal_speed_mm_s,
        },
    }


def desk_from_wire(data: dict[str, Any]) -> tuple[DeskInfo, Limits, Capabilities]:
    low, high = data["limits_mm"]
    return (
        DeskInfo(**data["info"]),
        Limits(float(low), float(high)),
        Capabilities(**data["capabilities"]),
    )


def error_to_wire(error: DeskctlError) -> dict[str, Any]:
    return {"kind": type(error).__name__, "exit_code": error.exit_code, "message": str(error)}


def error_from_wire(data: dict[str, Any]) -> DeskctlError:
    """The error the agent met, as the same class where deskctl knows it."""
    kind = getattr(errors, str(data.get("kind")), None)
    message = str(data.get("message", "the agent gave no reason"))
    if isinstance(kind, type) and issubclass(kind, DeskctlError) and kind is not errors.ConfigError:
        return kind(message)
    code = data.get("exit_code")

    class AgentError(DeskctlError):
        exit_code = code if isinstance(code, int) else 1

    return AgentError(message)
