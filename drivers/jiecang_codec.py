"""Jiecang controllers (Uplift, Fully Jarvis, Desky, OmniDesk and many more): the bytes.

The same frames travel over the RJ45/RJ12 serial line and the BLE adapters::

    F1 F1 <op> <len> <payload> <chk> 7E     host -> desk
    F2 F2 <op> <len> <payload> <chk> 7E     desk -> host

with ``chk = (op + len + sum(payload)) & 0xFF``.  Payloads may contain ``7E``,
so frames are cut by their length, never by the end byte.  Heights are
big-endian tenths of the desk's display unit: millimetres on a metric desk,
tenths of an inch on an imperial one.  See firmware-notes/jiecang.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from deskctl.drivers.frames import LineStats
from deskctl.errors import ProtocolError

HOST_HEADER = b"\xf1\xf1"
DESK_HEADER = b"\xf2\xf2"
END = 0x7E
MAX_PAYLOAD = 16  # no message in this family is longer; a larger length means noise


class Op(IntEnum):
    """Commands a host sends."""

    WAKE = 0x00
    UP = 0x01
    DOWN = 0x02
    SAVE_1 = 0x03
    SAVE_2 = 0x04
    GOTO_1 = 0x05
    GOTO_2 = 0x06
    SETTINGS = 0x07
    LIMITS = 0x0C
    UNITS = 0x0E
    SET_OFFSET = 0x10
    SET_MAX_HEIGHT = 0x11
    UNKNOWN_12 = 0x12
    TOUCH_MODE = 0x19
    MOVE_TO = 0x1B
    SENSITIVITY = 0x1D
    LIMIT_REPORT = 0x20
    SET_MAX_HERE = 0x21
    SET_MIN_HERE = 0x22
    CLEAR_LIMIT = 0x23
    SAVE_3 = 0x25
    SAVE_4 = 0x26
    GOTO_3 = 0x27
    GOTO_4 = 0x28
    POLL = 0x29
    STOP = 0x2B
    CALIBRATE = 0x91
    STAND_TIME = 0xA2
    TOTAL_TIME = 0xAA
    RESET = 0xFE


# They change where the box thinks the desk is, or its limits: deskctl never sends them.
DANGEROUS_OPS = frozenset(
    {
        Op.SET_OFFSET,
        Op.SET_MAX_HEIGHT,
        Op.UNKNOWN_12,
        Op.SET_MAX_HERE,
        Op.SET_MIN_HERE,
        Op.CLEAR_LIMIT,
        Op.CALIBRATE,
        Op.RESET,
    }
)


SAVE_OPS = {1: Op.SAVE_1, 2: Op.SAVE_2, 3: Op.SAVE_3, 4: Op.SAVE_4}
GOTO_OPS = {1: Op.GOTO_1, 2: Op.GOTO_2, 3: Op.GOTO_3, 4: Op.GOTO_4}


class Reply(IntEnum):
    """Messages a desk sends."""

    HEIGHT = 0x01
    ERROR = 0x02
    NEEDS_RESET = 0x04
    LIMITS = 0x07
    UNITS = 0x0E
    OFFSET = 0x10
    MAX_HEIGHT = 0x11
    TOUCH_MODE = 0x19
    TARGET = 0x1B
    SENSITIVITY = 0x1D
    LOCK = 0x1F
    LIMIT_FLAGS = 0x20
    MAX_LIMIT = 0x21
    MIN_LIMIT = 0x22
    LIMIT_REACHED = 0x23
    PRESET_1 = 0x25
    PRESET_2 = 0x26
    PRESET_3 = 0x27
    PRESET_4 = 0x28
    RESET_MODE = 0x40
    GOING_TO_PRESET = 0x92


PRESET_REPLIES = {Reply.PRESET_1: 1, Reply.PRESET_2: 2, Reply.PRESET_3: 3, Reply.PRESET_4: 4}
PRESET_REPLIES_BY_SLOT = {slot: reply for reply, slot in PRESET_REPLIES.items()}

# How long the messages a driver acts on are; one of another length is damage that got past
# the one-byte checksum.
REPLY_LENGTHS: dict[int, int] = {
    Reply.HEIGHT: 3,
    Reply.ERROR: 1,
    Reply.NEEDS_RESET: 0,
    Reply.LIMITS: 4,
    Reply.UNITS: 1,
    Reply.TARGET: 2,
    Reply.GOING_TO_PRESET: 1,
    **dict.fromkeys(PRESET_REPLIES, 2),
}


def well_formed(frame: Frame) -> bool:
    """Whether a box's message has the length its kind has (unknown kinds pass)."""
    length = REPLY_LENGTHS.get(frame.op)
    return length is None or len(frame.payload) == length


def error_name(code: int) -> str:
    """The code the desk's display shows: E01-E13, H01 (overheated), H02, LOCK."""
    if 1 <= code <= 13:
        return f"E{code:02d}"
    return {0x0E: "H01", 0x0F: "H02", 0x10: "LOCK"}.get(code, f"error 0x{code:02X}")


OVERHEATED = 0x0E


def ble_uuid(short: int) -> str:
    """A 16-bit Bluetooth UUID in its full form, as bleak names services."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True)
class BleVariant:
    """One BLE adapter layout: the service it advertises and its two characteristics.

    Frames go to ``write`` and come back as notifications of ``notify``; where
    sources disagree on a characteristic, every candidate is listed, first
    match wins.
    """

    name: str
    service: str
    write: tuple[str, ...]
    notify: tuple[str, ...]


BLE_VARIANTS = (
    BleVariant("fe60", ble_uuid(0xFE60), (ble_uuid(0xFE61),), (ble_uuid(0xFE62),)),
    BleVariant("ff12", ble_uuid(0xFF12), (ble_uuid(0xFF01),), (ble_uuid(0xFF02),)),
    BleVariant("ff00", ble_uuid(0xFF00), (ble_uuid(0xFF01),), (ble_uuid(0xFF02),)),
    BleVariant(
        "00ff",
        ble_uuid(0x00FF),
        (ble_uuid(0xFF01), ble_uuid(0x01FF)),
        (ble_uuid(0xFF02), ble_uuid(0x02FF)),
    ),
)
BLE_VARIANTS_BY_NAME = {variant.name: variant for variant in BLE_VARIANTS}


def checksum(op: int, payload: bytes) -> int:
    return (op + len(payload) + sum(payload)) & 0xFF


def encode(op: int, payload: bytes = b"", *, header: bytes = HOST_HEADER) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("Jiecang payloads are at most 16 bytes")
    return header + bytes([op, len(payload), *payload, checksum(op, payload), END])


def encode_reply(op: int, payload: bytes = b"") -> bytes:
    return encode(op, payload, header=DESK_HEADER)


def encode_height(tenths: int) -> bytes:
    """A height or target as the big-endian tenths the desk uses."""
    if not 0 <= tenths <= 0xFFFF:
        raise ProtocolError(f"a Jiecang height must fit 16 bits, not {tenths}")
    return tenths.to_bytes(2, "big")


def decode_height(payload: bytes) -> int:
    if len(payload) < 2:
        raise ProtocolError(f"a Jiecang height needs 2 bytes, got {payload.hex(' ')}")
    return int.from_bytes(payload[:2], "big")


def move_to(tenths: int) -> bytes:
    return encode(Op.MOVE_TO, encode_height(tenths))


@dataclass(frozen=True)
class Frame:
    op: int
    payload: bytes


@dataclass
class FrameParser:
    """Cuts a byte stream into frames: any chunking, noise or corruption in between.

    Feeding never raises; bad bytes are skipped and counted in ``stats``.
    """

    header: bytes = DESK_HEADER
    stats: LineStats = field(default_factory=LineStats)
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            start = self._buffer.find(self.header)
            if start < 0:
                # Keep a last byte that may be the first half of a header.
                keep = 1 if self._buffer[-1:] == self.header[:1] else 0
                self.stats.dropped_bytes += len(self._buffer) - keep
                del self._buffer[: len(self._buffer) - keep]
                return frames
            if start:
                self.stats.dropped_bytes += start
                del self._buffer[:start]
            if len(self._buffer) < 4:
                return frames
            op, length = self._buffer[2], self._buffer[3]
            if length > MAX_PAYLOAD:
                self._skip_header()
                continue
            total = 4 + length + 2
            if len(self._buffer) < total:
                return frames
            payload = bytes(self._buffer[4 : 4 + length])
            if self._buffer[total - 1] != END or self._buffer[total - 2] != checksum(op, payload):
                self.stats.bad_checksums += 1
                self._skip_header()
                continue
            del self._buffer[:total]
            self.stats.frames += 1
            frames.append(Frame(op, payload))

    def _skip_header(self) -> None:
        # Resynchronise one byte on: a real frame may start inside the rejected one.
        self.stats.dropped_bytes += 1
        del self._buffer[:1]
