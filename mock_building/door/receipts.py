"""The door's end of the receipt hash chain: numbering, linking, signing, persisting."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.store import DoorStore
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt

__all__ = ["ReceiptChain"]


class ReceiptChain:
    """Continues the chain found in the store, so a restarted door never forks or rewinds it."""

    def __init__(self, door_id: str, door_key: Ed25519PrivateKey, store: DoorStore) -> None:
        self._door_id = door_id
        self._key = door_key
        self._store = store
        last = store.last_receipt()
        self.last_seq: int | None = None if last is None else last[0]
        self._prev_hash = GENESIS_HASH if last is None else receipt_digest(last[1])

    def append(
        self,
        grant_id: bytes | None,
        outcome: Outcome,
        reason: ReasonCode,
        door_time: int,
        *,
        count: int = 1,
        statement: int | None = None,
    ) -> bytes:
        """Sign the next receipt and commit it (with staged grant ids) before returning it."""
        seq = 0 if self.last_seq is None else self.last_seq + 1
        receipt = Receipt(
            door_id=self._door_id,
            seq=seq,
            prev_hash=self._prev_hash,
            grant_id=grant_id,
            outcome=outcome,
            reason=reason,
            door_time=max(door_time, 0),
            count=count,
            statement=statement,
        )
        body = sign_receipt(receipt, self._key)
        self._store.append_receipt(seq, body)
        self.last_seq, self._prev_hash = seq, receipt_digest(body)
        return body
