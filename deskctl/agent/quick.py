"""Commands that need a few answers from a running agent, asked without an event loop:
``deskctl status`` and ``deskctl stop`` start in a fraction of the time asyncio takes to
import, and a stop from another terminal reaches the desk that much sooner.  When no
agent listens, the caller takes the ordinary path, which starts one."""

from __future__ import annotations

import itertools
import socket
from types import TracebackType
from typing import Any

from deskctl import runtime
from deskctl.agent import protocol

# Long enough for the agent to open a desk (a Bluetooth one takes seconds), bounded.
ANSWER_TIMEOUT_S = 30.0


class QuickLine:
    """A blocking connection to the agent; closing it lets go of what it opened."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(ANSWER_TIMEOUT_S)
        self._reader = self._socket.makefile("rb")
        self._ids = itertools.count(1)

    def connect(self) -> bool:
        """False when no agent listens."""
        try:
            self._socket.connect(str(runtime.runtime_dir() / protocol.SOCKET_NAME))
        except OSError:
            return False
        return True

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """The result; the agent's refusal as its ``DeskctlError``."""
        ident = next(self._ids)
        try:
            self._socket.sendall(protocol.encode({"id": ident, "op": op, **fields}))
            while True:
                text = self._reader.readline(protocol.MAX_LINE + 1)
                if not text:
                    break
                message = protocol.decode(text)
                if message.get("id") != ident:
                    continue  # an event
                if message.get("ok"):
                    result: dict[str, Any] = message.get("result") or {}
                    return result
                raise protocol.error_from_wire(message.get("error") or {})
        except OSError as error:
            raise _gone(str(error)) from None
        raise _gone("it closed the connection")

    def __enter__(self) -> QuickLine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._reader.close()
        self._socket.close()


def _gone(why: str) -> Exception:
    from deskctl.agent.client import AgentGone

    return AgentGone(f"the deskctl agent stopped answering: {why}")
