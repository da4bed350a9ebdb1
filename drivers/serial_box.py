"""What every emulated control box shares: a motor, and a line to whoever drives it.

The line is a pseudo-terminal (what ``deskctl emulate`` prints), a network
serial bridge (:mod:`deskctl.drivers.tcp_bridge`) or, for Jiecang, a BLE
adapter.  Whatever it is, it hands the box bytes with :meth:`receive` and
carries the box's bytes away through the ``send`` it was plugged in with.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from deskctl.clock import Clock
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.pty_port import PtyPort
from deskctl.physics import MotorModel


@dataclass
class LineFaults:
    """A bad line, on request: each a chance per frame the box sends."""

    noise: float = 0.0
    """Junk bytes before the frame."""
    drop: float = 0.0
    """One byte of the frame lost."""
    corrupt: float = 0.0
    """The frame's checksum (the byte before its end marker, in every family) wrong."""
    seed: int = 0
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 (line noise, not secrets)

    def garble(self, frame: bytes) -> bytes:
        chance, out = self._random.random, bytearray(frame)
        if chance() < self.corrupt:
            out[-2] ^= 0x5A
        if chance() < self.drop:
            del out[self._random.randrange(len(out))]
        if chance() < self.noise:
            out[:0] = bytes(self._random.randrange(256) for _ in range(3))
        return bytes(out)


@dataclass
class ByteNoise:
    """A noisy line, byte by byte: each byte is lost, or turned into another, by chance."""

    corrupt: float = 0.0
    drop: float = 0.0
    seed: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 (line noise, not secrets)

    def other_way(self) -> ByteNoise:
        """The same line in the other direction: as noisy, but not the same bytes."""
        return ByteNoise(self.corrupt, self.drop, self.seed + 1)

    def garble(self, data: bytes) -> bytes:
        if not (self.corrupt or self.drop):
            return data
        out = bytearray()
        for byte in data:
            chance = self._random.random()
            if chance < self.drop:
                continue
            damaged = chance < self.drop + self.corrupt
            out.append(byte ^ self._random.randrange(1, 256) if damaged else byte)
        return bytes(out)


class SerialBox(ABC):
    model: MotorModel
    clock: Clock
    loop: MotorLoop
    faults: LineFaults

    _port: PtyPort | None = None
    _send: Callable[[bytes], None] | None = None
    _muted: Callable[[bytes], None] | None = None

    @abstractmethod
    def receive(self, data: bytes) -> None:
        """Bytes from the handset line, in any chunks."""

    async def start(self) -> str:
        """Power on with a serial line; returns the port path a driver opens."""
        self._port = PtyPort(self.receive, self.clock)
        self.plug(self._port.send)
        return self._port.path

    def plug(self, send: Callable[[bytes], None] | None) -> None:
        """Connect a line to the box: ``send`` carries its bytes out (None: nothing does)."""
        if self._send is None:
            self.model.advance(self.clock.now())
        self._send = send

    def transmit(self, frame: bytes) -> None:
        """Send one frame, through whatever faults the line has."""
        if self._send is not None:
            self._send(self.faults.garble(frame))

    def mute(self) -> None:
        """The box's transmitter fails: it still hears the line and drives its motor."""
        self._muted, self._send = self._send, None

    def unmute(self) -> None:
        """The transmitter works again."""
        if self._muted is not None:
            self._send, self._muted = self._muted, None

    @property
    def plugged(self) -> bool:
        return self._send is not None

    async def unplug(self) -> None:
        """The cable is pulled: the line goes dead, the box itself carries on."""
        self._send = None
        if self._port is not None:
            await self._port.close()
            self._port = None

    async def stop(self) -> None:
        await self.loop.stop()
        await self.unplug()

    async def settled(self) -> None:
        """Wait until the motor has come to rest."""
        await self.loop.settled()

    @property
    def height_mm(self) -> float:
        self.model.advance(self.clock.now())
        return self.model.height_mm
