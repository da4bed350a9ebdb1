"""Linak DPG over Bluetooth LE: the bytes, with no I/O.

Everything a Linak desk (IKEA IDÅSEN, DPG1B/1C/1M panels, BLE2LIN adapters)
says or is told, as pure functions between bytes and values.  Heights on the
wire are tenths of a millimetre above the desk's lowest position ("base");
the base itself is read from the desk.  See firmware-notes/linak-dpg.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from deskctl.errors import ProtocolError

_UUID = "99fa{:04x}-338a-1024-8a49-009c0215f78a"


def uuid(short: int) -> str:
    """The full 128-bit UUID of a Linak service or characteristic."""
    return _UUID.format(short)


SERVICE_CONTROL = uuid(0x0001)  # also what desks advertise
CHAR_COMMAND = uuid(0x0002)
CHAR_ERROR = uuid(0x0003)
SERVICE_DPG = uuid(0x0010)
CHAR_DPG = uuid(0x0011)
SERVICE_REFERENCE_OUTPUT = uuid(0x0020)
CHAR_HEIGHT_SPEED = uuid(0x0021)
CHAR_MASK = uuid(0x0029)
CHAR_DETECT_MASK = uuid(0x002A)
SERVICE_REFERENCE_INPUT = uuid(0x0030)
CHAR_REFERENCE_INPUT = uuid(0x0031)

RAW_PER_MM = 10  # heights: 0.1 mm
SPEED_RAW_PER_MM_S = 100  # speeds: 0.01 mm/s (the scale is not certain; see the notes)
MAX_RAW_HEIGHT = 0xFFFF


class Command(IntEnum):
    """Two-byte commands written to the COMMAND characteristic."""

    DOWN = 0x46
    UP = 0x47
    WAKEUP = 0xFE
    STOP = 0xFF


def encode_command(command: Command) -> bytes:
    return struct.pack("<H", command)


def decode_command(data: bytes) -> Command:
    if len(data) != 2:
        raise ProtocolError(f"a Linak command is 2 bytes, not {data.hex(' ')}")
    value = struct.unpack("<H", data)[0]
    try:
        return Command(value)
    except ValueError:
        raise ProtocolError(f"unknown Linak command {data.hex(' ')}") from None


# -- height and speed (REFERENCE_OUTPUT ONE) -------------------------------------------------


def encode_height_speed(above_base_mm: float, speed_mm_s: float) -> bytes:
    raw_height = min(max(round(above_base_mm * RAW_PER_MM), 0), MAX_RAW_HEIGHT)
    raw_speed = min(max(round(speed_mm_s * SPEED_RAW_PER_MM_S), -0x8000), 0x7FFF)
    return struct.pack("<Hh", raw_height, raw_speed)


def decode_height_speed(data: bytes) -> tuple[float, float]:
    """(millimetres above the base, signed speed in mm/s, negative going down)."""
    if len(data) < 4:
        raise ProtocolError(f"a Linak height report is 4 bytes, not {data.hex(' ')}")
    raw_height, raw_speed = struct.unpack_from("<Hh", data)
    return raw_height / RAW_PER_MM, raw_speed / SPEED_RAW_PER_MM_S


# -- move-to target (REFERENCE_INPUT ONE) ----------------------------------------------------

REFERENCE_STOP = 0x8001
"""Written to the reference input to end a move-to."""


def encode_reference(above_base_mm: float) -> bytes:
    raw = round(above_base_mm * RAW_PER_MM)
    if not 0 <= raw < REFERENCE_STOP:
        raise ProtocolError(
            f"a Linak target must be 0 to 3276.8 mm above the base, not {above_base_mm}"
        )
    return struct.pack("<H", raw)


def encode_reference_stop() -> bytes:
    return struct.pack("<H", REFERENCE_STOP)


def decode_reference(data: bytes) -> float | None:
    """The target in millimetres above the base, or None for the stop value."""
    if len(data) != 2:
        raise ProtocolError(f"a Linak target is 2 bytes, not {data.hex(' ')}")
    raw = struct.unpack("<H", data)[0]
    return None if raw >= REFERENCE_STOP else raw / RAW_PER_MM


# -- DPG settings protocol -------------------------------------------------------------------

DPG_REQUEST = 0x7F
DPG_READ = 0x00
DPG_WRITE = 0x80
DPG_RESPONSE = 0x01


class DpgCommand(IntEnum):
    GET_SETUP = 0x0A
    CURRENT_TIME = 0x16
    FACTORY_RESET = 0x18
    BLE_NAME = 0x26
    GET_CAPABILITIES = 0x80
    DESK_OFFSET = 0x81
    USER_ID = 0x86
    REMINDER_SETTING = 0x88
    MEMORY_1 = 0x89
    MEMORY_2 = 0x8A
    MEMORY_3 = 0x8B
    MEMORY_4 = 0x8C
    GET_LOG_ENTRY = 0x90


# Every settings code the Linak app knows (its SDK's command list); a desk refuses any other.
KNOWN_DPG_COMMANDS = frozenset(
    {
        *DpgCommand,
        0x82,  # OEM id
        0x83,  # OEM name
        0x84,  # company id
        0x85,  # company name
        0x87,  # reminder time
        *range(0xD8, 0xE0),  # reference speeds 1-8
        0xF4,  # massage
        0xF5,
    }
)
# Settings that describe the controller and cannot be written.
READ_ONLY_DPG_COMMANDS = frozenset({DpgCommand.GET_SETUP, DpgCommand.GET_CAPABILITIES, 0x90})
DPG_REFUSAL = bytes([0x0B, 0x00])
"""What a desk answered to a settings request it does not serve (not 01 first: a refusal)."""


def memory_command(slot: int) -> DpgCommand:
    if not 1 <= slot <= 4:
        raise ValueError(f"Linak memory slots are 1 to 4, not {slot}")
    return DpgCommand(DpgCommand.MEMORY_1 + slot - 1)


@dataclass(frozen=True)
class DpgRequest:
    command: int
    write: bool
    data: bytes = b""


def encode_dpg_read(command: DpgCommand) -> bytes:
    return bytes([DPG_REQUEST, command, DPG_READ])


def encode_dpg_write(command: DpgCommand, data: bytes) -> bytes:
    return bytes([DPG_REQUEST, command, DPG_WRITE]) + data


def decode_dpg_request(data: bytes) -> DpgRequest:
    if len(data) < 3 or data[0] != DPG_REQUEST or data[2] not in (DPG_READ, DPG_WRITE):
        raise ProtocolError(f"not a DPG request: {data.hex(' ')}")
    return DpgRequest(data[1], data[2] == DPG_WRITE, bytes(data[3:]))


def encode_dpg_response(payload: bytes) -> bytes:
    return bytes([DPG_RESPONSE, len(payload)]) + payload


def decode_dpg_response(data: bytes) -> bytes:
    """The payload of a DPG answer; anything but an OK answer is a protocol error."""
    if len(data) < 2 or data[0] != DPG_RESPONSE:
        raise ProtocolError(f"the desk refused a settings request: {data.hex(' ')}")
    return bytes(data[2 : 2 + data[1]])


@dataclass(frozen=True)
class DpgCapabilities:
    """The capability byte of GET_CAPABILITIES."""

    memory_slots: int
    auto_up: bool = False
    auto_down: bool = False
    ble_allowed: bool = True
    display: bool = False
    light: bool = False

    def encode(self) -> bytes:
        flags = (
            (self.memory_slots & 0x07)
            | self.auto_up << 3
            | self.auto_down << 4
            | self.ble_allowed << 5
            | self.display << 6
            | self.light << 7
        )
        return bytes([flags, 0x01])

    @classmethod
    def decode(cls, payload: bytes) -> DpgCapabilities:
        if not payload:
            raise ProtocolError("the desk sent empty capabilities")
        flags = payload[0]
        return cls(
            memory_slots=flags & 0x07,
            auto_up=bool(flags & 0x08),
            auto_down=bool(flags & 0x10),
            ble_allowed=bool(flags & 0x20),
            display=bool(flags & 0x40),
            light=bool(flags & 0x80),
        )


def encode_position(above_base_mm: float | None) -> bytes:
    """Payload of DESK_OFFSET and MEMORY_n answers: valid flag, then 0.1 mm LE.

    Memory answers carry four more bytes of unknown meaning, sent as zeros.
    """
    if above_base_mm is None:
        return bytes(5)
    return bytes([0x01]) + struct.pack("<H", round(above_base_mm * RAW_PER_MM))


def decode_position(payload: bytes) -> float | None:
    """Millimetres from a DESK_OFFSET or MEMORY_n answer, None for an unset memory."""
    if len(payload) < 3 or payload[0] != 0x01:
        return None
    raw: int = struct.unpack_from("<H", payload, 1)[0]
    return raw / RAW_PER_MM


USER_ID_LENGTH = 16
# DPG1C/DPG1M controllers refuse to move until a user id starting with 01 is written.
DESKCTL_USER_ID = bytes([0x01]) + bytes(range(0x02, 0x02 + USER_ID_LENGTH))


def user_id_valid(user_id_write: bytes) -> bool:
    """Whether a desk takes this USER_ID write at all: the app writes 17 bytes."""
    return 1 <= len(user_id_write) <= 1 + USER_ID_LENGTH


def user_id_accepted(user_id_write: bytes) -> bool:
    """Whether a USER_ID write unlocks moves on a controller that needs one."""
    return len(user_id_write) >= 1 and user_id_write[0] == 0x01


# -- errors (CONTROL ERROR) ------------------------------------------------------------------

ERROR_COLLISION = 0x3B
"""The desk ran into something, stopped, and backs off; it then ignores moves until a STOP."""
ERROR_INTERRUPTED = 0x10
"""A different height reached a travelling desk and halted it (no fault)."""


def encode_error(code: int | None) -> bytes:
    """An error notification: ``01 00 <code>``, or the empty frame that follows it."""
    return b"" if code is None else bytes([0x01, 0x00, code])


def decode_error(data: bytes) -> int | None:
    """The error code in an error notification or read; None when it reports no error."""
    if len(data) < 3 or data[2] == 0:
        return None
    return data[2]
