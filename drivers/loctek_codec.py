"""Loctek Motion control boxes (FlexiSpot and others) on their RJ45 serial line: the bytes.

Frames are ``9B <len> <type> <payload> <crc hi> <crc lo> 9D``: ``len`` counts
the bytes between the two markers, and the CRC is CRC-16/MODBUS over
``len``, ``type`` and the payload, sent high byte first.  The handset sends
its buttons as a bitmask; the box sends what its three seven-segment digits
show.  There is no move-to-height: see firmware-notes/loctek.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from deskctl.drivers.frames import LineStats

START = 0x9B
END = 0x9D
MAX_LENGTH = 16


class Type(IntEnum):
    BUTTONS = 0x02  # handset -> box
    HEARTBEAT = 0x11  # box -> handset, meaning unknown
    DISPLAY = 0x12
    BEEP_ON = 0x14
    BEEP_OFF = 0x15


class Button(IntFlag):
    """Handset keys, as the 16-bit mask (first byte low) the box reads."""

    NONE = 0
    UP = 0x0001
    DOWN = 0x0002
    PRESET_1 = 0x0004
    PRESET_2 = 0x0008
    PRESET_3 = 0x0010
    MEMORY = 0x0020
    ALARM = 0x0040
    PRESET_4 = 0x0100


PRESETS = {1: Button.PRESET_1, 2: Button.PRESET_2, 3: Button.PRESET_3, 4: Button.PRESET_4}


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def encode(kind: int, payload: bytes = b"") -> bytes:
    body = bytes([len(payload) + 4, kind]) + payload
    return bytes([START]) + body + crc16_modbus(body).to_bytes(2, "big") + bytes([END])


def buttons(pressed: Button) -> bytes:
    """A handset frame; ``Button.NONE`` is also the wake-up (and stops a moving desk)."""
    return encode(Type.BUTTONS, int(pressed).to_bytes(2, "little"))


WAKE = buttons(Button.NONE)


# -- the seven-segment display ---------------------------------------------------------------

DECIMAL_POINT = 0x80
# "HOT", the duty-cycle cut-out: on seven segments an O is a 0 and a T is a small t.
OVERHEATED_TEXT = "H0t"
# "S-", then the preset's number once stored; on seven segments an S is a 5.
SAVE_TEXT = "5-"
_DIGITS = {0x3F: "0", 0x06: "1", 0x5B: "2", 0x4F: "3", 0x66: "4", 0x6D: "5", 0x7D: "6",
           0x7C: "6", 0x07: "7", 0x7F: "8", 0x6F: "9"}  # fmt: skip
_OTHERS = {0x00: " ", 0x40: "-", 0x79: "E", 0x50: "r", 0x78: "t", 0x77: "A", 0x5C: "o",
           0x54: "n", 0x71: "F", 0x76: "H", 0x38: "L", 0x73: "P", 0x39: "C", 0x5E: "d"}  # fmt: skip
_SEGMENTS = {
    **{v: k for k, v in _DIGITS.items() if k != 0x7C},
    **{v: k for k, v in _OTHERS.items()},
}


@dataclass(frozen=True)
class Display:
    """What the box's three digits show."""

    text: str
    """As a person reads it, e.g. ``"73.9"``, ``"102"``, ``"E01"``, ``"5-1"``."""

    @property
    def number(self) -> float | None:
        """The height shown, if the display shows a number (a decimal point or a whole one)."""
        if re.fullmatch(r" *\d+(\.\d)?", self.text):
            return float(self.text)
        return None

    @property
    def error(self) -> str | None:
        match = re.fullmatch(r"E(\d\d)", self.text.strip())
        return None if match is None else f"E{match.group(1)}"

    @property
    def overheated(self) -> bool:
        return self.text == OVERHEATED_TEXT

    @property
    def step(self) -> float:
        """What one count of the last digit is worth, in the display's unit: 0.1 or 1."""
        return 0.1 if "." in self.text else 1.0

    @property
    def blank(self) -> bool:
        """The screen is off (asleep), or still waking."""
        return not self.text.strip()

    @property
    def memory(self) -> bool:
        """M was pressed: the box waits for the preset to store the height in (``S-``)."""
        return self.text.startswith(SAVE_TEXT)

    @property
    def saved_slot(self) -> int | None:
        """The preset the box just stored the height in (``S-1``...), its confirmation."""
        match = re.fullmatch(rf"{SAVE_TEXT}(\d)", self.text)
        return None if match is None else int(match.group(1))


def decode_display(payload: bytes) -> Display:
    """Read three seven-segment bytes; bit 7 of a digit lights the point after it."""
    text = ""
    for byte in payload[:3]:
        segments = byte & ~DECIMAL_POINT
        text += _DIGITS.get(segments) or _OTHERS.get(segments, "?")
        if byte & DECIMAL_POINT:
            text += "."
    return Display(text)


def encode_display(text: str) -> bytes:
    """Three display bytes for ``text`` such as ``"73.9"`` or ``"E01"`` (emulators use this)."""
    out: list[int] = []
    for char in text:
        if char == "." and out:
            out[-1] |= DECIMAL_POINT
        else:
            out.append(_SEGMENTS[char])
    if len(out) != 3:
        raise ValueError(f"the display has three digits, not {text!r}")
    return bytes(out)


def display_text(height_mm: float, inches: bool = False, whole: bool = False) -> str:
    """How the panel shows a height: 0.1 cm below 100 cm, whole cm above (likewise
    inches); ``whole`` panels show whole units everywhere."""
    value = height_mm / (25.4 if inches else 10.0)
    if round(value, 1) < 100 and not whole:
        return f"{value:4.1f}"
    return f"{round(value):3d}"


@dataclass(frozen=True)
class Frame:
    kind: int
    payload: bytes


@dataclass
class FrameParser:
    """Cuts a byte stream into frames; never raises, counts what it throws away."""

    stats: LineStats = field(default_factory=LineStats)
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self.stats.dropped_bytes += len(self._buffer)
                self._buffer.clear()
                return frames
            if start:
                self.stats.dropped_bytes += start
                del self._buffer[:start]
            if len(self._buffer) < 2:
                return frames
            length = self._buffer[1]
            if not 4 <= length <= MAX_LENGTH:
                self._skip()
                continue
            total = length + 2
            if len(self._buffer) < total:
                return frames
            body = bytes(self._buffer[1 : total - 3])
            crc = int.from_bytes(self._buffer[total - 3 : total - 1], "big")
            if self._buffer[total - 1] != END or crc != crc16_modbus(body):
                self.stats.bad_checksums += 1
                self._skip()
                continue
            del self._buffer[:total]
            self.stats.frames += 1
            frames.append(Frame(body[1], body[2:]))

    def _skip(self) -> None:
        self.stats.dropped_bytes += 1
        del self._buffer[:1]
