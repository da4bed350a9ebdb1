"""Connecting to a desk over Bluetooth LE, with errors that say what to do.

Every BLE family connects the same way: find the address with a bounded scan,
connect through bleak-retry-connector (which copes with BlueZ's flaky first
attempts), and turn bleak's and the operating system's failures into deskctl's
typed errors.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from deskctl.errors import DeskNotFound, DeskUnavailable, PairingRequired


async def connect(
    address: str,
    *,
    timeout_s: float,
    on_disconnected: Callable[[BleakClient], None],
    pairing_advice: str,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> BleakClient:
    """A connected client for the device at ``address``, or a typed error within ``timeout_s``.

    ``pairing_advice`` finishes the error a device that wants pairing gets.
    """
    try:
        async with asyncio.timeout(timeout_s):
            scanner: dict[str, Any] = {}
            if scanner_backend is not None:
                scanner["backend"] = scanner_backend
            device = await BleakScanner.find_device_by_address(
                address, timeout=timeout_s, **scanner
            )
            if device is None:
                raise DeskNotFound(
                    f"no desk answers at {address}: check that it is powered, in range "
                    "and not connected to a phone or another computer"
                )
            extra: dict[str, Any] = {}
            if client_backend is not None:
                extra["backend"] = client_backend
            return await establish_connection(
                BleakClient,
                device,
                device.name or address,
                disconnected_callback=on_disconnected,
                max_attempts=2,
                **extra,
            )
    except TimeoutError:
        raise DeskNotFound(
            f"the desk at {address} did not answer within {timeout_s:.0f} s"
        ) from None
    except (BleakError, OSError) as error:
        raise link_error(address, error, pairing_advice) from None


def link_error(address: str, error: BleakError | OSError, pairing_advice: str) -> DeskUnavailable:
    text = str(error)
    if isinstance(error, OSError) and not isinstance(error, TimeoutError):
        # No BlueZ, no D-Bus, no adapter: the operating system has no Bluetooth to offer.
        return DeskUnavailable(f"Bluetooth is not available on this computer ({text})")
    lowered = text.lower()
    if "auth" in lowered or "notpermitted" in lowered or "not permitted" in lowered:
        if sys.platform == "darwin":
            return PairingRequired(
                f"macOS refused Bluetooth for {address}: allow your terminal under System Settings"
                " > Privacy & Security > Bluetooth, then try again"
            )
        return PairingRequired(f"the desk at {address} wants to be paired: {pairing_advice}")
    if "not found" in lowered or "was not found" in lowered:
        return DeskNotFound(f"no desk answers at {address}; is it powered and in range?")
    if "bluetooth" in lowered and (
        "off" in lowered or "unavailable" in lowered or "adapter" in lowered
    ):
        return DeskUnavailable(f"Bluetooth is not available on this computer: {text}")
    return DeskUnavailable(f"cannot connect to the desk at {address}: {text}")
