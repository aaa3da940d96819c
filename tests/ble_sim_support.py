"""A small test peripheral on the virtual radio, and helpers shared by the ble_sim tests.

The peripheral is a real bumble GATT server: a readable characteristic, a writable one that
records each complete value it receives (and refuses some with an ATT error), a notify+indicate one, and advertising with a service
UUID and service data (within the 31 bytes legacy advertising allows).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bumble.att import ATT_Error, ErrorCode
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from mock_building.radio import VirtualRadio, build_advertising_data, start_advertising

SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
OTHER_SERVICE = "7e400001-b5a3-f393-e0a9-e50e24dcca9e"
READ_CHAR = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
WRITE_CHAR = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
NOTIFY_CHAR = "6e400004-b5a3-f393-e0a9-e50e24dcca9e"
INDICATE_CHAR = "6e400005-b5a3-f393-e0a9-e50e24dcca9e"
SERVICE_DATA_UUID = "fee0"
SERVICE_DATA_UUID_BLEAK = "0000fee0-0000-1000-8000-00805f9b34fb"
REJECTED_PREFIX = b"\xff"
"""Writes starting with this are refused with an ATT error, as a door refuses a bad request."""
DOOR_A = "F0:00:00:00:00:0A"
DOOR_B = "F0:00:00:00:00:0B"


@dataclass
class TestPeripheral:
    """A door stand-in: what it serves, what it received, and its link events."""

    __test__ = False  # not a pytest test class

    device: Device
    address: str
    read_value: bytes
    writes: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    connections: asyncio.Queue[Connection] = field(default_factory=asyncio.Queue)
    disconnections: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    notify: Characteristic | None = None
    indicate: Characteristic | None = None

    async def send_notification(self, value: bytes) -> None:
        assert self.notify is not None
        await self.device.notify_subscribers(self.notify, value)

    async def send_indication(self, value: bytes) -> None:
        """Returns once the subscriber confirmed the indication."""
        assert self.indicate is not None
        await self.device.indicate_subscribers(self.indicate, value)


async def add_test_peripheral(
    radio: VirtualRadio,
    name: str,
    address: str,
    *,
    service: str = SERVICE,
    service_data: bytes = b"\x01\x02\x03\x04",
    max_mtu: int | None = None,
) -> TestPeripheral:
    device = radio.add_peripheral(name, address)
    peripheral = TestPeripheral(device=device, address=address, read_value=f"hello from {name}".encode())

    def on_write(connection: Connection, value: bytes) -> None:
        if value.startswith(REJECTED_PREFIX):
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
        peripheral.writes.put_nowait(bytes(value))

    notify = Characteristic(
        NOTIFY_CHAR,
        Characteristic.Properties.NOTIFY | Characteristic.Properties.INDICATE,
        Characteristic.READABLE,
        b"",
    )
    indicate = Characteristic(INDICATE_CHAR, Characteristic.Properties.INDICATE, Characteristic.READABLE, b"")
    peripheral.notify, peripheral.indicate = notify, indicate
    device.add_service(
        Service(
            service,
            [
                Characteristic(
                    READ_CHAR, Characteristic.Properties.READ, Characteristic.READABLE, peripheral.read_value
                ),
                Characteristic(
                    WRITE_CHAR,
                    Characteristic.Properties.WRITE,
                    Characteristic.WRITEABLE,
                    CharacteristicValue(write=on_write),
                ),
                notify,
                indicate,
            ],
        )
    )
    if max_mtu is not None:
        device.gatt_server.max_mtu = max_mtu

    def on_connection(connection: Connection) -> None:
        peripheral.connections.put_nowait(connection)
        connection.on(Connection.EVENT_DISCONNECTION, peripheral.disconnections.put_nowait)

    device.on(Device.EVENT_CONNECTION, on_connection)
    await device.power_on()
    await start_advertising(
        device,
        build_advertising_data(service_uuids=[service], service_data={SERVICE_DATA_UUID: service_data}),
    )
    return peripheral
