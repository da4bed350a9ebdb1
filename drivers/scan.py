"""Find desks nearby: a Bluetooth LE scan, sorted by signal, each result with its desk URL."""

from __future__ import annotations

from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from deskctl.drivers import jiecang_codec, linak_codec
from deskctl.errors import DeskUnavailable

# Advertised service UUID -> desk URL scheme.
BLE_FAMILIES: dict[str, str] = {
    linak_codec.SERVICE_CONTROL: "linak",
    **{variant.service: "jiecang-ble" for variant in jiecang_codec.BLE_VARIANTS},
}


@dataclass(frozen=True)
class FoundDesk:
    name: str
    address: str
    rssi: int
    family: str

    @property
    def url(self) -> str:
        return f"{self.family}://{self.address}"


async def scan(
    timeout_s: float = 5.0, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[FoundDesk]:
    """Listen for ``timeout_s`` seconds and return the desks of every supported BLE family."""
    try:
        if scanner_backend is None:
            seen = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
        else:
            seen = await BleakScanner.discover(
                timeout=timeout_s, return_adv=True, backend=scanner_backend
            )
    except (BleakError, OSError) as error:
        raise DeskUnavailable(f"cannot scan: Bluetooth is not available here ({error})") from None
    desks = []
    for device, advertisement in seen.values():
        for uuid in advertisement.service_uuids:
            family = BLE_FAMILIES.get(uuid.lower())
            if family is not None:
                name = advertisement.local_name or device.name or ""
                desks.append(FoundDesk(name, device.address, advertisement.rssi, family))
                break
    return sorted(desks, key=lambda desk: -desk.rssi)
