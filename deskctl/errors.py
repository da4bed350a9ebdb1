"""The error hierarchy.

Every error a user can meet is a :class:`DeskctlError` whose message is one
line that says what happened and what to do next.  Each class carries the exit
code the command line uses for it, so scripts can tell the kinds apart.
"""

from __future__ import annotations

from typing import ClassVar


class DeskctlError(Exception):
    """Base of every error deskctl reports to a person."""

    exit_code: ClassVar[int] = 1


class BadInput(DeskctlError):
    """The user asked for something that cannot be: fix the input and try again."""

    exit_code = 2


class InvalidHeight(BadInput):
    """Text that is not a height."""


class OutOfRange(BadInput):
    """A height outside what the desk can reach; nothing was sent to the desk."""


class UnknownDeskURL(BadInput):
    """A desk URL with a scheme no driver handles, or one that is malformed."""


class ConfigError(BadInput):
    """A config or profile file that does not parse or validate.

    The message names the file, the line and the field.
    """

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        where = path if line is None else f"{path}, line {line}"
        what = f"{field}: {problem}" if field else problem
        super().__init__(f"{where}: {what}")
        self.path = path
        self.line = line
        self.field = field


class DeskUnavailable(DeskctlError):
    """The desk cannot be reached."""

    exit_code = 3


class DeskNotFound(DeskUnavailable):
    """No desk answers at that address or port."""


class ConnectionLost(DeskUnavailable):
    """The link dropped; any move in progress was stopped and is not resumed."""


class PairingRequired(DeskUnavailable):
    """The desk or the operating system refused the link until it is paired or permitted."""


class DeskBusy(DeskctlError):
    """Another process controls the desk."""

    exit_code = 4


class DeskFault(DeskctlError):
    """The desk refused or ended a move for its own safety."""

    exit_code = 5


class Collision(DeskFault):
    """The desk hit something; it ignores moves until the user stops it."""


class Overheated(DeskFault):
    """The motor used up its duty cycle and must rest."""


class ProtocolError(DeskFault):
    """The desk answered with something the driver does not understand."""


class MoveFailed(DeskFault):
    """The desk stopped before reaching its target for no reason it reported."""


class StorageError(DeskctlError):
    """A state or data file could not be read or written."""

    exit_code = 6


class Interrupted(DeskctlError):
    """The user interrupted a command; the desk was stopped."""

    exit_code = 130


class Unsupported(BadInput):
    """The desk does not have the feature that was asked for."""
