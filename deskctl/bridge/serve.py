"""The bridge: every configured desk on one MQTT connection (the only module that imports aiomqtt).

Outgoing messages go through an outbox that keeps the latest retained payload
of every topic: after a reconnect (a broker restarted without persistence
knows nothing) and whenever Home Assistant comes online, all of it is sent
again.  Incoming commands are only taken from a live, clean session, so none
that were sent during an outage arrive later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import aiomqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from deskctl.bridge.backoff import Backoff
from deskctl.bridge.node import DeskNode, DeskOpener
from deskctl.bridge.refusals import RefusalLog
from deskctl.bridge.topics import BridgeTopics, desk_id
from deskctl.clock import EpochClock
from deskctl.config import DeskEntry, MqttConfig
from deskctl.errors import BadInput
from deskctl.paths import Paths
from deskctl.units import Unit

log = logging.getLogger("deskctl.serve")
# The MQTT library's own chatter stays out of `serve -v`: it may show what the bridge does not.
_library_log = logging.getLogger("deskctl.serve.mqtt")
_library_log.setLevel(logging.WARNING)

# CONNACK reasons that retrying cannot mend (MQTT 3.1.1 codes and their MQTT 5 names).
_REFUSED = {4, 5, 134, 135}


# How long a bridge that finds its node's status "online" waits for that bridge to answer.
SAME_NODE_WAIT_S = 3.0


class CredentialsRefused(BadInput):
    """The broker turned the bridge's username or password down."""


class CertificateRefused(BadInput):
    """The broker's TLS certificate does not verify against the CAs the bridge trusts."""


class SameNode(BadInput):
    """Another live bridge on the broker has this bridge's node."""


class Outbox:
    """The messages waiting for the broker: the newest of each retained topic, every event."""

    def __init__(self) -> None:
        self._retained: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._events: list[tuple[str, str]] = []
        self._ready = asyncio.Event()

    def publish(self, topic: str, payload: str, retain: bool) -> None:
        if not retain:
            self._events.append((topic, payload))
        elif self._retained.get(topic) != payload:
            self._retained[topic] = self._pending[topic] = payload
        else:
            return  # the broker has it already
        self._ready.set()

    def resend(self) -> None:
        """Everything retained again; events that waited for a connection are dropped."""
        self._pending = dict(self._retained)
        self._events.clear()
        self._ready.set()

    async def drain(self, client: aiomqtt.Client) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            retained, self._pending = self._pending, {}
            events, self._events = self._events, []
            if log.isEnabledFor(logging.DEBUG):
                for topic, payload in retained.items():
                    log.debug("publish %s (%d bytes, retained)", topic, len(payload))
                for topic, payload in events:
                    log.debug("publish %s (%d bytes)", topic, len(payload))
            await asyncio.gather(
                *(client.publish(t, p, qos=1, retain=True) for t, p in retained.items()),
                *(client.publish(t, p, qos=1) for t, p in events),
            )


class Bridge:
    def __init__(
        self,
        mqtt: MqttConfig,
        desks: Iterable[DeskEntry],
        paths: Paths,
        *,
        unit: Unit = Unit.CM,
        open_desk: DeskOpener | None = None,
        broker_retry: Backoff | None = None,
        desk_retry: Backoff | None = None,
        refusals: RefusalLog | None = None,
        clock: EpochClock | None = None,
        standing_tick_s: float = 60.0,
        same_node_wait_s: float = SAME_NODE_WAIT_S,
    ) -> None:
        self.mqtt = mqtt
        self.topics = BridgeTopics(mqtt.base, mqtt.node, mqtt.discovery_prefix)
        self.outbox = Outbox()
        self.retry = broker_retry or Backoff(1.0, 60.0)
        self.connected = asyncio.Event()
        """Set while the bridge holds a session with the broker."""
        self.instance = secrets.token_hex(4)
        """This run of the bridge among any others with its node (its client id ends so)."""
        self.same_node_wait_s = same_node_wait_s
        self.refusals = refusals or RefusalLog()
        self._leaving = False
        self.nodes: dict[str, DeskNode] = {}
        for entry in desks:
            name = desk_id(entry.name)
            if name in self.nodes:
                raise BadInput(
                    f"desks {entry.name!r} and {self.nodes[name].entry.name!r} "
                    f"would share the topic word {name!r}: rename one"
                )
            self.nodes[name] = DeskNode(
                entry,
                self.topics.desk(name),
                paths=paths,
                mqtt=mqtt,
                unit=unit,
                publish=self.outbox.publish,
                open_desk=open_desk,
                retry=desk_retry,
                refusals=self.refusals,
                clock=clock,
                standing_tick_s=standing_tick_s,
            )

    async def run(self) -> None:
        """Serve until cancelled; raises :class:`BadInput` for what retrying cannot mend
        (credentials or a certificate refused, another bridge with this node)."""
        self._warn_if_open()
        desks = [asyncio.create_task(node.run()) for node in self.nodes.values()]
        try:
            await self._keep_connected()
        finally:
            self.refusals.close()
            for task in desks:
                task.cancel()
            await asyncio.gather(*desks, return_exceptions=True)
            await asyncio.gather(*(node.close() for node in self.nodes.values()))

    def _warn_if_open(self) -> None:
        mqtt = self.mqtt
        lacking = [
            name for name, absent in (("login", not mqtt.username), ("TLS", not mqtt.tls)) if absent
        ]
        if mqtt.remote_moves and lacking:
            log.warning(
                "remote moves are on, and the broker connection has no %s: anyone who can "
                "publish to the broker can move the desks; give the command topics to named "
                "users only (see the README's broker ACL)",
                " and no ".join(lacking),
            )

    async def _keep_connected(self) -> None:
        where = f"{self.mqtt.host}:{self.mqtt.broker_port}"
        while True:
            try:
                async with _client(self.mqtt, self.topics, self.instance, self._denied) as client:
                    log.info("connected to the broker at %s as %s", where, self.mqtt.node)
                    self.retry.reset()
                    await self._session(client)
            except aiomqtt.MqttError as error:
                self.connected.clear()
                if _refused(error):
                    raise CredentialsRefused(
                        f"the broker at {where} refused the bridge's credentials ({error}); "
                        "check username and password in [mqtt] or $DESKCTL_MQTT_PASSWORD"
                    ) from None
                if "CERTIFICATE_VERIFY_FAILED" in str(error):
                    reason = str(error).partition("certificate verify failed: ")[2]
                    raise CertificateRefused(
                        f"the broker at {where} has a certificate that does not verify "
                        f"({reason.split(' (_ssl')[0] or error}); check ca_file in [mqtt]"
                    ) from None
                wait = self.retry.next()
                log.warning("no broker at %s (%s); trying again in %.1f s", where, error, wait)
                await asyncio.sleep(wait)

    async def _session(self, client: aiomqtt.Client) -> None:
        self._writes_refused = False
        await self._alone_on_node(client)
        # Retain as published: a retained command is told apart from a live one, however
        # it arrives (MQTT 5; MQTT 3.1.1 clears the flag for subscribers already there).
        live = SubscribeOptions(qos=1, retainAsPublished=True)
        filters = [*self.topics.command_filters(), self.topics.home_assistant_status]
        granted = await client.subscribe([(topic, live) for topic in filters])
        for topic, code in zip(filters, granted, strict=False):
            if _failed(code):
                log.error(
                    "the broker refused the bridge's subscription to %s (%s): %s; "
                    "allow this bridge's user to read it in the broker's ACL",
                    topic,
                    code,
                    "Home Assistant's restarts go unnoticed"
                    if topic == self.topics.home_assistant_status
                    else "commands will not arrive",
                )
        self.outbox.publish(self.topics.status, "online", True)
        self.outbox.resend()
        drain = asyncio.create_task(self.outbox.drain(client))
        self.connected.set()
        try:
            async for message in client.messages:
                self._dispatch(message)
        except asyncio.CancelledError:
            self._leaving = True  # stopped, not cut off: the desks are left at rest
            raise
        finally:
            self.connected.clear()
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await drain
            # Leaving on purpose: a clean disconnect sends no last will, so say it here,
            # after each desk's state at rest (a move is stopped with the process).
            with contextlib.suppress(aiomqtt.MqttError):
                await asyncio.shield(self._goodbye(client))

    async def _alone_on_node(self, client: aiomqtt.Client) -> None:
        """Stop with :class:`SameNode` if another live bridge has this node.

        Its status says ``online`` (retained): said either by a live bridge, which answers
        a hello at once, or by one whose end the broker has not noticed yet, which does not.
        """
        presence = self.topics.presence
        granted = await client.subscribe([(self.topics.status, 1), (presence, 1)])
        if any(_failed(code) for code in granted):
            log.warning(
                "the broker does not let the bridge read %s or %s: it cannot tell whether "
                "another bridge has its node",
                self.topics.status,
                presence,
            )
            return
        await client.publish(presence, f"hello {self.instance}", qos=1)
        someone = False
        loop = asyncio.get_running_loop()
        # The hello comes back at once, unless the broker refused it: then wait no longer.
        waiting = asyncio.timeout_at(loop.time() + self.same_node_wait_s)
        with contextlib.suppress(TimeoutError):
            async with waiting:
                async for message in client.messages:
                    text = _text(message.payload)
                    if message.topic.value == self.topics.status:
                        someone = someone or text == "online"
                    elif text == f"hello {self.instance}":  # all that was retained came first
                        if not someone:
                            break
                        waiting.reschedule(loop.time() + self.same_node_wait_s)
                    elif text.startswith("here ") and text != f"here {self.instance}":
                        raise SameNode(
                            f"another bridge with node {self.mqtt.node!r} is connected to the "
                            f"broker at {self.mqtt.host}:{self.mqtt.broker_port}: give each "
                            'bridge its own node in [mqtt] (node = "...")'
                        )
        await client.unsubscribe(self.topics.status)

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        if self._leaving:
            finals = await asyncio.gather(*(node.at_rest() for node in self.nodes.values()))
            await asyncio.gather(
                *(
                    client.publish(node.topics.state, final, qos=1, retain=True)
                    for node, final in zip(self.nodes.values(), finals, strict=True)
                    if final is not None
                )
            )
        offline = [node.topics.availability for node in self.nodes.values()]
        await asyncio.gather(
            *(client.publish(t, "offline", qos=1, retain=True) for t in offline),
            client.publish(self.topics.status, "offline", qos=1, retain=True),
        )

    def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        raw = message.payload
        payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
        if log.isEnabledFor(logging.DEBUG):
            retained = ", retained" if message.retain else ""
            log.debug("received %s (%d bytes%s)", topic, len(payload), retained)
        try:
            if topic == self.topics.presence:
                self._answer_hello(payload.decode(errors="replace"))
                return
            if topic == self.topics.home_assistant_status:
                if payload.strip() == b"online":
                    log.info("Home Assistant is online: announcing every desk again")
                    self.outbox.resend()
                return
            found = self.topics.parse_command_topic(topic)
            node = None if found is None else self.nodes.get(found[0])
            if node is None or found is None:
                self.refusals.refused(topic, "a message", "no desk here has that name")
                return
            node.handle(found[1], payload, retained=message.retain)
        except Exception:  # a bug in one command must not end the bridge for every desk
            log.exception("could not handle a message on %s", topic)

    def _answer_hello(self, text: str) -> None:
        if text.startswith("hello ") and text != f"hello {self.instance}":
            log.warning(
                "another bridge with node %r came to the broker; it is told this one is here",
                self.mqtt.node,
            )
            self.outbox.publish(self.topics.presence, f"here {self.instance}", False)

    def _denied(self, code: ReasonCode) -> None:
        """The broker would not take a message (MQTT 5 says why): say so, once a session."""
        if not self._writes_refused:
            self._writes_refused = True
            log.error(
                "the broker refused a message from the bridge (%s): Home Assistant will not see "
                "the desks as they are; allow this bridge's user to write %s/%s/# and %s/# in "
                "the broker's ACL",
                code,
                self.mqtt.base,
                self.mqtt.node,
                self.mqtt.discovery_prefix,
            )


def _text(payload: Any) -> str:
    return (
        payload.decode(errors="replace") if isinstance(payload, bytes | bytearray) else str(payload)
    )


def _failed(code: object) -> bool:
    """A SUBACK or PUBACK code that says no (0x80 and up, in MQTT 3.1.1 and 5 alike)."""
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


def _refused(error: aiomqtt.MqttError) -> bool:
    code = getattr(error, "rc", None)
    value = getattr(code, "value", code)
    return isinstance(value, int) and value in _REFUSED


class _Client(aiomqtt.Client):
    """aiomqtt's client, telling what the broker says to each publish (aiomqtt drops it)."""

    def __init__(self, denied: Callable[[ReasonCode], None], **options: Any) -> None:
        super().__init__(**options)
        self._denied = denied

    def _on_publish(
        self,
        client: Any,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if _failed(reason_code):
            self._denied(reason_code)
        super()._on_publish(client, userdata, mid, reason_code, properties)


def _client(
    mqtt: MqttConfig, topics: BridgeTopics, instance: str, denied: Callable[[ReasonCode], None]
) -> aiomqtt.Client:
    # MQTT 5: publishes and subscriptions the broker refuses come back with a reason, and a
    # retained command keeps its flag.  No session expiry is sent, so it is 0: nothing is
    # kept between sessions, as with MQTT 3.1.1's clean session.
    return _Client(
        denied,
        hostname=mqtt.host,
        port=mqtt.broker_port,
        username=mqtt.username,
        password=mqtt.password,
        identifier=f"deskctl-{mqtt.node}-{instance}",
        protocol=aiomqtt.ProtocolVersion.V5,
        keepalive=mqtt.keepalive_s,
        clean_start=True,
        will=aiomqtt.Will(topics.status, "offline", qos=1, retain=True),
        tls_context=_tls(mqtt),
        timeout=10,
        logger=_library_log,
    )


def _tls(mqtt: MqttConfig) -> ssl.SSLContext | None:
    if not mqtt.tls:
        return None
    try:
        context = ssl.create_default_context(
            cafile=None if mqtt.ca_file is None else str(mqtt.ca_file)
        )
        if mqtt.cert_file is not None:
            context.load_cert_chain(
                str(mqtt.cert_file), None if mqtt.key_file is None else str(mqtt.key_file)
            )
    except (OSError, ssl.SSLError) as error:
        raise BadInput(f"cannot use the TLS files named in [mqtt]: {error}") from None
    return context
