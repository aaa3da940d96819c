"""The driver's workflow: sign in, walk the route, scan, unlock, deliver — with no UI and no devices.

`DriverWorkflow` is the one face the TUI and the runner use. It holds the flow; who is signed in
lives in `core.session.Session` and each stop's state and timings in `core.stops.StopStore`.

A stop moves idle → scanned → finding door → requesting grant → connecting → verifying → unlocked →
delivered. The door is chosen before the grant is requested because a grant names exactly one door.
Failures never escape `submit_scan`, `unlock` or `confirm_delivery` as exceptions: they end in a state
carrying a `Notice`. Receipts and delivery confirmations go into the durable outbox before anything
else happens with them, then a background task relays the outbox whenever the service answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypedDict, TypeVar, Unpack

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.core.errors import (
    ClientReason,
    DoorRefused,
    DoorUnreachable,
    ServiceUnreachable,
    WorkflowError,
)
from driver_app.core.messages import NoticeContext, notice_for
from driver_app.core.ports import (
    AccessClient,
    Clock,
    CredentialStore,
    DoorLink,
    DoorOutcome,
    DoorPhase,
    NearbyDoor,
    Outbox,
    OutboxKind,
    OutboxOwner,
    OutboxState,
    Scan,
)
from driver_app.core.retry import Backoff
from driver_app.core.route_index import RouteIndex
from driver_app.core.scan_match import pick_parcel
from driver_app.core.session import Session
from driver_app.core.state import (
    HeldItem,
    Notice,
    RetryCountdown,
    RouteState,
    ScanVerdict,
    ScanVerdictKind,
    StopPhase,
    StopState,
)
from driver_app.core.stops import StopStore
from driver_app.core.sync import OutboxSync
from protocol.api import DeliveryConfirmation, GrantRequest, GrantResponse, Route
from protocol.errors import ProtocolError
from protocol.unlock import build_unlock_request

T = TypeVar("T")

_BUSY = frozenset(
    {StopPhase.FINDING_DOOR, StopPhase.REQUESTING_GRANT, StopPhase.CONNECTING, StopPhase.VERIFYING}
)
_DOOR_PHASES = {DoorPhase.CONNECTING: StopPhase.CONNECTING, DoorPhase.VERIFYING: StopPhase.VERIFYING}


_DEFAULT_BACKOFF = Backoff()


def _ignore(_: RouteState) -> None:
    return None


class RouteChanges(TypedDict, total=False):
    """The `RouteState` fields the flow sets (stops and the outbox count are filled in on publish)."""

    route: Route
    current_stop_id: str | None
    online: bool
    radio_available: bool | None
    driver_name: str | None
    notice: Notice | None
    retry: RetryCountdown | None


class DriverWorkflow:
    """One driver's session on one handheld; the TUI and the headless runner both drive this class."""

    def __init__(
        self,
        *,
        access: AccessClient,
        doors: DoorLink,
        credentials: CredentialStore,
        outbox: Outbox,
        clock: Clock,
        on_change: Callable[[RouteState], None] = _ignore,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff = _DEFAULT_BACKOFF,
        find_timeout: float = 3.0,
        generate_key: Callable[[], Ed25519PrivateKey] = Ed25519PrivateKey.generate,
        on_close: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._access = access
        self._doors = doors
        self._session = Session(access, credentials, generate_key)
        self._outbox = outbox
        self._clock = clock
        self._on_change = on_change
        self._sleep = sleep
        self._backoff = backoff
        self._find_timeout = find_timeout
        self._on_close = on_close
        self._sync = OutboxSync(access, outbox)
        self._index: RouteIndex | None = None
        self._stops = StopStore(clock, self._publish)
        self._background: asyncio.Task[None] | None = None
        self._sync_lock = asyncio.Lock()
        self._owner: OutboxOwner | None = None  # set once signed in
        # Counted when the outbox changes (put, a batch sent), not on every state change.
        self._outbox_size, self._waiting = 0, 0
        self._held: tuple[HeldItem, ...] = ()
        self._count_outbox()
        self.state = RouteState(outbox_size=self._outbox_size, held=self._held, outbox_waiting=self._waiting)

    # -- session ---------------------------------------------------------------------------------

    async def sign_in(self, driver_id: str, password: str) -> None:
        """Raises `WorkflowError` (e.g. invalid_credentials) so the sign-in screen can show it."""
        await self._session.sign_in(driver_id, password)
        self._signed_in()

    async def resume_session(self) -> bool:
        """Sign in with the stored refresh token; False when there is none or the service refused it."""
        if not await self._session.resume():
            return False
        self._signed_in()
        return True

    async def sign_out(self) -> bool:
        """Sign out on this handheld and at the service; False if the service could not be told.

        The background sync stops (it would be refused), the route is dropped; whatever is queued
        stays in the outbox for the next sign-in.
        """
        await self._stop_background_sync()
        told = await self._session.sign_out()
        self._index = None
        self._stops.reset(())
        self.state = RouteState(outbox_size=self._outbox_size)
        self._publish()
        return told

    def _signed_in(self) -> None:
        """Only now can the outbox be sent: items wait for the driver who queued them."""
        self._owner = self._session.owner
        self._count_outbox()
        earlier = self._outbox.count(state=OutboxState.PENDING, owner=self._owner)
        notice = notice_for(ClientReason.OUTBOX_FROM_EARLIER) if earlier else None
        self._publish(online=True, driver_name=self._session.driver_name, notice=notice)
        self._start_background_sync()

    @property
    def credentials_description(self) -> str:
        """Where secrets are kept, for the diagnostics screen (e.g. "OS keyring (...)")."""
        return self._session.credentials_description

    @property
    def credentials_persistent(self) -> bool:
        """False in demo or insecure-opt-in mode: the UI must say secrets last this session only."""
        return self._session.credentials_persistent

    # -- route -----------------------------------------------------------------------------------

    async def load_route(self) -> RouteState:
        """Raises `WorkflowError` once retries of an unreachable service are used up.

        Whatever a previous run left queued is sent first, so the route the service hands out
        already counts those deliveries (otherwise a delivered stop would look open again).
        """
        await self.sync_outbox()
        route = await self._retrying(self._access.today_route, lambda notice: self._publish(notice=notice))
        index = RouteIndex(route)
        self._index = index
        self._stops.reset(
            StopState(stop_id, phase=StopPhase.DELIVERED if index.is_completed(stop_id) else StopPhase.IDLE)
            for stop_id in index.stop_ids
        )
        self._publish(route=route, current_stop_id=self._next_open_stop(), online=True, notice=None)
        return self.state

    def select_stop(self, stop_id: str) -> None:
        if not self._route_index().has_stop(stop_id):
            raise WorkflowError("not_found", f"no stop {stop_id!r} on today's route")
        self._publish(current_stop_id=stop_id)

    # -- scanning --------------------------------------------------------------------------------

    async def submit_scan(self, scan: Scan) -> ScanVerdict:
        """Judge one read against the current stop; it never switches stop by itself."""
        index = self._index
        current = self.state.current_stop
        ref = pick_parcel(index, scan, current.stop_id if current else None) if index else None
        if index is None or ref is None:
            return ScanVerdict(
                ScanVerdictKind.UNKNOWN, None, None, "This barcode is not a parcel on today's route"
            )
        if current is None or ref.stop_id != current.stop_id:
            done = self._stops[ref.stop_id].phase is StopPhase.DELIVERED
            message = f"This parcel belongs to {index.label(ref.stop_id)}"
            return ScanVerdict(
                ScanVerdictKind.OTHER_STOP,
                ref.package_id,
                ref.stop_id,
                message + (", already delivered" if done else ""),
            )
        if ref.package_id in current.scanned_package_ids:
            return ScanVerdict(
                ScanVerdictKind.ALREADY_SCANNED, ref.package_id, ref.stop_id, "Parcel already scanned"
            )
        scanned = (*current.scanned_package_ids, ref.package_id)
        if current.phase is StopPhase.IDLE:
            self._stops.enter(current.stop_id, StopPhase.SCANNED, scanned_package_ids=scanned, notice=None)
        else:
            self._stops.update(current.stop_id, scanned_package_ids=scanned)
        return ScanVerdict(
            ScanVerdictKind.MATCHED,
            ref.package_id,
            ref.stop_id,
            f"Parcel {len(scanned)} of {index.label(ref.stop_id)} scanned",
        )

    # -- unlocking -------------------------------------------------------------------------------

    async def find_doors(self) -> tuple[NearbyDoor, ...]:
        """Listen for the current stop's doors (strongest first) so the driver can pick one."""
        stop = self.state.current_stop
        if stop is None or stop.phase in _BUSY or stop.phase is StopPhase.DELIVERED:
            return ()
        self._stops.enter(stop.stop_id, StopPhase.FINDING_DOOR, notice=None)
        reason: str | None
        try:
            nearby = await self._listen(stop.stop_id)
        except WorkflowError as err:
            nearby, reason = (), err.reason
        except BaseException:
            self._stops.enter(stop.stop_id, stop.phase)
            raise
        else:
            reason = None if nearby else ClientReason.DOOR_NOT_FOUND
        notice = None if reason is None else self._notice(reason, stop.stop_id, None)
        self._stops.enter(stop.stop_id, stop.phase, notice=notice)  # back where the driver was
        return nearby

    async def unlock(self, door_id: str | None = None) -> DoorOutcome:
        """Open a door of the current stop: `door_id`, or the strongest one in range."""
        stop = self.state.current_stop
        if stop is None:
            self._publish(notice=notice_for(ClientReason.NO_ROUTE))
            return DoorOutcome(door_id or "", accepted=False, reason=ClientReason.NO_ROUTE, receipt=None)
        if stop.phase is StopPhase.DELIVERED:
            return self._refuse_early(stop, door_id, "stop_completed")
        if stop.phase in _BUSY:
            return self._refuse_early(stop, door_id, "door_busy")
        if not stop.scanned_package_ids:
            return self._refuse_early(stop, door_id, ClientReason.NO_SCAN)
        stop_id = stop.stop_id
        self._stops.new_attempt(stop_id)
        try:
            if door_id is None:
                door_id = await self._find_strongest(stop_id)
            self._stops.update(stop_id, door_id=door_id)
            grant = await self._request_grant(stop_id, door_id)
            self._stops.enter(stop_id, StopPhase.CONNECTING, notice=None, grant_id=grant.grant_id)
            outcome = await self._doors.unlock(
                door_id,
                lambda challenge: self._unlock_request(grant, challenge, door_id),
                lambda phase: self._stops.enter(stop_id, _DOOR_PHASES[phase]),
                grant.upkeep,
            )
        except WorkflowError as err:
            self._failed(stop_id, self._notice(err.reason, stop_id, door_id))
            return DoorOutcome(door_id or "", accepted=False, reason=err.reason, receipt=None)
        except BaseException:
            # Cancelled (e.g. the UI started another unlock) or a bug: never leave the stop "busy".
            self._stops.enter(stop_id, StopPhase.SCANNED)
            raise
        self._record_outcome(stop_id, outcome)
        return outcome

    def _unlock_request(self, grant: GrantResponse, challenge: bytes, door_id: str) -> bytes:
        """Called by the door link once the door's challenge is in: sign it with the handheld key."""
        try:
            key = self._session.key  # the grant is sealed for the door: its id comes with the answer
            return build_unlock_request(grant.grant, key, challenge, door_id, grant_id=grant.grant_id)
        except ProtocolError as err:
            raise DoorRefused(err.reason.slug, str(err)) from err

    def _refuse_early(self, stop: StopState, door_id: str | None, reason: str) -> DoorOutcome:
        self._stops.update(stop.stop_id, notice=self._notice(reason, stop.stop_id, door_id))
        return DoorOutcome(door_id or "", accepted=False, reason=str(reason), receipt=None)

    async def _find_strongest(self, stop_id: str) -> str:
        self._stops.enter(stop_id, StopPhase.FINDING_DOOR, notice=None)
        nearby = await self._listen(stop_id)
        if not nearby:
            raise DoorUnreachable(ClientReason.DOOR_NOT_FOUND)
        return nearby[0].door_id

    async def _listen(self, stop_id: str) -> tuple[NearbyDoor, ...]:
        """The stop's doors in range, strongest first, also kept in the stop's state."""
        try:
            found = await self._doors.find_doors(self._route_index().door_ids(stop_id), self._find_timeout)
        except DoorUnreachable as err:
            if err.reason == ClientReason.RADIO_UNAVAILABLE:
                self._publish(radio_available=False)
            raise
        if self.state.radio_available is not True:
            self._publish(radio_available=True)
        nearby = tuple(sorted(found, key=lambda door: door.rssi, reverse=True))
        self._stops.update(stop_id, nearby=nearby)
        return nearby

    async def _request_grant(self, stop_id: str, door_id: str) -> GrantResponse:
        self._stops.enter(stop_id, StopPhase.REQUESTING_GRANT)
        index = self._route_index()
        stop = self._stops[stop_id]
        request = GrantRequest(
            stop_id=stop_id,
            door_id=door_id,
            barcode=index.barcode_of(stop.scanned_package_ids[0]),
            handheld_key_id=self._session.key_id,
        )
        # One key per attempt, shared by its retries: a lost answer retried gets the same grant back.
        key = str(uuid.uuid4())
        return await self._retrying(
            lambda: self._access.request_grant(request, idempotency_key=key),
            lambda notice: self._stops.update(stop_id, notice=notice),
        )

    def _record_outcome(self, stop_id: str, outcome: DoorOutcome) -> None:
        kept: Notice | None = None
        receipts = (outcome.receipt, *outcome.backlog) if outcome.receipt is not None else outcome.backlog
        for receipt in receipts:  # the backlog: the door's receipts another phone never relayed
            try:
                self._queue(OutboxKind.RECEIPT, hashlib.sha256(receipt).hexdigest(), receipt)
            except WorkflowError as err:  # the door still opened or refused: say both
                kept = notice_for(err.reason)
        if outcome.accepted:
            open_for = outcome.open_seconds
            relock = None if open_for is None else self._clock.monotonic() + open_for
            self._stops.enter(stop_id, StopPhase.UNLOCKED, notice=kept, relock_at=relock)
        else:
            self._failed(stop_id, self._notice(outcome.reason, stop_id, outcome.door_id))

    def _failed(self, stop_id: str, notice: Notice) -> None:
        """Back to scanned (one key tries again), marking the step that failed so it shows ✗, not ✓."""
        failed = self._stops[stop_id].phase
        step = failed if failed in _BUSY else None
        self._stops.enter(stop_id, StopPhase.SCANNED, notice=notice, failed_phase=step)

    # -- delivering ------------------------------------------------------------------------------

    async def confirm_delivery(self) -> None:
        """Queue the confirmation durably, mark the stop delivered, move on; the sync sends it later."""
        stop = self.state.current_stop
        if stop is None or stop.phase is not StopPhase.UNLOCKED:
            if stop is not None:
                self._stops.update(stop.stop_id, notice=notice_for(ClientReason.NOT_UNLOCKED))
            return
        confirmation = DeliveryConfirmation(
            delivery_id=uuid.uuid4(),
            stop_id=stop.stop_id,
            package_ids=stop.scanned_package_ids,
            grant_id=stop.grant_id,
            delivered_at=dt.datetime.fromtimestamp(self._clock.now(), dt.UTC),
        )
        try:
            self._queue(
                OutboxKind.DELIVERY,
                str(confirmation.delivery_id),
                confirmation.model_dump_json().encode(),
            )
        except WorkflowError as err:
            self._stops.update(stop.stop_id, notice=notice_for(err.reason))
            return
        self._stops.enter(stop.stop_id, StopPhase.DELIVERED, relock_at=None)
        self._publish(current_stop_id=self._next_open_stop())

    # -- outbox ----------------------------------------------------------------------------------

    async def sync_outbox(self) -> int:
        """Send what the signed-in driver queued; returns how many items left the outbox. Safe any time.

        Refused items are held (counted and listed in the state), failing ones go behind the others;
        the loop ends when a batch settles nothing more.
        """
        owner = self._owner
        if owner is None:
            return 0
        sent = 0
        async with self._sync_lock:
            try:
                while True:
                    batch = await self._sync.send_batch(owner)
                    sent += batch.sent
                    self._count_outbox()
                    self._publish(online=True, notice=self._after_sync_notice(batch.refused))
                    if not batch.progressed:
                        break
            except WorkflowError as err:  # what was not sent stays queued for the next attempt
                self._count_outbox()
                online = not isinstance(err, ServiceUnreachable)
                self._publish(online=online, notice=None if err.retryable else notice_for(err.reason))
        return sent

    def _after_sync_notice(self, refused: tuple[str, ...]) -> Notice | None:
        if refused:
            return notice_for(refused[-1])
        current = self.state.notice
        if current is not None and current.reason == ClientReason.OUTBOX_FROM_EARLIER:
            return None if self._sendable() == 0 else current
        return None if current is not None and current.retrying else current

    def _queue(self, kind: OutboxKind, key: str, payload: bytes) -> None:
        self._outbox.put(kind, key, payload, self._session.owner)
        self._count_outbox()
        self._publish()
        self._start_background_sync()

    def _count_outbox(self) -> None:
        """Everything queued; what the service refused (held); what waits for another driver."""
        self._outbox_size = self._outbox.size()
        self._held = tuple(
            HeldItem(item.item_id, item.kind, item.key, item.reason or "")
            for item in self._outbox.items(OutboxState.HELD)
        )
        pending = self._outbox.count(state=OutboxState.PENDING)
        mine = self._outbox.count(state=OutboxState.PENDING, owner=self._owner) if self._owner else 0
        self._waiting = pending - mine

    def _sendable(self) -> int:
        return self._sync.sendable(self._owner) if self._owner is not None else 0

    def _start_background_sync(self) -> None:
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self._sync_until_empty())

    async def _sync_until_empty(self) -> None:
        """Keep relaying; back off (capped) while attempts make no progress, whatever the cause."""
        failures = 0
        while self._sendable():
            if await self.sync_outbox():
                failures = 0
                continue
            failures += 1
            delay = self._backoff.delay(failures)
            if not self.state.online:
                context = NoticeContext(retry_in=delay)
                notice = notice_for(ClientReason.SERVICE_UNREACHABLE, context, retrying=True)
                self._publish(notice=replace(notice, retry_at=self._clock.monotonic() + delay))
            await self._sleep(delay)

    async def _stop_background_sync(self) -> None:
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
            self._background = None

    async def aclose(self) -> None:
        """Stop the background sync (what it had not sent stays queued), then release the adapters."""
        await self._stop_background_sync()
        for close in self._on_close:
            await close()
        self._on_close = ()

    # -- helpers ---------------------------------------------------------------------------------

    async def _retrying(self, call: Callable[[], Awaitable[T]], say: Callable[[Notice], None]) -> T:
        """Call an idempotent request, retrying transport failures with backoff; `say` shows why.

        While it waits, `state.retry` counts down (attempt n of N, seconds left), once a second.
        """
        failures = 0
        try:
            while True:
                try:
                    result = await call()
                except WorkflowError as err:
                    failures += 1
                    online = not isinstance(err, ServiceUnreachable)
                    if not err.retryable or self._backoff.gives_up(failures, err.retry_after):
                        self._publish(online=online)
                        raise
                    delay = self._backoff.delay(failures, err.retry_after)
                    say(notice_for(err.reason, NoticeContext(retry_in=delay), retrying=True))
                    self._publish(online=online)
                    await self._count_down(
                        RetryCountdown(
                            err.reason,
                            failures + 1,
                            self._backoff.attempts,
                            delay,
                            service_asked=err.retry_after is not None and delay <= err.retry_after,
                        )
                    )
                else:
                    self._publish(online=True)
                    return result
        finally:  # done, given up or cancelled: no countdown is left on screen
            if self.state.retry is not None:
                self._publish(retry=None)

    async def _count_down(self, countdown: RetryCountdown) -> None:
        left = countdown.seconds_left
        while left > 0:
            self._publish(retry=replace(countdown, seconds_left=left))
            step = min(1.0, left)
            await self._sleep(step)
            left -= step
        self._publish(retry=replace(countdown, seconds_left=0.0))

    def _notice(self, reason: str, stop_id: str, door_id: str | None) -> Notice:
        index = self._route_index()
        context = NoticeContext(
            door_name=index.door_name(door_id) if door_id else None,
            other_door_names=index.other_door_names(stop_id, door_id),
            stop_label=index.label(stop_id),
        )
        return notice_for(reason, context)

    def _route_index(self) -> RouteIndex:
        if self._index is None:
            raise WorkflowError(ClientReason.NO_ROUTE, "load the route first")
        return self._index

    def _next_open_stop(self) -> str | None:
        index = self._route_index()
        return next(
            (sid for sid in index.stop_ids if self._stops[sid].phase is not StopPhase.DELIVERED), None
        )

    def _publish(self, **changes: Unpack[RouteChanges]) -> None:
        self.state = replace(
            self.state,
            stops=self._stops.snapshot,
            outbox_size=self._outbox_size,
            held=self._held,
            outbox_waiting=self._waiting,
            **changes,
        )
        self._on_change(self.state)
