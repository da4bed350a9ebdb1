"""``deskctl serve``: simulated desks bridged to a real mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_rig import Broker, Seen, listening

from deskctl import runtime
from deskctl.bridge.backoff import Backoff
from deskctl.bridge.commands import (
    Answer,
    CommandRefused,
    GoTo,
    MoveRation,
    MoveTo,
    RecallPreset,
    Stop,
    UseProfile,
    parse_command,
)
from deskctl.bridge.refusals import RefusalLog
from deskctl.bridge.serve import Bridge, CertificateRefused, CredentialsRefused, SameNode
from deskctl.bridge.topics import BridgeTopics
from deskctl.clock import EpochClock, local_timezone
from deskctl.config import DeskEntry, MqttConfig
from deskctl.errors import BadInput, DeskctlError
from deskctl.lock import DeskLock
from deskctl.paths import Paths
from deskctl.profiles.model import Profile
from deskctl.profiles.store import ProfileStore
from deskctl.units import Unit

DESK = "sim://office?speed=50"
STATE = "deskctl/room1/office/state"
CMD = "deskctl/room1/office/cmd"
EVENT = "deskctl/room1/office/event"
DISCOVERY = "homeassistant/device/deskctl_room1_office/config"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    found = Broker(tmp_path / "broker")
    found.folder.mkdir()
    found.start()
    yield found
    found.stop()


def settings(broker: Broker, **changes: Any) -> MqttConfig:
    mqtt = MqttConfig(port=broker.port, host="127.0.0.1", node="room1", remote_moves=True)
    return dataclasses.replace(mqtt, **changes)


@contextlib.asynccontextmanager
async def bridged(
    mqtt: MqttConfig, *desks: DeskEntry, unit: Unit = Unit.CM, **options: Any
) -> AsyncIterator[Bridge]:
    entries = desks or (DeskEntry("office", DESK, 720.0, 1100.0),)
    bridge = Bridge(
        mqtt,
        entries,
        Paths.from_env(),
        unit=unit,
        broker_retry=Backoff(0.05, 0.5),
        desk_retry=Backoff(0.05, 0.5),
        **options,
    )
    task = asyncio.create_task(bridge.run())
    connected = asyncio.create_task(bridge.connected.wait())
    try:
        await asyncio.wait({task, connected}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the bridge gave up: its error is the test's
        assert bridge.connected.is_set()
        yield bridge
    finally:
        connected.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def at_rest_near(height_mm: float) -> Callable[[Seen], bool]:
    def match(seen: Seen) -> bool:
        state = seen.json()
        return not state["moving"] and abs(state["height_mm"] - height_mm) <= 1

    return match


def about(payload: str) -> Callable[[Seen], bool]:
    """An event about the command ``payload``."""
    return lambda seen: payload in seen.json().get("command", "")


# -- the pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "command"),
    [
        ("cmd", b"stand", GoTo("stand")),
        ("cmd", b" SIT\n", GoTo("sit")),
        ("cmd", b"stop", Stop()),
        ("cmd", b"preset_2", RecallPreset(2)),
        ("cmd", b"confirm", Answer("confirm")),
        ("height/set", b"110.5", MoveTo(1105.0)),
        ("height/set", b"43.3in", MoveTo(1099.8)),
        ("height/set", b"72,5", MoveTo(725.0)),  # a decimal comma, as the command line takes
        ("height/set", b"1100mm", MoveTo(1100.0)),
        ("profile/set", b"ana", UseProfile("ana")),
    ],
)
def test_commands_parse(kind: str, payload: bytes, command: object) -> None:
    assert parse_command(kind, payload, Unit.CM) == command


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        ("cmd", b"jump", "unknown command"),
        ("cmd", b"\xff\xfe", "not UTF-8"),
        ("cmd", b"x" * 65, "65 bytes"),
        ("cmd", b"preset_0", "unknown command"),
        ("height/set", b"nan", "not a height"),
        ("height/set", b"-5", "not a height"),
        ("height/set", b"tall", "not a height"),
        ("height/set", b"", "not a height"),
        ("height/set", b"1e2", "'1e2' is not a height: send a number in cm"),
        ("height/set", b"+110", "not a height"),
        ("height/set", b"-110", "'-110' is not a height: send a number in cm"),
        ("height/set", "\u0661\u0661\u0660".encode(), "write its digits as 0-9"),
        ("height/set", b"1000,5", "1000.5 cm is no desk height; did you mean 1000.5 mm?"),
        ("profile/set", b"../etc", "not a profile name"),
    ],
)
def test_bad_commands_are_refused_with_a_reason(kind: str, payload: bytes, reason: str) -> None:
    with pytest.raises(CommandRefused, match=reason):
        parse_command(kind, payload, Unit.CM)


def test_moves_are_rationed_per_desk() -> None:
    ration = MoveRation(per_minute=6, burst=3)  # then one every 10 s
    assert [ration.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert ration.wait_s() == pytest.approx(10.0)
    assert not ration.take(9.0)
    assert ration.take(10.5)
    assert ration.take(100.0)


def test_a_bare_number_is_in_the_bridges_unit() -> None:
    assert parse_command("height/set", b"1100", Unit.MM) == MoveTo(1100.0)
    assert parse_command("height/set", b"43.5", Unit.IN) == MoveTo(1104.9)
    with pytest.raises(CommandRefused, match=r"a number in in \(like 43.3\)"):
        parse_command("height/set", b"tall", Unit.IN)


def test_command_topics_belong_to_their_bridge() -> None:
    topics = BridgeTopics("deskctl", "room1", "homeassistant")
    assert topics.parse_command_topic("deskctl/room1/office/height/set") == ("office", "height/set")
    assert topics.parse_command_topic("deskctl/room2/office/cmd") is None
    assert topics.parse_command_topic("deskctl/room1/office/state") is None


# -- against the broker -----------------------------------------------------------------------


async def test_discovery_describes_the_desk_as_one_device(broker: Broker) -> None:
    async with listening(broker) as (_, inbox), bridged(settings(broker)):
        config = (await inbox.wait_for(DISCOVERY)).json()
        assert config["dev"]["ids"] == ["deskctl_room1_office"]
        assert config["o"]["name"] == "deskctl"
        assert [a["t"] for a in config["avty"]] == [
            "deskctl/room1/status",
            "deskctl/room1/office/availability",
        ]
        components = config["cmps"]
        assert {"height", "target", "moving", "posture", "sit", "stand", "stop"} <= set(components)
        assert {"next_change", "standing_today", "preset_1", "preset_4"} <= set(components)
        ids = [c["unique_id"] for c in components.values()]
        assert len(set(ids)) == len(ids)
        assert all(c["p"] and c["name"] for c in components.values())
        # Home Assistant takes qos from each component; at the device level it is ignored.
        assert all(c["qos"] == 1 for c in components.values())
        target = components["target"]
        assert (target["min"], target["max"], target["unit_of_measurement"]) == (62.0, 127.0, "cm")
        assert target["command_topic"] == "deskctl/room1/office/height/set"
        assert components["stand"]["payload_press"] == "stand"
        await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "online")
        await inbox.wait_for("deskctl/room1/office/availability", lambda s: s.payload == "online")
        state = (await inbox.wait_for(STATE)).json()
        assert state["posture"] == "sitting"
        assert state["link"] == "connected"
        assert {"height_cm", "next_change", "standing_today_min", "profile"} <= set(state)
        async with listening(broker) as (_, later):  # what a client that comes later is given
            for topic in (DISCOVERY, "deskctl/room1/status", STATE):
                await later.wait_for(topic, lambda s: s.retain)


async def test_a_command_moves_the_desk_and_the_state_follows(broker: Broker) -> None:
    async with listening(broker) as (client, inbox), bridged(settings(broker)) as bridge:
        await inbox.wait_for(STATE)
        await client.publish(CMD, "stand")
        await inbox.wait_for(STATE, lambda s: s.json()["moving"])
        state = await inbox.wait_for(STATE, at_rest_near(1100.0), within_s=30)
        assert state.json()["posture"] == "standing"
        await client.publish("deskctl/room1/office/height/set", "80")
        await inbox.wait_for(STATE, at_rest_near(800.0), within_s=30)
        desk = bridge.nodes["office"].desk
        assert desk is not None
        assert abs(desk.state.height_mm - 800.0) <= 1


async def test_remote_moves_are_refused_unless_the_config_allows_them(broker: Broker) -> None:
    async with (
        listening(broker) as (client, inbox),
        bridged(settings(broker, remote_moves=False)) as bridge,
    ):
        await inbox.wait_for(STATE)
        for topic, payload in ((CMD, "stand"), ("deskctl/room1/office/height/set", "100")):
            await client.publish(topic, payload)
            refused = await inbox.wait_for(EVENT, about(payload))
            assert "remote moves are off" in refused.json()["reason"]
        await client.publish(CMD, "stop")  # stopping is always allowed
        desk = bridge.nodes["office"].desk
        assert desk is not None
        assert not desk.state.moving
        assert desk.state.height_mm == pytest.approx(720.0, abs=1)


async def test_malformed_payloads_are_refused_and_the_bridge_goes_on(broker: Broker) -> None:
    async with listening(broker) as (client, inbox), bridged(settings(broker)):
        await inbox.wait_for(STATE)
        bad = [
            (CMD, b"jump"),
            (CMD, b"\xff\xfe"),
            (CMD, b"x" * 500),
            ("deskctl/room1/office/height/set", b"300"),  # 300 cm: beyond the desk
            ("deskctl/room1/office/height/set", b"{}"),
            ("deskctl/room1/office/profile/set", b"nobody"),
            ("deskctl/room1/elsewhere/cmd", b"stand"),
        ]
        for topic, payload in bad:
            await client.publish(topic, payload)
        await client.publish(CMD, "preset_9")
        await inbox.wait_for(EVENT, about("preset_9"))
        reasons = [seen.json()["reason"] for seen in inbox.on(EVENT)]
        assert len(reasons) == 7  # each of the six for this desk, and the preset
        assert any("300 cm is no desk height" in reason for reason in reasons)
        assert any("no profile 'nobody'" in reason for reason in reasons)
        await client.publish(CMD, "stand")  # still serving
        await inbox.wait_for(STATE, at_rest_near(1100.0), within_s=30)


async def test_a_retained_command_is_never_carried_out(broker: Broker) -> None:
    # Sent while the bridge was away and kept by the broker: old news when it connects.
    async with broker.client() as sender:
        await sender.publish(CMD, "stand", retain=True)
    async with listening(broker) as (_, inbox), bridged(settings(broker)) as bridge:
        refused = await inbox.wait_for(EVENT)
        assert "never retained" in refused.json()["reason"]
        desk = bridge.nodes["office"].desk
        assert desk is not None
        assert not desk.state.moving
        assert desk.state.height_mm == pytest.approx(720.0, abs=1)


async def test_the_bridge_comes_back_after_the_broker_restarts(broker: Broker) -> None:
    async with bridged(settings(broker)):
        async with listening(broker) as (_, inbox):
            await inbox.wait_for(DISCOVERY)
        broker.restart()  # forgets every retained message
        async with listening(broker) as (client, inbox):
            await inbox.wait_for(DISCOVERY)  # so this is the bridge announcing itself again
            await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "online")
            await client.publish(CMD, "stand")  # and subscribed again
            await inbox.wait_for(STATE, at_rest_near(1100.0), within_s=30)


async def test_a_busy_desk_is_unavailable_until_it_is_free(broker: Broker) -> None:
    lock = DeskLock(runtime.lock_file("sim://office"), "sim://office")
    lock.acquire()  # another process controls the desk
    availability = "deskctl/room1/office/availability"
    async with listening(broker) as (client, inbox), bridged(settings(broker)):
        await inbox.wait_for(availability, lambda s: s.payload == "offline")
        await client.publish(CMD, "stand")
        refused = await inbox.wait_for(EVENT)
        assert "not connected" in refused.json()["reason"]
        lock.release()
        await inbox.wait_for(availability, lambda s: s.payload == "online")
        await client.publish(CMD, "stand")  # nothing was kept from before: this one moves it
        await inbox.wait_for(STATE, at_rest_near(1100.0), within_s=30)


async def test_the_person_select_switches_whose_heights_the_desk_takes(broker: Broker) -> None:
    store = ProfileStore(Paths.from_env().profiles_dir)
    store.save(Profile(name="ana", sit=680.0, stand=1050.0))
    store.save(Profile(name="bob", sit=750.0, stand=1180.0))
    async with listening(broker) as (client, inbox), bridged(settings(broker)):
        select = (await inbox.wait_for(DISCOVERY)).json()["cmps"]["profile"]
        assert select["options"] == ["ana", "bob"]
        await client.publish(select["command_topic"], "bob")
        await inbox.wait_for(STATE, lambda s: s.json()["profile"] == "bob")
        assert store.active_for("sim://office") == "bob"
        await client.publish(CMD, "stand")
        await inbox.wait_for(STATE, at_rest_near(1180.0), within_s=30)


async def test_home_assistant_coming_online_gets_everything_again(broker: Broker) -> None:
    async with listening(broker) as (client, inbox), bridged(settings(broker)):
        await inbox.wait_for(DISCOVERY)
        before = len(inbox.on(DISCOVERY))
        await client.publish("homeassistant/status", "online")
        await inbox.wait_for(DISCOVERY, lambda _: len(inbox.on(DISCOVERY)) > before)


async def test_a_broker_that_wants_a_password(tmp_path: Path) -> None:
    broker = Broker(tmp_path, users={"desk": "s3cret"})
    broker.start()
    try:
        with pytest.raises(CredentialsRefused, match="refused the bridge's credentials"):
            async with bridged(settings(broker)):
                pass
        with pytest.raises(CredentialsRefused):
            async with bridged(settings(broker, username="desk", password="wrong")):
                pass
        async with bridged(settings(broker, username="desk", password="s3cret")) as bridge:
            assert bridge.connected.is_set()
    finally:
        broker.stop()


async def test_tls(tmp_path: Path) -> None:
    broker = Broker(tmp_path, tls=True)
    broker.start()
    try:
        mqtt = settings(broker, tls=True, ca_file=broker.ca_file)
        async with bridged(mqtt) as bridge:
            assert bridge.connected.is_set()
        missing = settings(broker, tls=True, ca_file=tmp_path / "nowhere.crt")
        with pytest.raises(BadInput, match="cannot use the TLS files named in"):
            async with bridged(missing):
                pass
    finally:
        broker.stop()


async def test_two_bridges_share_a_broker_without_meeting(broker: Broker) -> None:
    one = settings(broker, node="room1")
    two = settings(broker, node="room2")
    desk_one = DeskEntry("office", "sim://one?speed=50", 720.0, 1100.0)
    desk_two = DeskEntry("office", "sim://two?speed=50", 720.0, 1100.0)
    async with (
        listening(broker) as (client, inbox),
        bridged(one, desk_one) as first,
        bridged(two, desk_two) as second,
    ):
        for node in ("room1", "room2"):
            found = await inbox.wait_for(f"homeassistant/device/deskctl_{node}_office/config")
            assert found.json()["dev"]["ids"] == [f"deskctl_{node}_office"]
        await client.publish("deskctl/room2/office/cmd", "stand")
        await inbox.wait_for("deskctl/room2/office/state", at_rest_near(1100.0), within_s=30)
        still = first.nodes["office"].desk
        moved = second.nodes["office"].desk
        assert still is not None
        assert moved is not None
        assert still.state.height_mm == pytest.approx(720.0, abs=1)
        assert moved.state.height_mm == pytest.approx(1100.0, abs=1)


# -- safety on a shared broker ----------------------------------------------------------------

HEIGHT_SET = "deskctl/room1/office/height/set"


class LogWatch(logging.Handler):
    """The bridge's log lines, and a way to await one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.arrived.set()

    async def wait_for(self, part: str, within_s: float = 10.0) -> str:
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in self.lines if part in line)
            return bool(found)

        await self.until(seen, within_s)
        return found[0]

    async def until(self, done: Callable[[], bool], within_s: float = 10.0) -> None:
        async with asyncio.timeout(within_s):
            while not done():
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
def bridge_log() -> Iterator[LogWatch]:
    watch = LogWatch()
    logger = logging.getLogger("deskctl.serve")
    logger.addHandler(watch)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield watch
    logger.removeHandler(watch)
    logger.setLevel(level)


async def test_rearming_a_desk_that_hit_something_needs_remote_moves(broker: Broker) -> None:
    collided = DeskEntry("office", "sim://office?speed=50&obstacle=900mm", 720.0, 1100.0)
    mqtt = settings(broker, remote_moves=False)
    async with listening(broker) as (client, inbox), bridged(mqtt, collided) as bridge:
        await inbox.wait_for(STATE)
        node = bridge.nodes["office"]
        assert node.desk is not None
        with contextlib.suppress(DeskctlError):
            await node.desk.move_to(1100.0)  # a local move runs into the obstacle
        await inbox.wait_for(STATE, lambda s: s.json()["fault"] == "collision")
        await client.publish(CMD, "stop")
        refused = await inbox.wait_for(EVENT, about("stop"))
        assert "re-arm" in refused.json()["reason"]
        assert node.desk.state.fault is not None  # still latched: it stays put
        node.mqtt = dataclasses.replace(node.mqtt, remote_moves=True)
        await client.publish(CMD, "stop")  # with remote moves on, stop re-arms it
        await inbox.wait_for(STATE, lambda s: s.json()["fault"] is None)


async def test_a_warning_when_remote_moves_are_open_to_anyone(
    broker: Broker, bridge_log: LogWatch
) -> None:
    async with bridged(settings(broker, remote_moves=False)):
        pass
    assert not any("remote moves are on" in line for line in bridge_log.lines)
    async with bridged(settings(broker)):
        warning = await bridge_log.wait_for("remote moves are on")
    assert "no login and no TLS" in warning
    assert "ACL" in warning


async def test_a_retained_command_sent_while_the_bridge_runs_is_refused(broker: Broker) -> None:
    async with listening(broker) as (client, inbox), bridged(settings(broker)) as bridge:
        await inbox.wait_for(STATE)
        await client.publish(CMD, "stand", retain=True)
        refused = await inbox.wait_for(EVENT, about("stand"))
        assert "never retained" in refused.json()["reason"]
        await client.publish(CMD, "", retain=True)  # the broker forgets it
        desk = bridge.nodes["office"].desk
        assert desk is not None
        assert not desk.state.moving
        assert desk.state.height_mm == pytest.approx(720.0, abs=1)


async def test_refused_commands_do_not_use_up_the_move_allowance(broker: Broker) -> None:
    async with (
        listening(broker) as (client, inbox),
        bridged(settings(broker, moves_per_minute=1)),
    ):
        await inbox.wait_for(STATE)
        junk = [(HEIGHT_SET, "10"), (HEIGHT_SET, "10"), (HEIGHT_SET, "10"), (CMD, "preset_9")]
        junk += [(CMD, "confirm")]  # no prompt is waiting
        for topic, payload in junk:
            await client.publish(topic, payload)
        await inbox.until(lambda: len(inbox.on(EVENT)) == len(junk))
        assert not any("too many moves" in e.json()["reason"] for e in inbox.on(EVENT))
        await client.publish(HEIGHT_SET, "100")  # the allowance is whole: this one moves
        await inbox.wait_for(STATE, at_rest_near(1000.0), within_s=30)


async def test_answers_with_no_prompt_waiting_are_refused(broker: Broker) -> None:
    async with listening(broker) as (client, inbox), bridged(settings(broker)):
        await inbox.wait_for(STATE)
        for answer in ("confirm", "snooze", "skip"):
            await client.publish(CMD, answer)
            refused = await inbox.wait_for(EVENT, about(answer))
            assert "no prompt is waiting" in refused.json()["reason"]


async def test_a_flood_of_junk_is_one_log_line_a_window_and_one_event_each(
    broker: Broker, bridge_log: LogWatch
) -> None:
    flood = 500
    window = RefusalLog(window_s=0.3)
    async with listening(broker) as (client, inbox), bridged(settings(broker), refusals=window):
        await inbox.wait_for(STATE)
        for n in range(flood):
            await client.publish(CMD, f"junk{n}")
        await inbox.until(lambda: len(inbox.on(EVENT)) == flood, within_s=30)

        def summaries() -> list[str]:
            return [line for line in bridge_log.lines if "more commands in the last" in line]

        def counted() -> int:
            return sum(int(line.split()[1]) for line in summaries())

        await bridge_log.until(lambda: counted() == flood - 1)
    refusals = [line for line in bridge_log.lines if "refused" in line]
    assert refusals[0].startswith("office: refused cmd 'junk0': unknown command")
    assert refusals[1:] == summaries()  # the first, then one summary a window
    assert "(office: " in refusals[1]
    assert "junk499" in refusals[-1]


# -- rough edges ------------------------------------------------------------------------------


async def test_standing_today_grows_while_the_person_stands(broker: Broker) -> None:
    # A Wednesday morning, inside the schedule's working hours: postures are recorded.
    morning = dt.datetime(2026, 12, 2, 10, 0, tzinfo=local_timezone()).timestamp()
    clock = EpochClock(starting_at=morning)
    async with (
        listening(broker) as (client, inbox),
        bridged(settings(broker), clock=clock, standing_tick_s=0.05),
    ):
        await inbox.wait_for(STATE)
        await client.publish(CMD, "stand")
        await inbox.wait_for(STATE, at_rest_near(1100.0), within_s=30)
        assert clock.offset is not None
        clock.offset += 600  # ten minutes of standing, without a sit to end it
        standing = await inbox.wait_for(STATE, lambda s: s.json()["standing_today_min"] >= 9.9)
        assert standing.json()["posture"] == "standing"


async def test_a_second_bridge_with_the_same_node_stops_with_a_clear_error(
    broker: Broker,
) -> None:
    other = DeskEntry("hall", "sim://hall?speed=50", 720.0, 1100.0)
    async with listening(broker, "deskctl/room1/status") as (_, inbox), bridged(settings(broker)):
        with pytest.raises(SameNode, match="another bridge with node 'room1' is connected"):
            async with bridged(settings(broker), other):
                pass
        mark = len(inbox.messages)
        async with listening(broker, "deskctl/room1/status") as (_, later):
            status = await later.wait_for("deskctl/room1/status")
        assert status.payload == "online"  # the first one was left alone
        assert all(seen.payload == "online" for seen in inbox.messages[mark:])


async def test_a_status_left_online_by_a_bridge_that_is_gone_does_not_stop_the_next(
    broker: Broker,
) -> None:
    async with broker.client() as ghost:  # said online, then vanished without a will
        await ghost.publish("deskctl/room1/status", "online", qos=1, retain=True)
    async with bridged(settings(broker), same_node_wait_s=0.2) as bridge:
        assert bridge.connected.is_set()


async def test_tls_with_a_certificate_that_does_not_verify_is_refused(tmp_path: Path) -> None:
    broker = Broker(tmp_path, tls=True)
    broker.start()
    try:
        untrusted = settings(broker, tls=True)  # the system's CAs, which never signed it
        with pytest.raises(CertificateRefused, match="certificate that does not verify"):
            async with bridged(untrusted):
                pass
    finally:
        broker.stop()


async def test_a_broker_that_will_not_take_the_bridges_messages_is_said(
    tmp_path: Path, bridge_log: LogWatch
) -> None:
    acl = "user desk\ntopic read deskctl/#\ntopic read homeassistant/#\n"  # no writing
    broker = Broker(tmp_path, users={"desk": "s3cret"}, acl=acl)
    broker.start()
    try:
        mqtt = settings(broker, username="desk", password="s3cret")
        async with bridged(mqtt, same_node_wait_s=0.2):
            line = await bridge_log.wait_for("the broker refused a message from the bridge")
        assert "(Not authorized)" in line
        assert "write deskctl/room1/# and homeassistant/# in the broker's ACL" in line
    finally:
        broker.stop()


async def test_a_broker_that_refuses_the_bridges_subscriptions_is_said(
    tmp_path: Path, bridge_log: LogWatch
) -> None:
    everything = [
        {"acltype": kind, "topic": "#", "allow": True}
        for kind in ("publishClientSend", "publishClientReceive")
    ]
    broker = Broker(tmp_path, anonymous_acls=everything)  # and no subscribing
    broker.start()
    try:
        async with bridged(settings(broker)):
            line = await bridge_log.wait_for("refused the bridge's subscription to")
        assert "deskctl/room1/+/cmd (Not authorized): commands will not arrive" in line
        assert "cannot tell whether another bridge has its node" in "\n".join(bridge_log.lines)
    finally:
        broker.stop()


# -- the command ------------------------------------------------------------------------------


def serve(
    broker: Broker, home: Path, url: str = DESK, *args: str, mqtt: str = ""
) -> subprocess.Popen[str]:
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[desks.office]\nurl = "{url}"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nnode = "room1"\n{mqtt}'
    )
    return start_deskctl({**os.environ, "DESKCTL_CONFIG": str(config)}, "serve", *args)


def start_deskctl(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "deskctl", *args],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent,
    )


async def test_deskctl_serve_says_goodbye_and_leaves_a_will(
    broker: Broker, isolated_home: Path
) -> None:
    async with listening(broker, "deskctl/room1/status") as (_, inbox):
        process = serve(broker, isolated_home)
        await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "online")
        process.send_signal(signal.SIGTERM)  # a clean stop says offline itself
        await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "offline")
        assert process.wait(timeout=10) == 0
        stderr = process.stderr.read() if process.stderr else ""
        assert "connected to the broker" in stderr

    async with listening(broker, "deskctl/room1/status") as (_, inbox):
        process = serve(broker, isolated_home)
        await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "online")
        process.kill()  # no goodbye: the broker sends the last will
        process.wait()
        await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "offline")


async def test_sigterm_mid_move_leaves_the_state_at_rest_before_offline(
    broker: Broker, isolated_home: Path
) -> None:
    async with listening(broker, "deskctl/room1/#") as (client, inbox):
        process = serve(broker, isolated_home, "sim://office", mqtt="remote_moves = true\n")
        await inbox.wait_for("deskctl/room1/office/availability", lambda s: s.payload == "online")
        await client.publish(CMD, "stand")  # about ten seconds of travel at the desk's speed
        await inbox.wait_for(STATE, lambda s: s.json()["moving"] and s.json()["height_mm"] > 750)
        process.send_signal(signal.SIGTERM)
        offline = await inbox.wait_for("deskctl/room1/status", lambda s: s.payload == "offline")
        assert await asyncio.to_thread(process.wait, 30) == 0
        before = inbox.messages[: inbox.messages.index(offline)]
        last = [seen for seen in before if seen.topic == STATE][-1].json()
        assert not last["moving"]
        assert 750.0 < last["height_mm"] < 1100.0  # stopped where it was
    async with listening(broker, STATE) as (_, later):
        assert not (await later.wait_for(STATE)).json()["moving"]


async def test_serve_verbose_logs_topics_and_sizes_never_secrets(
    broker: Broker, isolated_home: Path
) -> None:
    login = 'username = "desk"\npassword = "pw-84736251"\n'
    async with listening(broker, "deskctl/room1/#") as (client, inbox):
        process = serve(broker, isolated_home, DESK, "-v", mqtt=login)
        await inbox.wait_for("deskctl/room1/office/availability", lambda s: s.payload == "online")
        await client.publish(CMD, "jump")
        await inbox.wait_for(EVENT, about("jump"))  # it arrived
        process.terminate()
        assert await asyncio.to_thread(process.wait, 30) == 0
    stderr = process.stderr.read() if process.stderr else ""
    assert "received deskctl/room1/office/cmd (4 bytes)" in stderr
    assert "publish deskctl/room1/office/state (" in stderr
    assert "publish homeassistant/device/deskctl_room1_office/config (" in stderr
    assert "pw-84736251" not in stderr


def serve_with_config(home: Path, text: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``deskctl serve`` run to its end with a config file of ``text``."""
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "deskctl", "serve"],
        env={**os.environ, "DESKCTL_CONFIG": str(config)},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        check=False,
    )
    return config, done


def test_an_unquoted_password_is_never_shown_back(isolated_home: Path) -> None:
    config, done = serve_with_config(
        isolated_home, '[mqtt]\nhost = "127.0.0.1"\nusername = "desk"\npassword = 84736251\n'
    )
    assert done.returncode == 2
    assert "84736251" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"deskctl: {config}, line 4: mqtt.password: must be a string in quotes "
        "(its value is not shown)"
    ]


def test_deskctl_serve_with_a_broken_mqtt_table(isolated_home: Path) -> None:
    config, done = serve_with_config(
        isolated_home, '[mqtt]\nhost = "127.0.0.1"\nkeepalive = "soon"\n'
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"deskctl: {config}, line 3: mqtt.keepalive: must be a whole number from 5 to 3600"
    ]


async def test_serve_is_the_agent_so_commands_and_the_broker_share_the_desk(
    broker: Broker, isolated_home: Path
) -> None:
    async with listening(broker, "deskctl/room1/#") as (client, inbox):
        process = serve(broker, isolated_home, "sim://office?speed=2")  # slow enough to catch
        try:
            await inbox.wait_for(
                "deskctl/room1/office/availability", lambda s: s.payload == "online"
            )
            env = {**os.environ, "DESKCTL_CONFIG": str(isolated_home / "config.toml")}
            local = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "deskctl", "--desk", "office", "move", "105cm"],
                env=env,
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent,
                check=False,
            )
            assert local.returncode == 0, local.stderr  # not "busy": one owner, two faces
            await inbox.wait_for(
                STATE, lambda s: s.json()["height_mm"] == 1050.0 and not s.json()["moving"]
            )
            # A stop from the broker ends a move that a local command started.
            mover = start_deskctl(env, "--desk", "sim://office", "move", "62cm")
            mark = len(inbox.messages)
            await inbox.wait_for(STATE, lambda s: s.json()["moving"], after=mark)
            await client.publish(CMD, "stop")
            assert await asyncio.to_thread(mover.wait, 30) == 130
        finally:
            process.terminate()
            assert await asyncio.to_thread(process.wait, 30) == 0


@pytest.mark.skipif(
    not os.environ.get("DESKCTL_CHECK_HOME_ASSISTANT"),
    reason="a real Home Assistant: set DESKCTL_CHECK_HOME_ASSISTANT=1 (installs it once)",
)
def test_a_real_home_assistant() -> None:
    script = Path(__file__).parent.parent / "scripts" / "check-home-assistant"
    done = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed with Home Assistant" in done.stdout or "skipped" in done.stdout
