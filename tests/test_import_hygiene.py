"""Layer rules: only the TUI imports textual; the simulated desk loads no radio or serial code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
CORE_AND_DRIVERS = [
    "deskctl",
    "deskctl.units",
    "deskctl.model",
    "deskctl.physics",
    "deskctl.motion",
    "deskctl.desk",
    "deskctl.config",
    "deskctl.cli",
    "deskctl.drivers.registry",
    "deskctl.drivers.sim",
    "deskctl.profiles",
    "deskctl.profiles.store",
    "deskctl.profiles.recommend",
]


def loaded_after_importing(modules: list[str]) -> set[str]:
    code = (
        "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print(' '.join(sys.modules))"
    )
    # Run from the tests folder: the checkout's top folder would shadow the installed package.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=HERE
    )
    return set(result.stdout.split())


def test_core_and_drivers_never_import_textual() -> None:
    loaded = loaded_after_importing(CORE_AND_DRIVERS)
    assert not {m for m in loaded if m.split(".")[0] == "textual"}


def test_the_simulated_desk_needs_no_bluetooth_serial_or_mqtt() -> None:
    loaded = {m.split(".")[0] for m in loaded_after_importing(CORE_AND_DRIVERS)}
    assert not loaded & {"bleak", "bumble", "serial", "serial_asyncio_fast", "aiomqtt", "rich"}


def test_only_the_bridge_imports_the_mqtt_client() -> None:
    loaded = loaded_after_importing([*CORE_AND_DRIVERS, "deskctl.tui.app", "deskctl.cli_policy"])
    assert "aiomqtt" not in {m.split(".")[0] for m in loaded}
    assert "aiomqtt" in loaded_after_importing(["deskctl.bridge.serve"])


def test_the_interface_paints_before_loading_the_schedule_profiles_or_history() -> None:
    # Everything `deskctl` imports until the app runs: what waits for the first paint.
    code = (
        "import sys\n"
        "from deskctl.tui.app import DeskApp\n"
        "async def run_async(self): print(' '.join(sys.modules))\n"
        "DeskApp.run_async = run_async\n"
        "from deskctl.cli import main\n"
        "main(['--desk', 'sim://hygiene'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=HERE
    )
    loaded = set(result.stdout.split())
    assert "deskctl.tui.app" in loaded
    later = {"pydantic", "sqlite3", "deskctl.policy.engine", "deskctl.profiles.model"}
    assert not loaded & later
    assert not {m for m in loaded if m.startswith(("deskctl.notify", "desktop_notifier"))}


def test_desktop_notifications_load_only_when_a_prompt_is_shown() -> None:
    loaded = loaded_after_importing(
        [*CORE_AND_DRIVERS, "deskctl.tui.app", "deskctl.cli_policy", "deskctl.notify"]
    )
    assert not {m.split(".")[0] for m in loaded} & {"desktop_notifier", "dbus_fast"}
