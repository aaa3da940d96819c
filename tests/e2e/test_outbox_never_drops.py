"""The outbox never drops a confirmation: the real HTTP client, a real service on loopback, SQLite files.

Covers the cases seen: a shared handheld (driver A's item must not go out under driver B), a refused
item (held with its reason, never deleted), a failing item (never blocks the healthy ones), and the
same parcel under a new delivery id (held as `already_delivered`, not recorded twice).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.adapters.clock import SystemClock
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.handheld import handheld_key_entry
from driver_app.core.ports import OutboxKind, OutboxOwner, OutboxState
from driver_app.core.state import RouteState
from driver_app.core.sync import OutboxSync
from driver_app.core.workflow import DriverWorkflow
from mock_building.building.serving import serve_app
from mock_building.service.clock import FakeClock as ServiceClock
from protocol.api import b64url_encode
from protocol.keys import derive_key_id, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, sign_receipt
from tests.core_fakes import FakeClock, FakeDoors
from tests.service_support import NOON, make_app, scenario

PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}
POISON = uuid.UUID(int=666)


class PoisonTransport(httpx.AsyncBaseTransport):
    """A broken proxy in front of the real service: every delivery with id POISON gets a 500."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/deliveries") and str(POISON) in request.content.decode():
            problem = {"title": "Internal error", "status": 500, "code": "internal_error"}
            return httpx.Response(500, json=problem, headers={"content-type": "application/problem+json"})
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Handheld:
    """One handheld's outbox file, shared by whichever driver signs in on it (each with their own key)."""

    url: str
    outbox: SqliteOutbox
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    async def sign_in(
        self, driver_id: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> tuple[HttpAccessClient, OutboxOwner]:
        access = HttpAccessClient(self.url, clock=SystemClock(), transport=transport)
        await access.sign_in(driver_id, PASSWORDS[driver_id])
        key = self.keys.setdefault(driver_id, Ed25519PrivateKey.generate())
        key_id = await access.register_handheld(public_key_bytes(key))
        return access, OutboxOwner(driver_id, b64url_encode(key_id))

    def queue_delivery(
        self, owner: OutboxOwner, stop_id: str, *packages: str, delivery_id: uuid.UUID | None = None
    ) -> str:
        delivery_id = delivery_id or uuid.uuid4()
        body = {
            "delivery_id": str(delivery_id),
            "stop_id": stop_id,
            "package_ids": list(packages),
            "delivered_at": NOON.isoformat(),
        }
        self.outbox.put(OutboxKind.DELIVERY, str(delivery_id), json.dumps(body).encode(), owner)
        return str(delivery_id)


@pytest.fixture
async def handheld(tmp_path: Path) -> AsyncIterator[Handheld]:
    app = await make_app(ServiceClock(NOON), db_path=tmp_path / "service.sqlite3")
    served = await serve_app(app, "127.0.0.1", 0)
    outbox = SqliteOutbox(tmp_path / "handheld" / "outbox.sqlite3")
    try:
        yield Handheld(served.url, outbox)
    finally:
        outbox.close()
        await served.stop()
        await app.state.service.database.close()


async def stop_status(access: HttpAccessClient, stop_id: str) -> str:
    route = await access.today_route()
    return next(stop.status.value for stop in route.stops if stop.stop_id == stop_id)


async def test_an_item_waits_for_the_driver_who_queued_it(handheld):
    alice, alice_owner = await handheld.sign_in("alice")
    handheld.queue_delivery(alice_owner, "S1", "P1", "P2")  # no signal; alice quits
    await alice.aclose()

    bob, bob_owner = await handheld.sign_in("bob")
    handheld.queue_delivery(bob_owner, "T1", "Q1")
    result = await OutboxSync(bob, handheld.outbox).send_batch(bob_owner)
    assert (result.sent, result.refused) == (1, ())  # bob's own item only
    [waiting] = handheld.outbox.items()
    assert (waiting.owner, waiting.state) == (alice_owner, OutboxState.PENDING)
    await bob.aclose()

    alice, alice_owner = await handheld.sign_in("alice")
    assert handheld.outbox.count(owner=alice_owner) == 1  # what she sees at sign-in
    result = await OutboxSync(alice, handheld.outbox).send_batch(alice_owner)
    assert (result.sent, handheld.outbox.size()) == (1, 0)
    assert await stop_status(alice, "S1") == "delivered"
    await alice.aclose()


async def test_a_refused_item_is_held_with_its_reason_and_can_be_retried(handheld):
    alice, owner = await handheld.sign_in("alice")
    handheld.queue_delivery(owner, "T1", "Q1")  # bob's stop: not on alice's route
    handheld.queue_delivery(owner, "S3", "P4")
    sync = OutboxSync(alice, handheld.outbox)
    result = await sync.send_batch(owner)
    assert (result.sent, result.refused) == (1, ("not_on_route",))
    [held] = handheld.outbox.items(OutboxState.HELD)
    assert (held.reason, handheld.outbox.size()) == ("not_on_route", 1)  # never deleted
    assert (await sync.send_batch(owner)).sent == 0  # held items are not resent on their own
    assert handheld.outbox.release() == 1
    assert (await sync.send_batch(owner)).refused == ("not_on_route",)
    assert handheld.outbox.count(state=OutboxState.HELD) == 1
    await alice.aclose()


async def test_an_item_that_keeps_failing_never_blocks_the_others(handheld):
    alice, owner = await handheld.sign_in("alice", transport=PoisonTransport())
    handheld.queue_delivery(owner, "S1", "P1", delivery_id=POISON)
    handheld.queue_delivery(owner, "S1", "P2")
    sync = OutboxSync(alice, handheld.outbox)
    first = await sync.send_batch(owner)
    assert (first.sent, first.deferred) == (1, 1)
    handheld.queue_delivery(owner, "S3", "P4")
    second = await sync.send_batch(owner)
    assert (second.sent, second.deferred) == (1, 1)  # the newer, healthy item went first
    [stuck] = handheld.outbox.items()
    assert (stuck.key, stuck.state, stuck.attempts, stuck.reason) == (
        str(POISON),
        "pending",
        2,
        "internal_error",
    )
    assert await stop_status(alice, "S3") == "delivered"
    await alice.aclose()


async def test_the_same_parcel_under_a_new_delivery_id_is_held_not_recorded_twice(handheld):
    alice, owner = await handheld.sign_in("alice")
    handheld.queue_delivery(owner, "S1", "P1")
    handheld.queue_delivery(owner, "S1", "P1")  # a second tap: another delivery id
    result = await OutboxSync(alice, handheld.outbox).send_batch(owner)
    assert (result.sent, result.refused) == (1, ("already_delivered",))
    [held] = handheld.outbox.items(OutboxState.HELD)
    assert held.reason == "already_delivered"
    await alice.aclose()


async def test_a_rejected_receipt_is_held_not_deleted(handheld):
    alice, owner = await handheld.sign_in("alice")
    forged = sign_receipt(
        Receipt("A-S", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, int(NOON.timestamp())),
        scenario().door("A-N").private_key,
    )
    good = sign_receipt(
        Receipt("A-N", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, int(NOON.timestamp())),
        scenario().door("A-N").private_key,
    )
    handheld.outbox.put(OutboxKind.RECEIPT, "forged", forged, owner)
    handheld.outbox.put(OutboxKind.RECEIPT, "good", good, owner)
    result = await OutboxSync(alice, handheld.outbox).send_batch(owner)
    assert (result.sent, result.refused) == (1, ("receipt_bad_signature",))
    [held] = handheld.outbox.items(OutboxState.HELD)
    assert (held.key, held.payload) == ("forged", forged)
    await alice.aclose()


async def test_the_workflow_sends_only_as_its_owner_and_says_so_at_the_next_sign_in(handheld, tmp_path):
    """The whole app core on a shared handheld: A's confirmation survives B's session untouched."""
    credentials = MemoryCredentialStore()  # one handheld, one keyring: each driver gets a key in it

    def workflow(driver_id: str, states: list[RouteState] | None = None) -> DriverWorkflow:
        access = HttpAccessClient(handheld.url, clock=SystemClock())
        return DriverWorkflow(
            access=access,
            doors=FakeDoors(FakeClock(), []),
            credentials=credentials,
            outbox=handheld.outbox,
            clock=SystemClock(),
            on_change=(states if states is not None else []).append,
            on_close=(access.aclose,),
        )

    alice = workflow("alice")
    await alice.sign_in("alice", PASSWORDS["alice"])
    await alice.aclose()
    key = Ed25519PrivateKey.from_private_bytes(credentials.get(handheld_key_entry("alice")) or b"")
    owner = OutboxOwner("alice", b64url_encode(derive_key_id(public_key_bytes(key))))
    handheld.queue_delivery(owner, "S1", "P1", "P2")  # queued with no signal; alice quits

    bob = workflow("bob")
    await bob.sign_in("bob", PASSWORDS["bob"])
    await bob.load_route()
    assert await bob.sync_outbox() == 0
    assert (bob.state.outbox_size, bob.state.outbox_waiting, bob.state.outbox_held) == (1, 1, 0)
    await bob.aclose()

    states: list[RouteState] = []
    alice = workflow("alice", states)
    await alice.sign_in("alice", PASSWORDS["alice"])
    assert any(s.notice is not None and s.notice.reason == "outbox_from_earlier" for s in states)
    await alice.load_route()  # sends what was queued first
    assert alice.state.outbox_size == 0 and alice.state.notice is None
    assert alice.state.stops["S1"].phase.value == "delivered"
    await alice.aclose()
