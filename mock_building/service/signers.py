"""Carriers' grant-signing keys, as the database names them.

Several workers share one database; a rotation made by one of them changes the carrier's kid in
the database and stores the new key. Every other worker loads that key the first time it needs the
carrier's signer (the gate already reads the kid with each grant), so no worker keeps signing with,
or publishing to doors, a key that was retired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.service.storage import Executor
from mock_building.service.storage import upkeep as store
from protocol.keys import load_private_key

__all__ = ["CarrierSigner", "CarrierSigners"]


@dataclass(frozen=True)
class CarrierSigner:
    """A carrier's grant-signing key; the carrier id is also the grant's issuer."""

    carrier_id: str
    kid: bytes
    private_key: Ed25519PrivateKey


class CarrierSigners:
    """The signers this process holds (the scenario's keys to start with), kept to the database's kids."""

    def __init__(self, known: Mapping[str, CarrierSigner]) -> None:
        self._known = dict(known)

    async def current(self, db: Executor, carrier_id: str) -> CarrierSigner | None:
        """The carrier's signer for the kid the database names now; None for an unknown carrier."""
        return await self.for_kid(db, carrier_id, await store.carrier_kid(db, carrier_id))

    async def for_kid(self, db: Executor, carrier_id: str, kid: str | None) -> CarrierSigner | None:
        """The carrier's signer, given the kid the caller just read from the database."""
        signer = self._known.get(carrier_id)
        if signer is None or kid is None or signer.kid == kid.encode("ascii"):
            return signer
        stored = await store.carrier_key(db, carrier_id)
        if stored is not None and stored.kid == kid:  # rotated, maybe by another worker
            signer = CarrierSigner(carrier_id, kid.encode("ascii"), load_private_key(stored.private_key))
            self._known[carrier_id] = signer
        return signer

    def replace(self, signer: CarrierSigner) -> None:
        """This process rotated the carrier's key (and stored it)."""
        self._known[signer.carrier_id] = signer
