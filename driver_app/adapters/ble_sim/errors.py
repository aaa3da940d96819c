"""bumble errors become bleak errors at this boundary, so callers only ever catch bleak's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core


@contextmanager
def bleak_errors(what: str) -> Iterator[None]:
    """Re-raise bumble's exceptions from `what` as the bleak exception a real backend raises.

    ATT error responses become `BleakGATTProtocolError` (bleak 3 API), timeouts become the
    builtin `TimeoutError` (as bleak documents for connect), anything else `BleakError`.
    """
    try:
        yield
    except att.ATT_Error as err:
        raise BleakGATTProtocolError(err.error_code) from err
    except core.TimeoutError as err:
        raise TimeoutError(f"{what} timed out") from err
    except core.BaseBumbleError as err:
        raise BleakError(f"{what} failed: {err}") from err
