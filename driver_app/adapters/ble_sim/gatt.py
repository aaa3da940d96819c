"""A peer's GATT database as bleak's service collection, the way bleak's backends build it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bumble.core import UUID
from bumble.device import Peer

from driver_app.adapters.ble_sim.advertisement import bleak_uuid


async def discover_services(
    peer: Peer,
    only: Iterable[str] | None,
    max_write_without_response_size: Callable[[], int],
) -> BleakGATTServiceCollection:
    """Discover services (all, or only those bleak's `services=` named), chars and descriptors.

    Handles are the ATT handles: the service declaration, the characteristic *value* handle
    (the one reads and writes address) and each descriptor's handle, so all are distinct.
    """
    collection = BleakGATTServiceCollection()
    wanted = [UUID(u) for u in only] if only else []
    for service_proxy in await peer.discover_services(wanted):
        service = BleakGATTService(service_proxy, service_proxy.handle, bleak_uuid(service_proxy.uuid))
        collection.add_service(service)
        for char_proxy in await peer.discover_characteristics(service=service_proxy):
            characteristic = BleakGATTCharacteristic(
                char_proxy,
                char_proxy.handle,
                bleak_uuid(char_proxy.uuid),
                sorted(gatt_char_props_to_strs(int(char_proxy.properties))),
                max_write_without_response_size,
                service,
            )
            collection.add_characteristic(characteristic)
            for descriptor_proxy in await peer.discover_descriptors(char_proxy):
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor_proxy,
                        descriptor_proxy.handle,
                        bleak_uuid(descriptor_proxy.type),
                        characteristic,
                    )
                )
    return collection
