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
import ssl
from collections.abc import Iterable

import aiomqtt

from deskctl.bridge.backoff import Backoff
from deskctl.bridge.node import DeskNode, DeskOpener
from deskctl.bridge.topics import BridgeTopics, desk_id
from deskctl.config import DeskEntry, MqttConfig
from deskctl.errors import BadInput
from deskctl.paths import Paths
from deskctl.units import Unit

log = logging.getLogger("deskctl.serve")

# CONNACK reasons that retrying cannot mend (MQTT 3.1.1 codes and their MQTT 5 names).
_REFUSED = {4, 5, 134, 135}


class CredentialsRefused(BadInput):
    """The broker turned the bridge's username or password down."""


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
    ) -> None:
        self.mqtt = mqtt
        self.topics = BridgeTopics(mqtt.base, mqtt.node, mqtt.discovery_prefix)
        self.outbox = Outbox()
        self.retry = broker_retry or Backoff(1.0, 60.0)
        self.connected = asyncio.Event()
        """Set while the bridge holds a session with the broker."""
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
            )

    async def run(self) -> None:
        """Serve until cancelled; raises :class:`CredentialsRefused` if the broker says no."""
        desks = [asyncio.create_task(node.run()) for node in self.nodes.values()]
        try:
            await self._keep_connected()
        finally:
            for task in desks:
                task.cancel()
            await asyncio.gather(*desks, return_exceptions=True)
            await asyncio.gather(*(node.close() for node in self.nodes.values()))

    async def _keep_connected(self) -> None:
        where = f"{self.mqtt.host}:{self.mqtt.broker_port}"
        while True:
            try:
                async with _client(self.mqtt, self.topics) as client:
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
                wait = self.retry.next()
                log.warning("no broker at %s (%s); trying again in %.1f s", where, error, wait)
                await asyncio.sleep(wait)

    async def _session(self, client: aiomqtt.Client) -> None:
        filters = [*self.topics.command_filters(), self.topics.home_assistant_status]
        await client.subscribe([(topic, 1) for topic in filters])
        self.outbox.publish(self.topics.status, "online", True)
        self.outbox.resend()
        drain = asyncio.create_task(self.outbox.drain(client))
        self.connected.set()
        try:
            async for message in client.messages:
                self._dispatch(message)
        finally:
            self.connected.clear()
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await drain
            # Leaving on purpose: a clean disconnect sends no last will, so say it here.
            with contextlib.suppress(aiomqtt.MqttError):
                await asyncio.shield(self._goodbye(client))

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        offline = [node.topics.availability for node in self.nodes.values()]
        await asyncio.gather(
            *(client.publish(t, "offline", qos=1, retain=True) for t in offline),
            client.publish(self.topics.status, "offline", qos=1, retain=True),
        )

    def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        raw = message.payload
        payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
        try:
            if topic == self.topics.home_assistant_status:
                if payload.strip() == b"online":
                    log.info("Home Assistant is online: announcing every desk again")
                    self.outbox.resend()
                return
            found = self.topics.parse_command_topic(topic)
            node = None if found is None else self.nodes.get(found[0])
            if node is None or found is None:
                log.warning("ignored a message for no desk here: %s", topic)
                return
            node.handle(found[1], payload, retained=message.retain)
        except Exception:  # a bug in one command must not end the bridge for every desk
            log.exception("could not handle a message on %s", topic)


def _refused(error: aiomqtt.MqttError) -> bool:
    code = getattr(error, "rc", None)
    value = getattr(code, "value", code)
    return isinstance(value, int) and value in _REFUSED


def _client(mqtt: MqttConfig, topics: BridgeTopics) -> aiomqtt.Client:
    return aiomqtt.Client(
        mqtt.host,
        mqtt.broker_port,
        username=mqtt.username,
        password=mqtt.password,
        identifier=f"deskctl-{mqtt.node}",
        keepalive=mqtt.keepalive_s,
        clean_session=True,
        will=aiomqtt.Will(topics.status, "offline", qos=1, retain=True),
        tls_context=_tls(mqtt),
        timeout=10,
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
