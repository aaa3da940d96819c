"""Advertising a peripheral within real legacy-advertising limits.

bumble's emulator accepts more than real radios do (55 bytes of data, intervals under 20 ms),
so limits are enforced here: a door that works in emulation must fit a real controller too.
The interval matters: an emulated connection completes on the target's next advertising PDU,
so connect latency is about one advertising interval (~1 s at bumble's default, ~30 ms here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bumble.core import UUID, AdvertisingData
from bumble.device import Device

from mock_building.radio.errors import RadioError, RadioErrorReason

LEGACY_ADVERTISING_DATA_MAX = 31
"""Bytes of AD structures one legacy advertising PDU carries."""
MIN_ADVERTISING_INTERVAL_MS = 20.0
MAX_ADVERTISING_INTERVAL_MS = 10_240.0
DEFAULT_ADVERTISING_INTERVAL_MS = 30.0
"""Fast, mains-powered-door advertising: connects in tens of milliseconds."""

_FLAGS_LE_GENERAL_DISCOVERABLE_NO_BR_EDR = bytes([0x06])


def build_advertising_data(
    *,
    local_name: str | None = None,
    service_uuids: Iterable[str] = (),
    service_data: Mapping[str, bytes] | None = None,
) -> bytes:
    """Encode the usual AD structures (flags first, as real peripherals do)."""
    structures: list[tuple[int, bytes]] = [
        (AdvertisingData.Type.FLAGS, _FLAGS_LE_GENERAL_DISCOVERABLE_NO_BR_EDR)
    ]
    by_width: dict[int, list[UUID]] = {}
    for text in service_uuids:
        uuid = UUID(text)
        by_width.setdefault(len(uuid.to_bytes()), []).append(uuid)
    list_types = {
        2: AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        4: AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        16: AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    }
    for width, uuids in sorted(by_width.items()):
        structures.append((list_types[width], b"".join(u.to_bytes() for u in uuids)))
    data_types = {
        2: AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
        4: AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
        16: AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
    }
    for text, payload in (service_data or {}).items():
        uuid = UUID(text)
        structures.append((data_types[len(uuid.to_bytes())], uuid.to_bytes() + bytes(payload)))
    if local_name is not None:
        structures.append((AdvertisingData.Type.COMPLETE_LOCAL_NAME, local_name.encode()))
    return bytes(AdvertisingData(structures))


async def start_advertising(
    device: Device,
    advertising_data: bytes,
    *,
    interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
) -> None:
    """Advertise connectable, restarting after every disconnection (a door never stops)."""
    if len(advertising_data) > LEGACY_ADVERTISING_DATA_MAX:
        raise RadioError(
            RadioErrorReason.ADVERTISING_DATA_TOO_LONG,
            f"{len(advertising_data)} bytes of advertising data; "
            f"legacy advertising carries at most {LEGACY_ADVERTISING_DATA_MAX}",
        )
    if not MIN_ADVERTISING_INTERVAL_MS <= interval_ms <= MAX_ADVERTISING_INTERVAL_MS:
        raise RadioError(
            RadioErrorReason.ADVERTISING_INTERVAL_OUT_OF_RANGE,
            f"advertising interval {interval_ms} ms is outside "
            f"{MIN_ADVERTISING_INTERVAL_MS}-{MAX_ADVERTISING_INTERVAL_MS} ms",
        )
    await device.start_advertising(
        advertising_data=advertising_data,
        advertising_interval_min=interval_ms,
        advertising_interval_max=interval_ms,
        auto_restart=True,
    )
