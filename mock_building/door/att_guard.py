"""Every ATT request to a door gets an answer, and the right one.

bumble's GATT server does not check attribute permissions on writes ("TODO" in bumble), so
a write to a read-only attribute either reached a callback that does not exist (the request
then got no response at all: the client waited out its ATT timeout) or replaced the value
(the GAP Device Name became writable and persistent). `AttGuard` stands in front of one
connection's server and answers such requests itself, with the Core spec's codes (Vol 3,
Part F, 3.4.1.1): 0x02 Read Not Permitted, 0x03 Write Not Permitted, 0x0D Invalid Attribute
Value Length. `answered` wraps the door's own handlers so any exception in them becomes an
ATT error (0x0E Unlikely Error) instead of a missing response.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from bumble import att
from bumble.att import ATT_Error, ErrorCode
from bumble.device import Connection
from bumble.gatt_server import Server

from protocol.gatt import ATT_MAX_VALUE

__all__ = ["AttGuard", "answered"]

logger = logging.getLogger(__name__)

_Handler = TypeVar("_Handler", bound=Callable[..., Any])
_WRITES = (att.ATT_Write_Request, att.ATT_Write_Command, att.ATT_Prepare_Write_Request)
_READS = (att.ATT_Read_Request, att.ATT_Read_Blob_Request)


class _PduSink(Protocol):
    def on_gatt_pdu(self, connection: Connection, att_pdu: att.ATT_PDU) -> None: ...


class AttGuard:
    """Checks permissions and lengths, notes activity, then passes the request on."""

    def __init__(self, inner: _PduSink, server: Server, on_request: Callable[[], None]) -> None:
        self._inner = inner
        self._server = server
        self._on_request = on_request

    @classmethod
    def install(cls, connection: Connection, server: Server, on_request: Callable[[], None]) -> AttGuard:
        """Put a guard in front of whatever serves the connection now (bumble's per-connection hook)."""
        guard = cls(connection.gatt_server, server, on_request)
        connection.gatt_server = guard  # type: ignore[assignment]  # only on_gatt_pdu is called on it
        return guard

    def on_gatt_pdu(self, connection: Connection, att_pdu: att.ATT_PDU) -> None:
        self._on_request()
        error = self._refusal(att_pdu)
        if error is None:
            self._inner.on_gatt_pdu(connection, att_pdu)
        elif att_pdu.op_code in att.ATT_REQUESTS:  # commands get no answer, by the spec
            handle = getattr(att_pdu, "attribute_handle", 0)
            self._server.send_response(
                connection,
                att.ATT_Error_Response(
                    request_opcode_in_error=att_pdu.op_code,
                    attribute_handle_in_error=handle,
                    error_code=error,
                ),
            )

    def _refusal(self, pdu: att.ATT_PDU) -> ErrorCode | None:
        if isinstance(pdu, _WRITES):
            attribute = self._server.get_attribute(pdu.attribute_handle)
            if attribute is None:
                return None  # bumble answers Invalid Handle itself
            if not attribute.permissions & attribute.WRITEABLE:
                return ErrorCode.WRITE_NOT_PERMITTED
            if isinstance(pdu, att.ATT_Prepare_Write_Request):
                end = pdu.value_offset + len(pdu.part_attribute_value)
            else:
                end = len(pdu.attribute_value)
            if end > ATT_MAX_VALUE:
                return ErrorCode.INVALID_ATTRIBUTE_LENGTH
        elif isinstance(pdu, _READS):
            attribute = self._server.get_attribute(pdu.attribute_handle)
            if attribute is not None and not attribute.permissions & attribute.READABLE:
                return ErrorCode.READ_NOT_PERMITTED
        return None


def answered(handler: _Handler) -> _Handler:
    """Turn any exception but an ATT error into ATT error 0x0E (Unlikely Error), logged."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def guarded_async(*args: Any) -> Any:
            try:
                return await cast(Callable[..., Awaitable[Any]], handler)(*args)
            except ATT_Error:
                raise
            except Exception as err:
                logger.exception("door handler %s failed", handler.__name__)
                raise ATT_Error(ErrorCode.UNLIKELY_ERROR) from err

        return cast(_Handler, guarded_async)

    @functools.wraps(handler)
    def guarded(*args: Any) -> Any:
        try:
            return handler(*args)
        except ATT_Error:
            raise
        except Exception as err:
            logger.exception("door handler %s failed", handler.__name__)
            raise ATT_Error(ErrorCode.UNLIKELY_ERROR) from err

    return cast(_Handler, guarded)
