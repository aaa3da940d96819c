"""Relays the outbox to the access service, one batch at a time, as the signed-in owner only.

Uploads are idempotent on the server (receipts by hash, deliveries by client-generated id), so an
item sent twice — e.g. the app was killed between the upload and `mark_sent` — is harmless.

Nothing is dropped: an item the service refuses for good is held with the reason (the driver or QA
retries or exports it); an item that fails for now (a 5xx, a 429) is deferred behind the others,
so one bad item never blocks a healthy one. Only losing the service altogether, or the session,
stops a batch, with every item left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from driver_app.core.errors import AccessRefused, ClientReason, ServiceUnreachable, WorkflowError
from driver_app.core.ports import AccessClient, Outbox, OutboxItem, OutboxKind, OutboxOwner
from protocol.api import DeliveryConfirmation, ReceiptStatus

#: Refusals that say the session is gone, not that the item is wrong: stop, hold nothing.
_SESSION_ENDED = frozenset({"not_authenticated", "token_expired"})


@dataclass(frozen=True)
class BatchResult:
    sent: int  # items the service accepted (or already had)
    refused: tuple[str, ...] = ()  # reason codes of items now held
    deferred: int = 0  # items that failed for now and wait behind the others

    @property
    def progressed(self) -> bool:
        """Whether the batch settled anything (sent or held); deferrals alone are no progress."""
        return bool(self.sent or self.refused)


class OutboxSync:
    def __init__(self, access: AccessClient, outbox: Outbox, batch_size: int = 50) -> None:
        self._access = access
        self._outbox = outbox
        self._batch_size = batch_size

    def sendable(self, owner: OutboxOwner) -> int:
        """How many items `owner` could send now (pending, theirs or ownerless)."""
        return len(self._outbox.pending(owner, self._batch_size))

    async def send_batch(self, owner: OutboxOwner) -> BatchResult:
        """Send up to one batch of `owner`'s items.

        Raises `ServiceUnreachable` when the service cannot be reached at all, or `AccessRefused`
        when the session ended: nothing is lost either way (the items stay as they were).
        """
        items = self._outbox.pending(owner, self._batch_size)
        receipts = [item for item in items if item.kind == OutboxKind.RECEIPT]
        deliveries = [item for item in items if item.kind == OutboxKind.DELIVERY]
        sent, refused, deferred = 0, [], 0
        if receipts:
            outcome = await self._send_receipts(receipts)
            sent, refused, deferred = outcome.sent, list(outcome.refused), outcome.deferred
        for item in deliveries:
            reason = await self._send_delivery(item)
            if reason is None:
                sent += 1
            elif reason.retryable:
                deferred += 1
            else:
                refused.append(reason.code)
        return BatchResult(sent=sent, refused=tuple(refused), deferred=deferred)

    async def _send_receipts(self, items: list[OutboxItem]) -> BatchResult:
        try:
            answer = await self._access.upload_receipts([item.payload for item in items])
        except WorkflowError as err:
            failure = self._failure(err)
            for item in items:
                self._settle(item, failure)
            return BatchResult(
                sent=0,
                refused=() if failure.retryable else (failure.code,) * len(items),
                deferred=len(items) if failure.retryable else 0,
            )
        # The service verified each receipt and told the building about bad ones and chain gaps; a
        # rejected receipt would be rejected again, so it is held (visible) rather than resent.
        statuses = {result.index: result for result in answer.results}
        sent, refused = [], []
        for index, item in enumerate(items):
            result = statuses.get(index)
            if result is not None and result.status is ReceiptStatus.REJECTED:
                reason = result.reason or ClientReason.BAD_RESPONSE
                self._outbox.hold(item.item_id, reason)
                refused.append(reason)
            else:
                sent.append(item.item_id)
        self._outbox.mark_sent(sent)
        return BatchResult(sent=len(sent), refused=tuple(refused))

    async def _send_delivery(self, item: OutboxItem) -> _Failure | None:
        try:
            await self._access.confirm_delivery(DeliveryConfirmation.model_validate_json(item.payload))
        except WorkflowError as err:
            failure = self._failure(err)
            self._settle(item, failure)
            return failure
        self._outbox.mark_sent([item.item_id])
        return None

    @staticmethod
    def _failure(err: WorkflowError) -> _Failure:
        """Re-raise what stops the whole batch; otherwise what to do with the item."""
        if isinstance(err, ServiceUnreachable) and err.reason == ClientReason.SERVICE_UNREACHABLE:
            raise err  # no answer at all: every other item would fail the same way
        if isinstance(err, AccessRefused) and err.reason in _SESSION_ENDED:
            raise err
        return _Failure(err.reason, err.retryable)

    def _settle(self, item: OutboxItem, failure: _Failure) -> None:
        if failure.retryable:
            self._outbox.defer(item.item_id, failure.code)
        else:
            self._outbox.hold(item.item_id, failure.code)


@dataclass(frozen=True)
class _Failure:
    code: str
    retryable: bool
