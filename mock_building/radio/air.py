"""The shared air between emulated controllers: who hears whom, how loud, and link faults.

bumble's `LocalLink` delivers every PDU to every controller and its controllers report every
advertisement at -50 dBm. A real phone walks in and out of range of a door, so this link keeps
per-peripheral air conditions and applies them where a real radio would: an advertiser that is
out of range or powered off is not heard (so it is neither seen by scanners nor connectable,
because emulated connections are made on the target's next advertising PDU), and links are cut
the way a supervision timeout cuts them.
"""

from __future__ import annotations

import dataclasses
import logging

from bumble import core, hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink

logger = logging.getLogger(__name__)

DEFAULT_RSSI_DBM = -50
"""What a door a few metres away reads; also bumble's fixed report value."""

LINK_LOSS_REASON = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
"""Both ends of a cut link see a supervision timeout, as they would when a radio vanishes."""


def address_key(address: hci.Address | str) -> str:
    """One spelling per device address, whatever its address type qualifier."""
    if isinstance(address, str):
        address = hci.Address(address)
    return address.to_string(with_type_qualifier=False)


@dataclasses.dataclass
class AirConditions:
    """How one peripheral is heard right now."""

    rssi_dbm: int | None = DEFAULT_RSSI_DBM
    """None means out of range."""
    powered: bool = True
    drop_after_packets: int | None = None
    """Cut the links after this many more ACL packets arrive at the peripheral."""

    @property
    def audible(self) -> bool:
        return self.powered and self.rssi_dbm is not None


class AirLink(LocalLink):
    """A `LocalLink` that honours per-peripheral range, power and armed link drops."""

    def __init__(self) -> None:
        super().__init__()
        self._air: dict[str, AirConditions] = {}

    def conditions(self, address: hci.Address | str) -> AirConditions:
        """The (mutable) conditions of a peripheral; devices never configured are in plain sight."""
        return self._air.setdefault(address_key(address), AirConditions())

    def rssi_of(self, address: hci.Address) -> int:
        """The RSSI a scanner reads for an advertiser it could hear."""
        rssi = self._air.get(address_key(address), AirConditions()).rssi_dbm
        return DEFAULT_RSSI_DBM if rssi is None else rssi

    def _audible(self, address: hci.Address) -> bool:
        air = self._air.get(address_key(address))
        return air is None or air.audible

    def send_advertising_pdu(self, sender_controller: Controller, packet: ll.AdvertisingPdu) -> None:
        # Advertisements and connect requests both travel on the advertising channels: an
        # inaudible advertiser neither advertises nor accepts a connection.
        # Every PDU bumble 0.0.236 defines names its advertiser, but the base class declares none.
        advertiser = getattr(packet, "advertiser_address", None)
        if isinstance(advertiser, hci.Address) and not self._audible(advertiser):
            return
        super().send_advertising_pdu(sender_controller, packet)

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        air = self._air.get(address_key(destination_address))
        if air is not None and air.drop_after_packets is not None:
            if air.drop_after_packets <= 0:
                air.drop_after_packets = None
                if (peripheral := self.find_le_controller(destination_address)) is not None:
                    self.sever(peripheral)
                return
            air.drop_after_packets -= 1
        super().send_acl_data(sender_controller, destination_address, transport, data)

    def sever(self, controller: Controller, reason: int = LINK_LOSS_REASON) -> int:
        """Cut every LE link of `controller`, telling both ends; returns how many were cut.

        Needed because bumble's emulated controllers never time a link out: without this a
        vanished driver app leaves its door "connected" and silent forever.
        """
        connections = list(controller.le_connections.values())
        for connection in connections:
            peer = self.find_le_controller(connection.peer_address)
            if (
                peer is not None
                and peer is not controller
                and (peer_connection := peer.le_connections.get(connection.self_address)) is not None
            ):
                peer.on_le_disconnected(peer_connection, reason)
            controller.on_le_disconnected(connection, reason)
        if connections:
            logger.info("cut %d link(s) of %s", len(connections), controller.name)
        return len(connections)

    def silence(self, controller: Controller) -> None:
        """Stop a controller's advertising timers and take it off the air for good."""
        controller.le_legacy_advertiser.stop()
        for advertising_set in controller.advertising_sets.values():
            advertising_set.stop()
        self.sever(controller)
        if controller in self.controllers:
            self.remove_controller(controller)
