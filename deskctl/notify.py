"""The schedule's prompts as desktop notifications, with Confirm, Snooze and Skip as the
notification's own buttons where the desktop has them.

One notification at a time: a new prompt replaces the last one, and a prompt that ends
any other way (answered in the terminal or by another face, lapsed, taken as a break) is
withdrawn, so none is left on the desktop to answer a question nobody asks any more. A
click is handed to ``answer`` as the word a terminal sends (``confirm``, ``snooze``,
``skip``), so it goes the same way as a typed answer.

Where there is no notification service (no session bus, a headless machine) this does
nothing, quietly and at once: desktop-notifier and D-Bus load only when a prompt is to be
shown and a bus is there, and a failure turns the notifications off for the session
rather than reaching the person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from deskctl.policy.engine import Action, Notify, Phase, Prompt, State

if TYPE_CHECKING:
    from desktop_notifier import DesktopNotifier

log = logging.getLogger(__name__)

APP_NAME = "deskctl"
BUTTONS = (("confirm", "Confirm"), ("snooze", "Snooze"), ("skip", "Skip"))
"""Each button's answer and its label."""
# How long the first contact with the notification service may take before it counts as
# absent (a bus that answers nothing); it is awaited in the background, never by a face.
CONNECT_TIMEOUT_S = 5.0


def has_notification_service() -> bool:
    """Whether this session can have desktop notifications at all: on Linux a session bus
    (its address in the environment); macOS and Windows have services of their own, and
    desktop-notifier has nothing for other systems."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    return sys.platform in ("darwin", "win32")


def prompt_words(prompt: Prompt, exercise: str | None, height: str) -> tuple[str, str]:
    """A prompt's title and text: the way, the height, the exercise and what answers do."""
    title = "Time to stand up" if prompt.target.value == "stand" else "Time to sit down"
    lines = [f"The desk goes to {height}" + (f", then: {exercise}." if exercise else ".")]
    if prompt.auto:
        lines.append(f"It moves in {prompt.countdown_s:.0f} s unless you answer.")
    elif prompt.snoozes_left:
        left = prompt.snoozes_left
        lines.append(f"Confirm to move it; {left} snooze{'s' if left != 1 else ''} left.")
    else:
        lines.append("Confirm to move it, or skip this change.")
    return title, "\n".join(lines)


class PromptNotifications:
    """Shows the schedule's prompts on the desktop: give it every action (``action``) and
    every state (``stepped``) of the schedule, as a face's view gets them."""

    def __init__(
        self,
        answer: Callable[[str], None],
        words: Callable[[Prompt], tuple[str, str]],
        *,
        enabled: bool = True,
        notices: bool = False,
    ) -> None:
        self.answer = answer
        """Takes a click: ``confirm``, ``snooze`` or ``skip``."""
        self.words = words
        self.enabled = enabled and has_notification_service()
        self.notices = notices
        """Also show the schedule's notices (a move that failed, a fault), without buttons."""
        self._notifier: DesktopNotifier | None = None
        self._buttons = True
        self._asking = 0
        """The prompt now open (a count of prompts), 0 while none is."""
        self._prompts = 0
        self._shown: str | None = None
        """The open prompt's notification on the desktop."""
        self._order = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.idle = asyncio.Event()
        """Set whenever no work is pending, so that tests can await it."""
        self.idle.set()

    # -- what the schedule does ---------------------------------------------------------------

    def action(self, action: Action) -> None:
        if not self.enabled:
            return
        if isinstance(action, Prompt):
            self._prompts += 1
            self._asking = self._prompts
            self._spawn(self._show(action, self._prompts))
        elif isinstance(action, Notify) and self.notices:
            self._spawn(self._note(action.text))

    def stepped(self, state: State) -> None:
        """A prompt that ended, however it ended, leaves the desktop."""
        if self.enabled and self._asking and state.phase is not Phase.PROMPT:
            self._asking = 0
            self._spawn(self._withdraw_now())

    async def aclose(self) -> None:
        """Withdraw what is shown and let the bus go (when the face ends)."""
        self._asking = 0  # a prompt not shown yet will not be
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S), self._order:
                await self._withdraw_now()  # after a notification still on its way
        except TimeoutError:
            log.debug("the notification service did not answer in time")
        finally:
            self.enabled = False
            notifier, self._notifier = self._notifier, None
            if notifier is not None:
                _disconnect(notifier)

    # -- the work, one piece at a time and in order -------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._in_order(work))
        self._tasks.add(task)
        self.idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self.idle.set()

    async def _in_order(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._order:
            try:
                await work
            except Exception:  # a desktop that misbehaves must not reach the person
                log.debug("desktop notification failed", exc_info=True)

    async def _show(self, prompt: Prompt, number: int) -> None:
        if number != self._asking:
            return  # ended (or replaced) before it could be shown
        notifier = await self._connected()
        if notifier is None:
            return
        from desktop_notifier import Button, Notification, Urgency

        await self._withdraw_now()
        title, text = self.words(prompt)
        buttons = (
            tuple(
                Button(label, self._clicked_as(answer, number), identifier=answer)
                for answer, label in BUTTONS
                if answer != "snooze" or prompt.snoozes_left
            )
            if self._buttons
            else ()
        )
        identifier = uuid.uuid4().hex
        notification = Notification(
            title,
            text,
            urgency=Urgency.Critical if prompt.auto else Urgency.Normal,
            buttons=buttons,
            on_dismissed=lambda: self._forget(identifier),
            timeout=max(1, round(prompt.countdown_s)),
            identifier=identifier,
        )
        await notifier.send_notification(notification)
        self._shown = identifier

    async def _note(self, text: str) -> None:
        notifier = await self._connected()
        if notifier is not None:
            await notifier.send(APP_NAME, text)

    async def _withdraw_now(self) -> None:
        shown, self._shown = self._shown, None
        if shown is not None and self._notifier is not None:
            with contextlib.suppress(Exception):  # already closed on the desktop
                await self._notifier.clear(shown)

    def _clicked_as(self, answer: str, number: int) -> Callable[[], None]:
        def clicked() -> None:
            self._shown = None  # the desktop closes a notification whose button was pressed
            if number == self._asking:
                self.answer(answer)

        return clicked

    def _forget(self, identifier: str) -> None:
        if self._shown == identifier:
            self._shown = None

    async def _connected(self) -> DesktopNotifier | None:
        """The notifier, once the service has answered; None (for good) without one."""
        if self._notifier is not None or not self.enabled:
            return self._notifier
        # Loaded here, not with the face: a first paint and --help stay as quick as before.
        from desktop_notifier import Capability, DesktopNotifier

        logging.getLogger("desktop_notifier").addHandler(logging.NullHandler())
        notifier = DesktopNotifier(app_name=APP_NAME)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                capabilities = await notifier.get_capabilities()
        except Exception:
            log.debug("no desktop notifications", exc_info=True)
            self.enabled = False
            _disconnect(notifier)
            return None
        self._buttons = Capability.BUTTONS in capabilities
        self._notifier = notifier
        return notifier


def _disconnect(notifier: DesktopNotifier) -> None:
    """Let the notifier's D-Bus connection go (desktop-notifier keeps it to itself)."""
    bus = getattr(getattr(notifier, "_backend", None), "bus", None)
    with contextlib.suppress(Exception):
        if bus is not None:
            bus.disconnect()
