"""Fan-out of desk states to any number of subscribers.

Each subscriber has its own bounded mailbox: a slow reader loses the oldest
states, never the newest, and never slows the desk down.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from deskctl.model import DeskState


class StateHub:
    """Holds the latest state and hands every new one to each subscription."""

    def __init__(self, initial: DeskState) -> None:
        self.latest = initial
        self._subscriptions: set[Subscription] = set()

    def publish(self, state: DeskState) -> None:
        self.latest = state
        for subscription in self._subscriptions:
            subscription.deliver(state)

    def subscribe(self, maxlen: int = 256) -> Subscription:
        subscription = Subscription(self, maxlen)
        self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        """End every subscription; their iterators stop after the states they hold."""
        for subscription in list(self._subscriptions):
            subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)


class Subscription:
    """An async iterator of states, used as ``with hub.subscribe() as states``."""

    def __init__(self, hub: StateHub, maxlen: int) -> None:
        self._hub = hub
        self._pending: deque[DeskState] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self._closed = False

    def deliver(self, state: DeskState) -> None:
        self._pending.append(state)
        self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._hub._remove(self)

    async def next(self, timeout: float | None = None) -> DeskState | None:  # noqa: ASYNC109
        """The next state, or None if ``timeout`` seconds pass without one.

        Raises :class:`StopAsyncIteration` once the subscription is closed and drained.
        """
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            except TimeoutError:
                return None
        return self._pending.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> DeskState:
        state = await self.next()
        assert state is not None  # no timeout given
        return state

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
