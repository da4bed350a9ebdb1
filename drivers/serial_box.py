"""What every emulated control box shares: a motor, and a line to whoever drives it.

The line is a pseudo-terminal (what ``deskctl emulate`` prints), a network
serial bridge (:mod:`deskctl.drivers.tcp_bridge`) or, for Jiecang, a BLE
adapter.  Whatever it is, it hands the box bytes with :meth:`receive` and
carries the box's bytes away through the ``send`` it was plugged in with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from deskctl.clock import Clock
from deskctl.drivers.motor_loop import MotorLoop
from deskctl.drivers.pty_port import PtyPort
from deskctl.physics import MotorModel


class SerialBox(ABC):
    model: MotorModel
    clock: Clock
    loop: MotorLoop

    _port: PtyPort | None = None
    _send: Callable[[bytes], None] | None = None

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

    def transmit(self, data: bytes) -> None:
        if self._send is not None:
            self._send(data)

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
