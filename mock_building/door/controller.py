"""The door's brain with no radio in it: sessions, verification, the bolt, receipts.

Everything a firmware port needs is here; the BLE peripheral only moves bytes in and out.
Per attempt, in this order: decide (protocol verifier), sign the receipt, commit the used
grant id and the receipt to disk, and only then move the bolt and report.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.config import DoorConfig
from mock_building.door.errors import DoorError, DoorErrorReason
from mock_building.door.faults import DoorFaults
from mock_building.door.lock import EmulatedLock, Scheduler
from mock_building.door.maintenance import DoorUpkeep
from mock_building.door.rate_limit import LINK_ATTEMPTS_MAX, FloodWindow, TokenBucket
from mock_building.door.receipts import ReceiptChain
from mock_building.door.sensor import DoorSensor
from mock_building.door.state import DoorState, StateListener
from mock_building.door.store import DoorStore
from protocol.errors import ProtocolError
from protocol.gatt import OPEN_SECONDS_MAX, DoorInfo, UnlockResult
from protocol.keys import TrustStore, public_key_bytes
from protocol.maintenance import STATEMENT_MAX, MaintenanceBundle
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import COUNT_MAX
from protocol.seal import SEAL_OVERHEAD, kid_tag, open_sealed, seal_key
from protocol.unlock import CHALLENGE_MAX, GRANT_FIELD_MAX
from protocol.verify import UnlockDecision, verify_unlock

__all__ = ["Attempt", "DoorController", "Session"]

Clock = Callable[[], float]
"""Unix seconds; the door's own (possibly skewed) clock is derived from it."""


class Session:
    """One connection's state: the challenge it may answer (at most one, single use)."""

    def __init__(self) -> None:
        self.challenge: bytes | None = None
        self.challenge_drawn_at = 0.0
        """Monotonic time the challenge was drawn (its TTL runs from here)."""
        self.attempts = 0
        """Unlock requests written on this connection (at most LINK_ATTEMPTS_MAX are decided)."""
        self.may_read_receipts = False
        """Set once this connection presented a valid, unrevoked grant for this door (SPEC section 8)."""


@dataclass(frozen=True)
class Attempt:
    """What one unlock request led to."""

    result: bytes
    """The UnlockResult message to send back (carries the receipt)."""
    receipt: bytes
    """The door-signed receipt of this attempt."""
    outcome: Outcome
    reason: ReasonCode
    relock_at: float | None
    """Door-clock time the bolt throws again, when it opened."""


class DoorController:
    """Verifies unlock requests for one door and keeps its bolt, receipts and replay cache."""

    def __init__(
        self,
        config: DoorConfig,
        store: DoorStore,
        scheduler: Scheduler,
        *,
        faults: DoorFaults | None = None,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config
        self._monotonic = monotonic
        self.faults = faults if faults is not None else DoorFaults()
        self._store = store
        self._clock = clock
        self._random_bytes = random_bytes
        self._lock = EmulatedLock(config.hold_open_s, scheduler, on_change=self._on_bolt)
        self._chain = ReceiptChain(config.door_id, config.private_key, store)
        self._upkeep = DoorUpkeep(config, store.connection)
        self._seal = None if config.seal_key is None else seal_key(config.seal_key)
        self._wrong_keys = _wrong_trust_store(config.trusted_keys)
        self._sessions: set[Session] = set()
        self._listeners: list[StateListener] = []
        self._last: tuple[Outcome, ReasonCode] | None = None
        self._sensor = DoorSensor(self.faults, self._raise_alert)
        self._unsubscribe_faults = self.faults.subscribe(self._on_faults)
        self._verifications = TokenBucket(monotonic)
        self._flood = FloodWindow(scheduler, self._write_flood_receipt)
        self._links_dropped = 0
        self._rate_limited = 0
        store.purge_grants(int(self.now()))

    # -- clock and observation -----------------------------------------------------------
    def now(self) -> float:
        """The door's clock: the injected clock plus any clock-skew fault, as maintenance corrected it."""
        return self._upkeep.now(self._raw_now())

    def _raw_now(self) -> float:
        return self._clock() + self.faults.clock_skew_s

    @property
    def state(self) -> DoorState:
        last_outcome, last_reason = self._last if self._last is not None else (None, None)
        return DoorState(
            door_id=self.config.door_id,
            locked=self._lock.locked,
            relock_at=self._lock.relock_at,
            last_outcome=last_outcome,
            last_reason=last_reason,
            last_seq=self._chain.last_seq,
            connected=len(self._sessions),
            faults=tuple(self.faults.active().items()),
            links_dropped=self._links_dropped,
            door_open=self._sensor.open,
            rate_limited=self._rate_limited,
        )

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener` with a fresh `DoorState` on every change; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def door_info(self) -> bytes:
        """The DoorInfo message: public, no personal data."""
        full = self._upkeep.receipts_full(self._chain.last_seq)
        kids = self._trust().kids
        if self.config.seal_key is not None:  # which carriers a building accepts is not for sniffers
            kids = tuple(sorted(kid_tag(self.config.seal_key, kid) for kid in kids))
        return bytes(DoorInfo(door_id=self.config.door_id, trusted_kids=kids, receipts_full=full))

    # -- sessions -------------------------------------------------------------------------
    def open_session(self) -> Session:
        """A new connection; it has no challenge until it asks for one."""
        session = Session()
        self._sessions.add(session)
        self._announce()
        return session

    def issue_challenge(self, session: Session) -> bytes:
        """A fresh nonce that replaces the session's active challenge (SPEC: every read draws one)."""
        if session not in self._sessions:
            raise DoorError(DoorErrorReason.SESSION_CLOSED, "the connection of this session is gone")
        session.challenge = self._random_bytes(CHALLENGE_MAX)
        session.challenge_drawn_at = self._monotonic()
        return session.challenge

    def link_dropped(self) -> None:
        """The peripheral cut a link that made no progress: counted, and in the window's receipt."""
        self._links_dropped += 1
        self._flood.suppress()
        self._announce()

    def end_session(self, session: Session) -> None:
        """The connection is gone: its challenge can never be answered again."""
        session.challenge = None
        self._sessions.discard(session)
        self._announce()

    # -- the decision ---------------------------------------------------------------------
    def handle_unlock(self, request: bytes, session: Session) -> Attempt | None:
        """Decide on one request; the receipt is on disk before the bolt moves or anyone hears.

        The session's challenge is retired whatever the outcome: a retry on the same connection
        reads a new one first. None means rate limited (SPEC §8): nothing was decided or stored
        on its own, the attempt is counted in the window's receipt.
        """
        session.attempts += 1
        if session.attempts > LINK_ATTEMPTS_MAX or not self._verifications.take():
            self._rate_limit(session)
            return None
        now = self.now()
        decision = verify_unlock(
            request,
            trusted_keys=self._trust(),
            door_id=self.config.door_id,
            challenge=session.challenge,
            replay_cache=self._store,
            now=int(now),
            leeway=self.config.leeway_s,
            challenge_age=self._monotonic() - session.challenge_drawn_at,
            challenge_ttl=self.config.challenge_ttl_s,
            open_grant=None if self._seal is None else self._open_grant,
        )
        session.challenge = None
        decision = self._screen(decision, session, int(now))
        if decision.reason is ReasonCode.RECEIPT_STORE_FULL:
            # Fail closed without a new receipt or a used grant; the head receipt answers instead.
            self._store.discard_staged()
            head = self._store.last_receipt()
            assert head is not None  # a full store holds receipts
            result = UnlockResult(outcome=Outcome.REFUSED, reason=decision.reason, receipt=head[1])
            return Attempt(bytes(result), head[1], Outcome.REFUSED, decision.reason, None)
        if not decision.accepted and not self._flood.admit_receipt():
            self._rate_limit(session)
            return None
        if not decision.accepted:
            outcome, reason = Outcome.REFUSED, decision.reason
        elif self.faults.jammed:
            outcome, reason = Outcome.FAULT, ReasonCode.DOOR_JAMMED
        else:
            outcome, reason = Outcome.UNLOCKED, ReasonCode.OK
        try:
            receipt = self._chain.append(decision.grant_id, outcome, reason, int(now))
        except BaseException:
            self._store.discard_staged()
            raise
        relock_at = self._lock.unlock(now) if outcome is Outcome.UNLOCKED else None
        self._last = (outcome, reason)
        self._announce()
        open_seconds = self._open_seconds() if outcome is Outcome.UNLOCKED else None
        result = UnlockResult(outcome=outcome, reason=reason, receipt=receipt, open_seconds=open_seconds)
        return Attempt(
            result=bytes(result), receipt=receipt, outcome=outcome, reason=reason, relock_at=relock_at
        )

    def _screen(self, decision: UnlockDecision, session: Session, now: int) -> UnlockDecision:
        """Door-level checks after section 6 accepted a grant: revocation, then receipt capacity."""
        claims = decision.claims
        if claims is None or decision.reason not in (ReasonCode.OK, ReasonCode.GRANT_ALREADY_USED):
            return decision
        if self._upkeep.revoked(claims, now):
            self._store.discard_staged()
            return UnlockDecision(ReasonCode.GRANT_REVOKED, decision.grant_id, claims)
        session.may_read_receipts = True
        if decision.accepted and self._upkeep.receipts_full(self._chain.last_seq):
            return UnlockDecision(ReasonCode.RECEIPT_STORE_FULL, decision.grant_id, claims)
        self._upkeep.raise_floor(claims.issued_at)
        return decision

    def apply_maintenance(self, bundle: MaintenanceBundle) -> list[ReasonCode]:
        """Apply relayed statements in order (SPEC section 14); each applied one gets a receipt."""

        def append(counter: int, reason: ReasonCode) -> None:
            self._chain.append(None, Outcome.MAINTAINED, reason, int(self.now()), statement=counter)

        reasons = self._upkeep.apply(
            tuple(map(self._open_statement, bundle.statements)),
            raw_now=self._raw_now(),
            head=lambda: self._chain.last_seq,
            append=append,
            prune=self._store.prune_receipts,
        )
        self._announce()
        return reasons

    def _open_grant(self, sealed: bytes) -> bytes:
        assert self._seal is not None
        return open_sealed(sealed, self._seal, GRANT_FIELD_MAX)

    def _open_statement(self, data: bytes) -> bytes:
        """Unsealed, or empty (refused as malformed) when it does not open with this door's key."""
        if self._seal is None:
            return data
        try:
            return open_sealed(data, self._seal, STATEMENT_MAX + SEAL_OVERHEAD)
        except ProtocolError:
            return b""

    def receipts(self, from_seq: int = 0, limit: int = 100) -> list[bytes]:
        """Stored receipts from `from_seq` on, oldest first (for apps relaying missed ones)."""
        return [body for _, body in self._store.receipts(from_seq, limit)]

    def close(self) -> None:
        """Throw the bolt, write the pending flood count and close the store (it stays locked)."""
        self._unsubscribe_faults()
        self._flood.close()
        self._lock.relock()
        self._store.close()

    # -- internals ------------------------------------------------------------------------
    def _rate_limit(self, session: Session) -> None:
        """A non-decision: the challenge is spent, the grant untouched, the attempt counted."""
        session.challenge = None
        self._rate_limited += 1
        self._flood.suppress()
        self._announce()

    def _on_bolt(self) -> None:
        self._sensor.bolt_changed(not self._lock.locked)
        self._announce()

    def _on_faults(self, _faults: DoorFaults) -> None:
        self._sensor.faults_changed()
        self._announce()

    def _raise_alert(self, reason: ReasonCode) -> None:
        """A door-position event no grant caused: an ALERT receipt (one per bolt or fault change)."""
        self._chain.append(None, Outcome.ALERT, reason, int(self.now()))
        self._last = (Outcome.ALERT, reason)

    def _write_flood_receipt(self, count: int) -> None:
        """One receipt for a window's refusals and dropped links that had none of their own."""
        count = min(count, COUNT_MAX)
        self._chain.append(None, Outcome.REFUSED, ReasonCode.RATE_LIMITED, int(self.now()), count=count)
        self._announce()

    def _trust(self) -> TrustStore:
        if self.faults.wrong_issuer_key:
            return self._wrong_keys
        return self._upkeep.trust(self.config.trusted_keys)

    def _open_seconds(self) -> int:
        """The hold-open time in whole seconds, rounded down: the app never counts past the relock."""
        return min(math.floor(self.config.hold_open_s), OPEN_SECONDS_MAX)

    def _announce(self) -> None:
        state = self.state
        for listener in list(self._listeners):
            listener(state)


def _wrong_trust_store(trusted: TrustStore) -> TrustStore:
    """The same key ids and issuers with other public keys: a mis-provisioned door."""
    return TrustStore.of(
        replace(key, public_key=public_key_bytes(Ed25519PrivateKey.generate()))
        for key in trusted.by_kid.values()
    )
