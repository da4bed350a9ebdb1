"""An asyncio event loop whose clock jumps ahead whenever nothing is ready.

Code under test uses ordinary ``asyncio.sleep``, timeouts and ``loop.time()``;
on this loop a 20-second desk move finishes in milliseconds, and the order of
events is exactly what it would be in real time.  In-process I/O (pipes,
pseudo-terminals, bumble's virtual link) still works: the loop polls for it
before moving the clock.  Only public asyncio and selectors APIs are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import selectors
import time
from collections.abc import Coroutine, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

T = TypeVar("T")
IO_GRACE_S = 0.002


class _FastForwardSelector(selectors.BaseSelector):
    """Wraps the default selector: when nothing is ready, advance virtual time
    by the timeout the loop asked for instead of blocking."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._inner = selectors.DefaultSelector()
        self._loop = loop

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._loop.real_time_depth:
            # Another process answers in its own (real) time: wait for it as long as the
            # next timer allows, and let the clock move by the time it really took.
            began = time.monotonic()
            ready = self._inner.select(timeout)
            self._loop.advance(time.monotonic() - began)
            return ready
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # No timer is pending: only real I/O can wake us, so wait for it.
            return self._inner.select(None)
        watched = self._inner.get_map()
        if len(watched) > 1:
            # Files besides the loop's own wake-up pipe are watched, and a kernel may still
            # be handing bytes over: a pseudo-terminal does so asynchronously, and poll(2),
            # unlike epoll, makes it finish first.  Then give it a moment of real time
            # before declaring the loop idle.
            handover = select.poll()
            for key in watched.values():
                if key.events & selectors.EVENT_READ:
                    handover.register(key.fd, select.POLLIN)
            handover.poll(0)
            ready = self._inner.select(IO_GRACE_S)
            if ready:
                return ready
        self._loop.advance(timeout)
        return []

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time, starting at ``start`` seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._virtual_now = start
        self.real_time_depth = 0
        """Above zero: the clock follows the wall clock (see :func:`real_time`)."""
        super().__init__(_FastForwardSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(main: Coroutine[Any, Any, T], start: float = 0.0) -> T:
    """Run ``main`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(main)


@contextlib.contextmanager
def real_time() -> Iterator[None]:
    """Within it, the virtual clock runs at the wall clock's pace.

    For waiting on another process (a D-Bus daemon and the services behind it): on
    virtual time the clock would jump to the next timer while the reply is on its way,
    and a timeout, or the next scheduled change, would come first.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        yield
        return
    loop.real_time_depth += 1
    try:
        yield
    finally:
        loop.real_time_depth -= 1


async def elapse(seconds: float) -> None:
    """Let ``seconds`` of loop time pass: instant on a :class:`VirtualTimeLoop`.

    Tests use it to move the clock (the desk runs meanwhile), never to wait for
    something to happen.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualTimeLoop):
        raise TypeError("elapse() is for virtual time; await the event instead")
    await asyncio.sleep(seconds)
