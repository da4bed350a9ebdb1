"""Home Assistant MQTT discovery: one retained message makes a desk a device.

The device message (``PREFIX/device/ID/config``) lists every entity as a
component; all of them read the desk's one JSON state topic and are available
only while both the bridge and the desk are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deskctl import __version__
from deskctl.bridge.topics import DeskTopics
from deskctl.model import Capabilities, DeskInfo, Limits
from deskctl.units import Unit, to_unit

STEP = {Unit.MM: 1.0, Unit.CM: 0.5, Unit.IN: 0.25}


@dataclass(frozen=True)
class DeskDescription:
    """What discovery says about a desk: who it is and what it can do."""

    title: str
    info: DeskInfo
    limits: Limits
    capabilities: Capabilities
    profiles: tuple[str, ...]
    unit: Unit


def device_config(topics: DeskTopics, desk: DeskDescription) -> dict[str, Any]:
    uid = topics.unique_id
    state = topics.state

    def entity(platform: str, key: str, name: str, **options: Any) -> dict[str, Any]:
        # qos per component: Home Assistant copies only its shared options (device, origin,
        # availability, state topic) from the device level into each component.
        return {"p": platform, "unique_id": f"{uid}_{key}", "name": name, "qos": 1, **options}

    def reading(template: str) -> dict[str, Any]:
        return {"state_topic": state, "value_template": template}

    def button(key: str, name: str, icon: str) -> dict[str, Any]:
        return entity(
            "button", key, name, command_topic=topics.command("cmd"), payload_press=key, icon=icon
        )

    unit = desk.unit.value
    key = f"height_{unit}"
    components: dict[str, dict[str, Any]] = {
        "height": entity(
            "sensor",
            "height",
            "Height",
            device_class="distance",
            state_class="measurement",
            unit_of_measurement=unit,
            suggested_display_precision=0 if desk.unit is Unit.MM else 1,
            **reading(f"{{{{ value_json.{key} }}}}"),
        ),
        "target": entity(
            "number",
            "target",
            "Move to",
            device_class="distance",
            unit_of_measurement=unit,
            min=round(to_unit(desk.limits.min_mm, desk.unit), 2),
            max=round(to_unit(desk.limits.max_mm, desk.unit), 2),
            step=STEP[desk.unit],
            mode="box",
            command_topic=topics.command("height/set"),
            **reading(f"{{{{ value_json.{key} }}}}"),
        ),
        "moving": entity(
            "binary_sensor",
            "moving",
            "Moving",
            device_class="moving",
            **reading("{{ 'ON' if value_json.moving else 'OFF' }}"),
        ),
        "fault": entity(
            "binary_sensor",
            "fault",
            "Stopped by a fault",
            device_class="problem",
            json_attributes_topic=state,
            json_attributes_template="{{ {'fault': value_json.fault} | tojson }}",
            **reading("{{ 'ON' if value_json.fault else 'OFF' }}"),
        ),
        "posture": entity(
            "sensor",
            "posture",
            "Posture",
            device_class="enum",
            options=["sitting", "standing"],
            icon="mdi:human-handsup",
            **reading("{{ value_json.posture }}"),
        ),
        "next_change": entity(
            "sensor",
            "next_change",
            "Next change of posture",
            device_class="timestamp",
            **reading("{{ value_json.next_change or 'None' }}"),
        ),
        "standing_today": entity(
            "sensor",
            "standing_today",
            "Standing today",
            device_class="duration",
            state_class="total_increasing",
            unit_of_measurement="min",
            **reading("{{ value_json.standing_today_min }}"),
        ),
        "sit": button("sit", "Sit", "mdi:chair-rolling"),
        "stand": button("stand", "Stand", "mdi:human-male-height"),
        "stop": button("stop", "Stop", "mdi:stop"),
    }
    for slot in range(1, desk.capabilities.memory_presets + 1):
        components[f"preset_{slot}"] = button(f"preset_{slot}", f"Preset {slot}", "mdi:numeric")
    if desk.profiles:
        components["profile"] = entity(
            "select",
            "profile",
            "Person at the desk",
            options=list(desk.profiles),
            command_topic=topics.command("profile/set"),
            icon="mdi:account",
            **reading("{{ value_json.profile or 'None' }}"),
        )
    return {
        "dev": {
            "ids": [uid],
            "name": desk.title,
            "mf": desk.info.family,
            "mdl": desk.info.model or desk.info.family,
            **({"sw": desk.info.firmware} if desk.info.firmware else {}),
        },
        "o": {"name": "deskctl", "sw": __version__},
        "avty": [
            {"t": topics.bridge.status},
            {"t": topics.availability},
        ],
        "avty_mode": "all",
        "cmps": components,
    }
