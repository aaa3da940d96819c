"""Driver-app attachments: one fresh emulated controller per accepted H4-over-TCP connection.

A driver app process opens bumble's `tcp-client:HOST:PORT` transport and runs its own host
stack; this side plays the controller. Each accepted connection gets its own controller on the
shared air, so several apps can attach at once and re-attach after one exits. When the TCP
connection closes (clean exit or kill) the controller's links are cut, as a supervision timeout
would, so the doors see a disconnect and advertise again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Sequence
from typing import TypeVar

from bumble import core, hci
from bumble.transport.common import PacketParser, StreamPacketSink

from mock_building.radio.air import AirLink, CentralController
from mock_building.radio.geography import SENSITIVITY_DBM
from protocol.sim_air import PLACE_HANDHELD_OPCODE, STATUS_PLACED, STATUS_UNKNOWN_PLACE, decode_place

_Report = TypeVar(
    "_Report", hci.HCI_LE_Advertising_Report_Event.Report, hci.HCI_LE_Extended_Advertising_Report_Event.Report
)

logger = logging.getLogger(__name__)


class AttachedController(CentralController):
    """The controller an attached app talks to: a handheld somewhere on the map.

    Its scan reports carry the RSSI heard where it stands, rewritten here, per report and per
    receiving controller, because that is where a real receiver measures it. It answers the
    emulation-only "place handheld" vendor command (`protocol.sim_air`).
    """

    link: AirLink

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
            packet = hci.HCI_LE_Advertising_Report_Event(reports=self._with_rssi(packet.reports))
        elif isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            packet = hci.HCI_LE_Extended_Advertising_Report_Event(reports=self._with_rssi(packet.reports))
        super().send_hci_packet(packet)

    def _with_rssi(self, reports: Sequence[_Report]) -> list[_Report]:
        return [dataclasses.replace(r, rssi=self._heard(r.address)) for r in reports]

    def _heard(self, address: hci.Address) -> int:
        rssi = self.link.rssi_heard(self, address)
        return SENSITIVITY_DBM if rssi is None else rssi  # moved out of range since it was sent

    def on_hci_command_packet(self, command: hci.HCI_Command) -> None:
        if command.op_code != PLACE_HANDHELD_OPCODE:
            super().on_hci_command_packet(command)
            return
        place = decode_place(bytes(command.parameters or b""))
        placed = place is not None and self.link.place_at(self, place)
        self.send_hci_packet(
            hci.HCI_Command_Complete_Event(
                num_hci_command_packets=1,
                command_opcode=command.op_code,
                return_parameters=hci.HCI_StatusReturnParameters(
                    hci.HCI_ErrorCode(STATUS_PLACED if placed else STATUS_UNKNOWN_PLACE)
                ),
            )
        )

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel a pending connect as a real controller does (Vol 4, Part E, 7.8.13).

        bumble's emulator acknowledges the cancel but neither drops the pending connection nor
        reports its end, so a connect that timed out (door out of range) would hang the host
        and block every later connect.
        """
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # After the Command Complete this handler's return value produces, as the spec orders.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class _Attachment(asyncio.Protocol):
    """One TCP connection speaking H4 HCI to its own `AttachedController`."""

    def __init__(self, server: AttachServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self.controller: AttachedController | None = None
        self._parser: PacketParser | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.controller = self._server.new_controller()
        self.controller.host = StreamPacketSink(transport)
        self._parser = PacketParser(self.controller)
        self._server.attachments.add(self)
        self._server.changed.set()
        logger.info("app attached as %s", self.controller.name)

    def data_received(self, data: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.feed_data(data)
        except core.InvalidPacketError:
            logger.warning("garbage on an HCI attachment; dropping it")
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.detach()

    def detach(self) -> None:
        """Take this app's controller off the air; idempotent."""
        self._server.attachments.discard(self)
        self._server.changed.set()
        if self.controller is None:
            return
        controller, self.controller = self.controller, None
        controller.host = None
        self._server.link.silence(controller)
        logger.info("app detached from %s", controller.name)

    def close(self) -> None:
        self.detach()
        if self._transport is not None:
            self._transport.close()


class AttachServer:
    """Accepts app attachments on a TCP port and hands each a controller on `link`."""

    def __init__(self, link: AirLink) -> None:
        self.link = link
        self.attachments: set[_Attachment] = set()
        self.changed = asyncio.Event()
        """Set (and cleared by whoever waits) whenever an app attaches or detaches."""
        self._server: asyncio.Server | None = None
        self._serial = itertools.count(1)

    def new_controller(self) -> AttachedController:
        serial = next(self._serial)
        # A distinct public address per attachment keeps the link's address lookups unambiguous.
        public = hci.Address(f"00:00:00:00:{serial >> 8 & 0xFF:02X}:{serial & 0xFF:02X}/P")
        return AttachedController(f"app-{serial}", link=self.link, public_address=public)

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (pass 0 to let the OS pick one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Attachment(self), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for attachment in list(self.attachments):
            attachment.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
