"""``deskctl serve``: simulated desks bridged to a real mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
from deskctl.bridge.serve import Bridge, CredentialsRefused
from deskctl.bridge.topics import BridgeTopics
from deskctl.config import DeskEntry, MqttConfig
from deskctl.errors import BadInput
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
    mqtt: MqttConfig, *desks: DeskEntry, unit: Unit = Unit.CM
) -> AsyncIterator[Bridge]:
    entries = desks or (DeskEntry("office", DESK, 720.0, 1100.0),)
    bridge = Bridge(
        mqtt,
        entries,
        Paths.from_env(),
        unit=unit,
        broker_retry=Backoff(0.05, 0.5),
        desk_retry=Backoff(0.05, 0.5),
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
        assert any("outside this desk's range" in reason for reason in reasons)
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


# -- the command ------------------------------------------------------------------------------


def serve(broker: Broker, home: Path, url: str = DESK) -> subprocess.Popen[str]:
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[desks.office]\nurl = "{url}"\n\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nnode = "room1"\n'
    )
    return start_deskctl({**os.environ, "DESKCTL_CONFIG": str(config)}, "serve")


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


def test_deskctl_serve_with_a_broken_mqtt_table(isolated_home: Path) -> None:
    config = isolated_home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[mqtt]\nhost = "127.0.0.1"\nkeepalive = "soon"\n')
    done = subprocess.run(
        [sys.executable, "-m", "deskctl", "serve"],
        env={**os.environ, "DESKCTL_CONFIG": str(config)},
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        check=False,
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
