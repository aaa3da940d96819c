"""bumble advertisements as bleak's `AdvertisementData`, the way bleak's OS backends shape it."""

from __future__ import annotations

from bleak.backends.scanner import AdvertisementData
from bleak.uuids import normalize_uuid_str
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement

_T = AdvertisingData.Type

_UUID_LISTS = (
    _T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    _T.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    _T.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA = (
    _T.SERVICE_DATA_16_BIT_UUID,
    _T.SERVICE_DATA_32_BIT_UUID,
    _T.SERVICE_DATA_128_BIT_UUID,
)


def bleak_uuid(uuid: UUID) -> str:
    """bleak's spelling of a UUID: lower-case, always 128-bit."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Translate one (advertising + scan response) report.

    The emulated controller repeats the advertising data as scan response, so structures can
    appear twice; like the OS stacks, later values win and UUID lists hold each UUID once.
    """
    data = advertisement.data
    names = data.get_all(_T.COMPLETE_LOCAL_NAME) or data.get_all(_T.SHORTENED_LOCAL_NAME)
    service_uuids: dict[str, None] = {}
    # bumble types `get_all` per literal type id; looping over ids loses that, so narrow here.
    for list_type in _UUID_LISTS:
        for uuids in data.get_all(list_type):
            if isinstance(uuids, list):
                service_uuids.update((bleak_uuid(u), None) for u in uuids)
    service_data = {
        bleak_uuid(entry[0]): bytes(entry[1])
        for data_type in _SERVICE_DATA
        for entry in data.get_all(data_type)
        if isinstance(entry, tuple) and isinstance(entry[0], UUID) and isinstance(entry[1], bytes)
    }
    manufacturer_data = {
        company: bytes(payload) for company, payload in data.get_all(_T.MANUFACTURER_SPECIFIC_DATA)
    }
    tx_powers = data.get_all(_T.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=names[-1] if names else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=list(service_uuids),
        tx_power=tx_powers[-1] if tx_powers else None,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )
