"""Relays the outbox to the access service, one batch at a time.

Uploads are idempotent on the server (receipts by hash, deliveries by client-generated id), so an
item sent twice — e.g. the app was killed between the upload and `mark_sent` — is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.api import DeliveryConfirmation

from driver_app.core.errors import AccessRefused
from driver_app.core.ports import AccessClient, Outbox, OutboxItem, OutboxKind


@dataclass(frozen=True)
class BatchResult:
    sent: int
    refused: tuple[str, ...] = ()  # reason codes of items the service refused for good


class OutboxSync:
    def __init__(self, access: AccessClient, outbox: Outbox, batch_size: int = 50) -> None:
        self._access = access
        self._outbox = outbox
        self._batch_size = batch_size

    async def send_batch(self) -> BatchResult:
        """Send up to one batch; raises `ServiceUnreachable` with nothing lost (items stay queued)."""
        items = self._outbox.pending(self._batch_size)
        receipts = [item for item in items if item.kind == OutboxKind.RECEIPT]
        deliveries = [item for item in items if item.kind == OutboxKind.DELIVERY]
        refused: list[str] = []
        if receipts:
            # The service verifies each receipt and reports bad ones and chain gaps to the building;
            # a receipt it rejects would be rejected again, so every answered receipt leaves the queue.
            await self._access.upload_receipts([item.payload for item in receipts])
            self._outbox.mark_sent([item.item_id for item in receipts])
        for item in deliveries:
            reason = await self._send_delivery(item)
            if reason is not None:
                refused.append(reason)
            self._outbox.mark_sent([item.item_id])
        return BatchResult(sent=len(items), refused=tuple(refused))

    async def _send_delivery(self, item: OutboxItem) -> str | None:
        try:
            await self._access.confirm_delivery(DeliveryConfirmation.model_validate_json(item.payload))
        except AccessRefused as refusal:
            if refusal.retryable:
                raise
            return refusal.reason
        return None
