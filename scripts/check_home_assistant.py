"""A real Home Assistant against ``deskctl serve`` (run by scripts/check-home-assistant).

Starts a mosquitto broker and Home Assistant with the MQTT integration on it (each on a free
loopback port, in a temporary folder), runs ``deskctl serve`` with simulated desks, and
checks through Home Assistant's own REST and websocket API:

* the device and every entity in the discovery message, each with its state and unit;
* a button press and a number set moving the desk, a profile select;
* every entity unavailable when the bridge dies;
* rediscovery after Home Assistant restarts (the broker having forgotten the discovery
  message meanwhile, so only Home Assistant's birth message can bring it back).

It runs in Home Assistant's virtual environment (aiohttp and paho-mqtt come with it) and
starts deskctl from the project's. Exit 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import paho.mqtt.client as paho

NODE = "hacheck"
DESK = "office"
DEVICE_ID = f"deskctl_{NODE}_{DESK}"
DISCOVERY = f"homeassistant/device/{DEVICE_ID}/config"
WITHIN_S = 90.0
"""The longest any one step may take (Home Assistant's start is the slow part)."""

States = dict[str, dict[str, Any]]


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def say(text: str) -> None:
    print(f"check-home-assistant: {text}", flush=True)


# -- the broker -------------------------------------------------------------------------------


class Mosquitto:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false"]
        if os.geteuid() == 0:
            lines.append("user root")
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stderr=subprocess.PIPE, text=True
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:  # it says when it listens
            if " running" in line:
                return
        raise CheckFailed(f"mosquitto did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def forget(self, topic: str) -> None:
        """Drop a retained message, as a broker that restarted without persistence would."""
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
        client.loop_stop()
        client.disconnect()

    def retained(self, topic: str) -> dict[str, Any]:
        """The retained JSON on ``topic``."""
        found: list[bytes] = []
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        client.on_message = lambda _c, _u, message: found.append(message.payload)
        client.connect("127.0.0.1", self.port)
        client.subscribe(topic, qos=1)
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            client.loop(timeout=0.2)
        client.disconnect()
        if not found:
            raise CheckFailed(f"nothing is retained on {topic}")
        payload: dict[str, Any] = json.loads(found[0])
        return payload


# -- deskctl serve ----------------------------------------------------------------------------


class Bridge:
    def __init__(self, deskctl: str, python: str, folder: Path) -> None:
        self.deskctl = deskctl
        home = folder / "deskctl"
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="dk-", dir="/tmp"),
            "DESKCTL_CONFIG": str(home / "config.toml"),
        }
        for variable in ("DESKCTL_DESK", "DESKCTL_PROFILE", "DESKCTL_NO_AGENT"):
            self.env.pop(variable, None)
        self.home = home
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "serve.log"

    def configure(self, broker_port: int) -> None:
        home = self.home
        home.mkdir(parents=True)
        (home / "config.toml").write_text(
            f'[desks.{DESK}]\nurl = "sim://{DESK}?speed=20"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\nnode = "{NODE}"\n'
            "remote_moves = true\n"
        )
        # Two people, so that the device has a select of who is at the desk.
        subprocess.run(
            [
                self.python,
                "-c",
                "from deskctl.paths import Paths\n"
                "from deskctl.profiles.model import Profile\n"
                "from deskctl.profiles.store import ProfileStore\n"
                "store = ProfileStore(Paths.from_env().profiles_dir)\n"
                "store.save(Profile(name='ana', sit=680.0, stand=1050.0))\n"
                "store.save(Profile(name='bob', sit=750.0, stand=1180.0))\n",
            ],
            env=self.env,
            cwd=self.home,  # not the checkout, whose deskctl folder is not the installed one
            check=True,
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.deskctl, "serve"], env=self.env, stdout=log, stderr=log, cwd=self.home
            )

    def kill(self) -> None:
        """Dies without a goodbye: the broker's last will says offline."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


# -- Home Assistant ---------------------------------------------------------------------------


class HomeAssistant:
    def __init__(self, hass: str, folder: Path, broker_port: int) -> None:
        self.hass = hass
        self.config = folder / "home-assistant"
        self.config.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = f"{self.url}/"
        self.broker_port = broker_port
        self.process: asyncio.subprocess.Process | None = None
        self.token = ""
        self.refresh_token = ""
        self.http: aiohttp.ClientSession | None = None
        (self.config / "configuration.yaml").write_text(
            "homeassistant:\n"
            "  name: deskctl check\n"
            "  unit_system: metric\n"
            "  time_zone: UTC\n"
            "  latitude: 0\n"
            "  longitude: 0\n"
            "  elevation: 0\n"
            "http:\n"
            "  server_host: 127.0.0.1\n"
            f"  server_port: {self.port}\n"
            "api:\n"
            "config:\n"
            "onboarding:\n"
            "logger:\n"
            "  default: warning\n"
        )

    async def start(self) -> None:
        with (self.config / "home-assistant.out").open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                self.hass, "--config", str(self.config), "--skip-pip", stdout=out, stderr=out
            )
        self.http = aiohttp.ClientSession()
        deadline = time.monotonic() + WITHIN_S * 2
        while True:  # a server of its own: its API answering is the only sign it is up
            if self.process.returncode is not None:
                raise CheckFailed(f"Home Assistant exited ({self.process.returncode}); {self.out}")
            try:
                async with self.http.get(f"{self.url}/api/onboarding") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise CheckFailed(f"Home Assistant did not answer; {self.out}")
            await asyncio.sleep(0.5)
        await self._log_in()

    @property
    def out(self) -> str:
        return f"see {self.config / 'home-assistant.out'}"

    async def _log_in(self) -> None:
        assert self.http is not None
        if self.refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        else:
            user = {
                "client_id": self.client_id,
                "name": "deskctl",
                "username": "deskctl",
                "password": "deskctl-check",
                "language": "en",
            }
            async with self.http.post(f"{self.url}/api/onboarding/users", json=user) as answer:
                code = (await answer.json())["auth_code"]
            form = {"grant_type": "authorization_code", "code": code}
        form["client_id"] = self.client_id
        async with self.http.post(f"{self.url}/auth/token", data=form) as answer:
            tokens = await answer.json()
        self.token = tokens["access_token"]
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(120):
                await self.process.wait()
            self.process = None

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(
            method, f"{self.url}{path}", json=body, headers=headers
        ) as answer:
            if answer.status >= 400:
                raise CheckFailed(f"{method} {path}: {answer.status} {await answer.text()}")
            return await answer.json()

    async def add_mqtt(self) -> None:
        flow = await self.rest("POST", "/api/config/config_entries/flow", {"handler": "mqtt"})
        while flow.get("type") == "form":
            if flow["step_id"] != "broker":
                raise CheckFailed(f"the MQTT set-up asked for {flow['step_id']!r}")
            broker = {"broker": "127.0.0.1", "port": self.broker_port}
            flow = await self.rest(
                "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", broker
            )
        if flow.get("type") != "create_entry":
            raise CheckFailed(f"the MQTT integration was not set up: {flow}")

    async def states(self) -> States:
        return {state["entity_id"]: state for state in await self.rest("GET", "/api/states")}

    async def ws(self, *commands: dict[str, Any]) -> list[Any]:
        """Each command's result, on one websocket session."""
        assert self.http is not None
        results = []
        async with self.http.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise CheckFailed("the websocket API refused the token")
            for number, command in enumerate(commands, 1):
                await ws.send_json({"id": number, **command})
                answer = await ws.receive_json()
                if not answer.get("success"):
                    raise CheckFailed(f"{command['type']}: {answer}")
                results.append(answer["result"])
        return results

    async def until(self, what: str, done: Callable[[States], bool | Awaitable[bool]]) -> States:
        """The states once ``done`` holds, looked at again on every state change."""
        assert self.http is not None
        changed = asyncio.Event()
        async with self.http.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            await ws.receive_json()
            await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})

            async def listen() -> None:
                async for _ in ws:
                    changed.set()

            listener = asyncio.create_task(listen())
            try:
                async with asyncio.timeout(WITHIN_S):
                    while True:
                        changed.clear()
                        states = await self.states()
                        holds = done(states)
                        if not isinstance(holds, bool):
                            holds = await holds
                        if holds:
                            return states
                        await changed.wait()
            except TimeoutError:
                raise CheckFailed(f"{what}: not within {WITHIN_S:.0f} s") from None
            finally:
                listener.cancel()


# -- the checks -------------------------------------------------------------------------------


class Desk:
    """The device's entities in Home Assistant, by their discovery key."""

    def __init__(self, entities: dict[str, str]) -> None:
        self.entities = entities

    def __getitem__(self, key: str) -> str:
        return self.entities[key]

    def all_unavailable(self, states: States) -> bool:
        return all(states.get(e, {}).get("state") == "unavailable" for e in self.entities.values())

    def all_live(self, states: States) -> bool:
        def live(entity: str) -> bool:
            state = states.get(entity)
            return (
                state is not None
                and state["state"] != "unavailable"
                and not state["attributes"].get("restored")
            )

        return all(live(e) for e in self.entities.values())


def near(states: States, entity: str, value: float, tolerance: float = 0.6) -> bool:
    try:
        return abs(float(states[entity]["state"]) - value) <= tolerance
    except (KeyError, ValueError):
        return False


async def find_desk(ha: HomeAssistant, components: dict[str, Any]) -> Desk:
    async def registered() -> Desk | None:
        devices, entities = await ha.ws(
            {"type": "config/device_registry/list"}, {"type": "config/entity_registry/list"}
        )
        device = next((d for d in devices if ["mqtt", DEVICE_ID] in d["identifiers"]), None)
        if device is None:
            return None
        by_unique_id = {
            e["unique_id"]: e["entity_id"] for e in entities if e["device_id"] == device["id"]
        }
        wanted = {key: c["unique_id"] for key, c in components.items()}
        if not set(wanted.values()) <= set(by_unique_id):
            return None
        return Desk({key: by_unique_id[uid] for key, uid in wanted.items()})

    found: list[Desk] = []

    async def look(_: States) -> bool:
        desk = await registered()
        if desk is not None:
            found.append(desk)
        return desk is not None

    # The registry grows as discovery is taken in, which the entities' states follow.
    await ha.until(f"the device {DEVICE_ID} and its {len(components)} entities", look)
    return found[0]


async def check(hass: str, folder: Path, broker: Mosquitto, bridge: Bridge) -> None:
    ha = HomeAssistant(hass, folder, broker.port)
    try:
        started = time.monotonic()
        await ha.start()
        version = (await ha.rest("GET", "/api/config"))["version"]
        say(f"Home Assistant {version} is up after {time.monotonic() - started:.0f} s")
        await ha.add_mqtt()
        bridge.start()
        components = broker.retained(DISCOVERY)["cmps"]
        desk = await find_desk(ha, components)
        say(f"the device {DEVICE_ID} and all {len(components)} entities are registered")
        await check_states(ha, desk)
        await check_moves(ha, desk)
        await check_gone_and_back(ha, desk, broker, bridge)
        say(f"passed with Home Assistant {version}")
    finally:
        await ha.stop()


async def check_states(ha: HomeAssistant, desk: Desk) -> None:
    states = await ha.until("every entity with a state", desk.all_live)
    units = {"height": "cm", "target": "cm", "standing_today": "min"}
    for key, unit in units.items():
        shown = states[desk[key]]["attributes"].get("unit_of_measurement")
        if shown != unit:
            raise CheckFailed(f"{desk[key]} is in {shown!r}, not {unit!r}")
    for key in ("height", "target"):
        if not near(states, desk[key], 72.0):
            raise CheckFailed(f"{desk[key]} says {states[desk[key]]['state']}, not 72 cm")
    if states[desk["posture"]]["state"] != "sitting":
        raise CheckFailed(f"posture says {states[desk['posture']]['state']}")
    say("each entity has its state and unit (height 72 cm, sitting)")


async def check_moves(ha: HomeAssistant, desk: Desk) -> None:
    await ha.rest("POST", "/api/services/button/press", {"entity_id": desk["stand"]})
    await ha.until(
        "the Stand button moving the desk to 110 cm",
        lambda s: near(s, desk["height"], 110.0) and s[desk["posture"]]["state"] == "standing",
    )
    say("the Stand button moved the desk to 110 cm")

    value = {"entity_id": desk["target"], "value": 80}
    await ha.rest("POST", "/api/services/number/set_value", value)
    await ha.until("the number moving the desk to 80 cm", lambda s: near(s, desk["height"], 80.0))
    say("setting the number to 80 moved the desk to 80 cm")

    option = {"entity_id": desk["profile"], "option": "bob"}
    await ha.rest("POST", "/api/services/select/select_option", option)
    await ha.until("the select taking bob", lambda s: s[desk["profile"]]["state"] == "bob")
    await ha.rest("POST", "/api/services/button/press", {"entity_id": desk["stand"]})
    await ha.until("bob's standing height (118 cm)", lambda s: near(s, desk["height"], 118.0))
    say("selecting bob made Stand go to his height, 118 cm")


async def check_gone_and_back(
    ha: HomeAssistant, desk: Desk, broker: Mosquitto, bridge: Bridge
) -> None:
    await asyncio.to_thread(bridge.kill)
    await ha.until("every entity unavailable once the bridge died", desk.all_unavailable)
    say("every entity is unavailable once the bridge died")

    bridge.start()
    await ha.until("every entity back with the bridge", desk.all_live)
    await ha.stop()
    broker.forget(DISCOVERY)  # only Home Assistant's birth message can bring it back
    started = time.monotonic()
    await ha.start()
    await ha.until("rediscovery after Home Assistant restarted", desk.all_live)
    took = time.monotonic() - started
    say(f"after a restart ({took:.0f} s) Home Assistant found the desk and its states again")


INTEGRATIONS = ("frontend", "mqtt", "api", "config", "onboarding")
"""What the check loads; Home Assistant does not start without its frontend."""


def requirements() -> list[str]:
    """The packages the integrations the check loads ask for, from their manifests."""
    import homeassistant.components

    root = Path(homeassistant.components.__path__[0])
    todo, seen, wanted = list(INTEGRATIONS), set(), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            manifest = json.loads((root / name / "manifest.json").read_text())
            wanted.update(manifest.get("requirements", []))
            todo += manifest.get("dependencies", [])
    return sorted(wanted)


def main() -> int:
    if sys.argv[1:] == ["--requirements"]:
        print("\n".join(requirements()))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deskctl", required=True)
    parser.add_argument("--deskctl-python", required=True)
    parser.add_argument("--hass", default=str(Path(sys.executable).with_name("hass")))
    parser.add_argument("--keep", action="store_true", help="keep the folder with every log")
    args = parser.parse_args()
    # absolute, not resolved: a virtual environment's python is a link to the one it came from
    args.deskctl = str(Path(args.deskctl).absolute())
    args.deskctl_python = str(Path(args.deskctl_python).absolute())
    folder = Path(tempfile.mkdtemp(prefix="deskctl-ha-"))
    started = time.monotonic()
    broker = Mosquitto(folder)
    bridge = Bridge(args.deskctl, args.deskctl_python, folder)
    try:
        broker.start()
        bridge.configure(broker.port)
        asyncio.run(check(args.hass, folder, broker, bridge))
    except CheckFailed as failure:
        say(f"FAILED: {failure} (logs in {folder})")
        return 1
    finally:
        bridge.stop()
        broker.stop()
    say(f"took {time.monotonic() - started:.0f} s")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
