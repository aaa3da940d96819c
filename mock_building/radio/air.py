"""The shared air between emulated controllers: who hears whom, how loud, and link faults.

bumble's `LocalLink` schedules every advertisement for every controller on the link (with a
thousand doors that fan-out was 83% of a building's CPU) and its controllers report every
advertisement at -50 dBm. This link knows where things are (`geography`) and keeps per-peripheral
air conditions, and applies them where a real radio would:

- an advertisement reaches only attached handhelds that are scanning or initiating and within
  range, at an RSSI that falls with distance (on top of the door's own level, which faults set);
- an advertiser that is out of range or powered off is not heard (so it is neither seen by
  scanners nor connectable, because emulated connections are made on the target's next PDU);
- a door that no listener can hear parks its advertising timer and costs nothing per interval;
  it resumes, on the cadence it would have kept, as soon as a listener in range scans or connects;
- a door may even stay dormant (not powered on) until a listener in range first scans for it:
  `sleep_until_wanted` (a city's thousand power-ons are most of its start-up otherwise);
- links are cut the way a supervision timeout cuts them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable

from bumble import core, hci, ll
from bumble.controller import AdvertisingSet, Controller, LegacyAdvertiser
from bumble.link import LocalLink

from mock_building.radio.geography import Position, heard_rssi

logger = logging.getLogger(__name__)

DEFAULT_RSSI_DBM = -50
"""What a door a few metres away reads; also bumble's fixed report value."""

LINK_LOSS_REASON = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
"""Both ends of a cut link see a supervision timeout, as they would when a radio vanishes."""
CONNECT_FAILED_REASON = hci.HCI_ErrorCode.CONNECTION_FAILED_TO_BE_ESTABLISHED_ERROR
"""What a central whose connect request the advertiser never took sees (after six events)."""


def _same_device(a: hci.Address, b: hci.Address) -> bool:
    """A connect request names its target's bytes; the type qualifier it was typed with may differ."""
    return a.address_bytes == b.address_bytes


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


_PLAIN_SIGHT = AirConditions()


def _parks(advertiser: Quiet) -> bool:
    """Park `advertiser` instead of sending when nobody on the air can hear its controller."""
    link = advertiser.controller.link
    assert isinstance(link, AirLink)
    if not advertiser.enabled or link.has_listener_for(advertiser):
        return False
    advertiser.timer_handle = None
    link.park(advertiser, asyncio.get_running_loop().time())
    return True


def _stopped(advertiser: Quiet) -> None:
    link = advertiser.controller.link
    assert isinstance(link, AirLink)
    link.unpark(advertiser)


@dataclasses.dataclass(eq=False)
class QuietAdvertiser(LegacyAdvertiser):
    """bumble's legacy advertiser, parked while nobody on the air can hear it."""

    __hash__ = object.__hash__

    @property
    def interval_s(self) -> float:
        return self.advertising_interval_min / 1000.0  # bumble's own timer formula

    def _on_timer_fired(self) -> None:
        if not _parks(self):
            super()._on_timer_fired()

    def on_timer(self) -> None:
        self._on_timer_fired()

    def stop(self) -> None:
        super().stop()
        _stopped(self)


@dataclasses.dataclass(eq=False)
class QuietAdvertisingSet(AdvertisingSet):
    """bumble's extended advertising set (what a door's `Device` uses), parked likewise."""

    __hash__ = object.__hash__

    @property
    def interval_s(self) -> float:
        units = self.parameters.primary_advertising_interval_min if self.parameters else 1600
        return max(units * 0.625 / 1000.0, 0.01)  # bumble's own timer formula

    def _on_extended_advertising_timer_fired(self) -> None:
        if not _parks(self):
            super()._on_extended_advertising_timer_fired()

    def on_timer(self) -> None:
        self._on_extended_advertising_timer_fired()

    def stop(self) -> None:
        super().stop()
        _stopped(self)


Quiet = QuietAdvertiser | QuietAdvertisingSet


class PeripheralController(Controller):
    """A door's controller: its advertisers park while nobody can hear them."""

    def __init__(self, name: str, *, link: AirLink, public_address: hci.Address) -> None:
        super().__init__(name, link=link, public_address=public_address)
        self.le_legacy_advertiser = QuietAdvertiser(self)

    def on_hci_le_set_advertising_set_random_address_command(
        self, command: hci.HCI_LE_Set_Advertising_Set_Random_Address_Command
    ) -> hci.HCI_StatusReturnParameters:
        result = super().on_hci_le_set_advertising_set_random_address_command(command)
        self._quiet_sets()
        return result

    def on_hci_le_set_extended_advertising_parameters_command(
        self, command: hci.HCI_LE_Set_Extended_Advertising_Parameters_Command
    ) -> hci.HCI_LE_Set_Extended_Advertising_Parameters_ReturnParameters:
        result = super().on_hci_le_set_extended_advertising_parameters_command(command)
        self._quiet_sets()
        return result

    def _quiet_sets(self) -> None:
        # bumble builds its sets by module-level name; swap each new one for a quiet twin.
        for handle, plain in self.advertising_sets.items():
            if not isinstance(plain, QuietAdvertisingSet):
                values = {f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)}
                self.advertising_sets[handle] = QuietAdvertisingSet(**values)


class CentralController(Controller):
    """A handheld's or a phone's controller: tells the air when it starts listening (scanning or
    connecting), so parked doors in range resume advertising."""

    link: AirLink

    def on_hci_le_set_scan_enable_command(
        self, command: hci.HCI_LE_Set_Scan_Enable_Command
    ) -> hci.HCI_StatusReturnParameters:
        result = super().on_hci_le_set_scan_enable_command(command)
        self.link.listener_changed(self)
        return result

    def on_hci_le_set_extended_scan_enable_command(
        self, command: hci.HCI_LE_Set_Extended_Scan_Enable_Command
    ) -> hci.HCI_StatusReturnParameters:
        result = super().on_hci_le_set_extended_scan_enable_command(command)
        self.link.listener_changed(self)
        return result

    def on_hci_le_create_connection_command(self, command: hci.HCI_LE_Create_Connection_Command) -> None:
        super().on_hci_le_create_connection_command(command)
        self.link.listener_changed(self)

    def on_hci_le_extended_create_connection_command(
        self, command: hci.HCI_LE_Extended_Create_Connection_Command
    ) -> None:
        super().on_hci_le_extended_create_connection_command(command)
        self.link.listener_changed(self)


class AirLink(LocalLink):
    """A `LocalLink` with geography, per-peripheral range and power, and armed link drops.

    Who can hear which door is kept as sets, updated when something moves or a door's level
    changes, so an advertisement costs one look-up per listener in range, not one per controller.
    """

    def __init__(self) -> None:
        super().__init__()
        self._air: dict[str, AirConditions] = {}
        self._by_address: dict[str, Controller] = {}
        self._positions: dict[Controller, Position] = {}
        self._places: dict[str, Position] = {}
        self._peripherals: set[Controller] = set()
        self._listeners: set[Controller] = set()
        """Every controller that is not a door: the attached handhelds."""
        self._hearers: dict[Controller, set[Controller]] = {}
        """Door → the listeners within its range (scanning or not)."""
        self._parked: dict[Quiet, float] = {}
        """Door advertisers parked because nobody could hear them, with the tick they parked at."""
        self._dormant: dict[Controller, Callable[[], None]] = {}
        """Doors not powered on yet, with what powers each on once a listener wants it."""

    # -- who is on the air, and where --------------------------------------------------------

    def add_controller(self, controller: Controller) -> None:
        super().add_controller(controller)
        self._index(controller.public_address, controller)
        if isinstance(controller, PeripheralController):
            self._peripherals.add(controller)
            self._hearers[controller] = {
                listener for listener in self._listeners if self._hears(listener, controller)
            }
        else:
            self._listeners.add(controller)
            self._rehear(controller)

    def remove_controller(self, controller: Controller) -> None:
        super().remove_controller(controller)
        self._by_address = {k: c for k, c in self._by_address.items() if c is not controller}
        self._positions.pop(controller, None)
        self._peripherals.discard(controller)
        self._listeners.discard(controller)
        self._hearers.pop(controller, None)
        self._dormant.pop(controller, None)
        for hearers in self._hearers.values():
            hearers.discard(controller)

    def on_address_changed(self, controller: Controller) -> None:
        self._index(controller.random_address, controller)

    def find_le_controller(self, address: hci.Address) -> Controller | None:
        # bumble scans every controller per ACL packet; with a thousand doors that adds up.
        found = self._by_address.get(address_key(address))
        return found if found in self.controllers else super().find_le_controller(address)

    def _index(self, address: hci.Address, controller: Controller) -> None:
        if address != hci.Address.ANY:
            self._by_address[address_key(address)] = controller

    def position_of(self, controller: Controller) -> Position | None:
        return self._positions.get(controller)

    def add_place(self, name: str, position: Position) -> None:
        """A place handhelds can say they are at (a building id)."""
        self._places[name] = position

    def place(self, controller: Controller, position: Position | None) -> None:
        """Put a door or a handheld at `position` (None: nowhere in particular, hears everything)."""
        if position is None:
            self._positions.pop(controller, None)
        else:
            self._positions[controller] = position
        if controller in self._listeners:
            self._rehear(controller)
            self.listener_changed(controller)
        else:
            self.refresh(controller)

    def place_at(self, controller: Controller, place: str) -> bool:
        """Put a handheld at a named place; False when the radio knows no such place."""
        position = self._places.get(place)
        if position is None:
            return False
        self.place(controller, position)
        return True

    def refresh(self, peripheral: Controller) -> None:
        """Recompute who can hear a door after its position, level or power changed."""
        if peripheral in self._peripherals:
            self._hearers[peripheral] = {
                listener for listener in self._listeners if self._hears(listener, peripheral)
            }
            self._wake([a for a in self._parked if a.controller is peripheral and self.has_listener_for(a)])
            self._wake_dormant([peripheral], self._listeners)

    def _rehear(self, listener: Controller) -> None:
        for peripheral, hearers in self._hearers.items():
            if self._hears(listener, peripheral):
                hearers.add(listener)
            else:
                hearers.discard(listener)

    # -- how loud ----------------------------------------------------------------------------

    def conditions(self, address: hci.Address | str) -> AirConditions:
        """The (mutable) conditions of a peripheral; devices never configured are in plain sight.
        Call `refresh` on its controller after changing its level."""
        return self._air.setdefault(address_key(address), AirConditions())

    def rssi_heard(self, listener: Controller, address: hci.Address) -> int | None:
        """The RSSI `listener` reads for the advertiser at `address`; None if it cannot hear it."""
        air = self._air.get(address_key(address), _PLAIN_SIGHT)
        if not air.audible:
            return None
        assert air.rssi_dbm is not None
        advertiser = self._by_address.get(address_key(address))
        where = self._positions.get(advertiser) if advertiser is not None else None
        return heard_rssi(air.rssi_dbm, where, self._positions.get(listener))

    def _hears(self, listener: Controller, peripheral: Controller) -> bool:
        return self.rssi_heard(listener, peripheral.le_legacy_advertiser.address) is not None

    # -- advertising -------------------------------------------------------------------------

    @staticmethod
    def wants(listener: Controller, address: hci.Address | None) -> bool:
        """Whether `listener` takes an advertisement from `address`: a scanner takes every one, an
        initiator only its target's (real controllers filter that in the link layer; here a
        handheld waiting to connect would otherwise be sent every door in range)."""
        if listener.le_scan_enable:
            return True
        pending = listener.pending_le_connection
        return pending is not None and address is not None and _same_device(pending.peer_address, address)

    def has_listener_for(self, advertiser: Quiet) -> bool:
        address = advertiser.address
        return any(self.wants(listener, address) for listener in self._hearers.get(advertiser.controller, ()))

    @property
    def parked(self) -> int:
        """How many doors cost nothing per interval: every advertiser parked, or still dormant."""
        return len({a.controller for a in self._parked} | self._dormant.keys())

    def sleep_until_wanted(self, peripheral: Controller, wake: Callable[[], None]) -> None:
        """Call `wake` (once, on the loop) when a listener in range of `peripheral` first scans,
        or at once if one already does; meanwhile the door is heard by nobody and costs nothing."""
        self._dormant[peripheral] = wake
        self._wake_dormant([peripheral], self._listeners)

    def _wake_dormant(self, peripherals: list[Controller], listeners: set[Controller]) -> None:
        for peripheral in peripherals:
            address = peripheral.public_address
            if peripheral in self._dormant and any(
                self.wants(listener, address) and self.rssi_heard(listener, address) is not None
                for listener in listeners
            ):
                self._dormant.pop(peripheral)()

    def park(self, advertiser: Quiet, tick: float) -> None:
        self._parked[advertiser] = tick

    def unpark(self, advertiser: Quiet) -> None:
        self._parked.pop(advertiser, None)

    def listener_changed(self, listener: Controller) -> None:
        """A handheld started scanning or initiating, or moved: wake the parked doors it wants."""
        heard = [a for a in self._parked if listener in self._hearers.get(a.controller, ())]
        self._wake([a for a in heard if self.wants(listener, a.address)])
        self._wake_dormant(list(self._dormant), {listener})

    def _wake(self, advertisers: list[Quiet]) -> None:
        """Each fires on the next tick of the cadence it would have kept had it never parked, so
        connect latency stays what the advertising interval makes it."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for advertiser in advertisers:
            tick = self._parked.pop(advertiser)
            if advertiser.enabled and advertiser.timer_handle is None:
                interval = advertiser.interval_s
                tick += max(1, math.ceil((now - tick) / interval)) * interval
                advertiser.timer_handle = loop.call_at(tick, advertiser.on_timer)

    def send_advertising_pdu(self, sender_controller: Controller, packet: ll.AdvertisingPdu) -> None:
        # Advertisements and connect requests both travel on the advertising channels: an
        # inaudible advertiser neither advertises nor accepts a connection.
        # Every PDU bumble 0.0.236 defines names its advertiser; the base class declares none.
        advertiser: hci.Address = packet.advertiser_address  # type: ignore[attr-defined]
        if not self._air.get(address_key(advertiser), _PLAIN_SIGHT).audible:
            return
        loop = asyncio.get_running_loop()
        if isinstance(packet, ll.ConnectInd):
            target = self.find_le_controller(advertiser)
            if target is not None and target is not sender_controller:
                loop.call_soon(self._connect, sender_controller, target, packet)
            return
        hearers = self._hearers.get(sender_controller, self._listeners)
        connecting = False
        for listener in hearers:
            if listener is sender_controller or not self.wants(listener, advertiser):
                continue
            pending = listener.pending_le_connection
            if pending is not None and _same_device(pending.peer_address, advertiser):
                # One connect request per advertising event: of two handhelds at the same free
                # door one connects, the other answers a later event (bumble would connect both).
                if connecting:
                    continue
                connecting = True
            loop.call_soon(listener.on_ll_advertising_pdu, packet)

    @staticmethod
    def _connect(initiator: Controller, advertiser: Controller, packet: ll.ConnectInd) -> None:
        """Deliver a connect request; when the advertiser did not take it, fail the initiator's link.

        Two handhelds answering the same advertisement both believe they connected (bumble's
        initiator completes at once); only the first reaches the door, which then stops
        advertising. A real central would see "failed to be established" after six connection
        events; without this the loser's GATT requests went nowhere until a 30 s timeout.
        """
        advertiser.on_ll_advertising_pdu(packet)
        if packet.initiator_address in advertiser.le_connections:
            return
        if (connection := initiator.le_connections.get(packet.advertiser_address)) is not None:
            initiator.on_le_disconnected(connection, CONNECT_FAILED_REASON)

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
