"""Which read of a long attribute value is in flight: the first (offset 0) or a continuation.

bumble hands a read callback the connection but not the ATT offset, yet the Challenge must
be drawn afresh on a Read and continued on a Read Blob (SPEC §8). ATT requests on a bearer
are strictly one at a time, so noting the last read request that arrived for the attribute
tells the callback which read it is serving.
"""

from __future__ import annotations

from typing import Protocol

from bumble.att import ATT_PDU, ATT_Read_Blob_Request, ATT_Read_Request
from bumble.device import Connection

__all__ = ["ReadOffsetTap"]


class _PduSink(Protocol):
    def on_gatt_pdu(self, connection: Connection, att_pdu: ATT_PDU) -> None: ...


class ReadOffsetTap:
    """Stands in front of one connection's GATT server and notes the offset of reads of `handle`."""

    def __init__(self, server: _PduSink, handle: int) -> None:
        self._server = server
        self._handle = handle
        self.offset = 0
        """Offset of the latest Read (0) or Read Blob request for the attribute."""

    @classmethod
    def install(cls, connection: Connection, handle: int) -> ReadOffsetTap:
        """Route the connection's incoming ATT requests through a new tap (bumble's per-connection hook)."""
        tap = cls(connection.gatt_server, handle)
        connection.gatt_server = tap  # type: ignore[assignment]  # only on_gatt_pdu is called on it
        return tap

    def on_gatt_pdu(self, connection: Connection, att_pdu: ATT_PDU) -> None:
        if isinstance(att_pdu, ATT_Read_Request) and att_pdu.attribute_handle == self._handle:
            self.offset = 0
        elif isinstance(att_pdu, ATT_Read_Blob_Request) and att_pdu.attribute_handle == self._handle:
            self.offset = att_pdu.value_offset
        self._server.on_gatt_pdu(connection, att_pdu)
