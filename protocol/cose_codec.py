"""The python-cwt COSE codec every LobbyKey COSE message is built and opened with.

python-cwt builds each structure (headers, Sig_structure, Enc_structure, the tagged message) and
does the cryptography. Only turning what it built into bytes goes through the strict encoder's
reused cbor2 encoder instead of a new `cbor2.dumps` per item (three to four per message, each
costing more to set up than to encode): the bytes are the core deterministic encoding the protocol
requires (python-cwt writes our headers in that order already; the test vectors pin them). Should
python-cwt stop serialising through `_dumps`, it falls back to its own `cbor2.dumps`: slower, same bytes.
"""

from __future__ import annotations

from typing import Any

from cwt import COSE

from protocol import cbor_strict

__all__ = ["COSE_CODEC"]


class _StrictCOSE(COSE):
    def _dumps(self, obj: Any) -> bytes:
        return cbor_strict.encode(obj)


COSE_CODEC: COSE = _StrictCOSE.new()
"""Default settings; it keeps no per-message state, so one serves every thread and message."""
