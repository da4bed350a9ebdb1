"""A real mosquitto broker for the bridge's tests and benchmark, and a client that listens.

The broker runs as a child process on a free loopback port; ``restart`` brings
it back on the same port with nothing remembered, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DYNAMIC_SECURITY = next(
    (str(p) for p in Path("/usr/lib").glob("*/mosquitto_dynamic_security.so")),
    "/usr/lib/mosquitto_dynamic_security.so",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    users: dict[str, str] | None = None
    """With users, anonymous clients are refused."""
    tls: bool = False
    acl: str | None = None
    """A mosquitto acl_file's text: what each user may read and write (delivery only: the
    acl_file grants every subscription)."""
    anonymous_acls: list[dict[str, Any]] | None = None
    """Rules of mosquitto's dynamic security plugin for anonymous clients, which refuses a
    subscription in its SUBACK; what no rule allows is denied."""
    process: subprocess.Popen[str] | None = None

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    def start(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if self.users else 'true'}",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "set_tcp_nodelay true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to 'mosquitto', who cannot read our files
        if self.users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), user, password], check=True
                )
            lines.append(f"password_file {passwords}")
        if self.anonymous_acls is not None:
            rules = self.folder / "dynamic-security.json"
            rules.write_text(json.dumps(_dynamic_security(self.anonymous_acls)))
            lines += [f"plugin {DYNAMIC_SECURITY}", f"plugin_opt_config_file {rules}"]
        if self.acl is not None:
            acl_file = self.folder / "acl"
            acl_file.write_text(self.acl)
            lines.append(f"acl_file {acl_file}")
        if self.tls:
            self._make_certificates()
            lines += [
                f"cafile {self.ca_file}",
                f"certfile {self.folder / 'server.crt'}",
                f"keyfile {self.folder / 'server.key'}",
            ]
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stderr=subprocess.PIPE, text=True
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:  # the broker says when it listens: no guessing
            if " running" in line:
                return
        raise RuntimeError(f"mosquitto did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, **options: Any) -> aiomqtt.Client:
        return aiomqtt.Client("127.0.0.1", self.port, **options)

    def _make_certificates(self) -> None:
        """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""
        if self.ca_file.exists():
            return
        folder = self.folder

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=deskctl test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        )
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        )
        (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl(
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        )


def _dynamic_security(acls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "anonymous"}]}],
        "roles": [{"rolename": "anonymous", "acls": [{"priority": 0, **acl} for acl in acls]}],
        "anonymousGroup": "anonymous",
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
    }


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: str
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Inbox:
    """Every message a subscriber received, and a way to await the one a test expects."""

    def __init__(self) -> None:
        self.messages: list[Seen] = []
        self._arrived = asyncio.Condition()

    async def collect(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            raw = message.payload
            text = raw.decode(errors="replace") if isinstance(raw, bytes | bytearray) else str(raw)
            async with self._arrived:
                self.messages.append(Seen(message.topic.value, text, message.retain))
                self._arrived.notify_all()

    async def wait_for(
        self,
        topic: str,
        match: Callable[[Seen], bool] = lambda _: True,
        within_s: float = 10.0,
        *,
        after: int = 0,
    ) -> Seen:
        """The first message on ``topic`` from the ``after``-th on (seen already or yet to
        come) that ``match`` accepts."""
        found: list[Seen] = []

        def arrived() -> bool:
            found.extend(
                seen for seen in self.messages[after:] if seen.topic == topic and match(seen)
            )
            return bool(found)

        await self.until(arrived, within_s)
        return found[0]

    async def until(self, done: Callable[[], bool], within_s: float = 10.0) -> None:
        """Wait until ``done()`` holds, checking as each message arrives."""
        async with asyncio.timeout(within_s), self._arrived:
            await self._arrived.wait_for(done)

    def on(self, topic: str) -> list[Seen]:
        return [seen for seen in self.messages if seen.topic == topic]


@contextlib.asynccontextmanager
async def listening(broker: Broker, *filters: str) -> AsyncIterator[tuple[aiomqtt.Client, Inbox]]:
    """A client subscribed to ``filters`` (everything by default), collecting into an inbox."""
    inbox = Inbox()
    async with broker.client() as client:
        await client.subscribe([(topic, 1) for topic in filters or ("#",)])
        task = asyncio.create_task(inbox.collect(client))
        try:
            yield client, inbox
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
