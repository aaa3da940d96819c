"""Who is signed in on this handheld: the refresh token, the driver id and the registered handheld key.

Kept apart from the delivery flow so the flow only asks "which key signs?" and never touches the
credential store itself.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.core.errors import ClientReason, WorkflowError
from driver_app.core.handheld import DRIVER_ID, REFRESH_TOKEN, handheld_key, public_raw
from driver_app.core.ports import AccessClient, CredentialStore, OutboxOwner
from protocol.api import b64url_encode

__all__ = ["Session"]


class Session:
    """Signs in or resumes, then registers the handheld key; `key`/`key_id` raise until then."""

    def __init__(
        self,
        access: AccessClient,
        credentials: CredentialStore,
        generate_key: Callable[[], Ed25519PrivateKey],
    ) -> None:
        self._access = access
        self._credentials = credentials
        self._generate_key = generate_key
        self._key: Ed25519PrivateKey | None = None
        self._key_id: bytes | None = None
        self.driver_name: str | None = None

    async def sign_in(self, driver_id: str, password: str) -> None:
        """Raises `WorkflowError` (e.g. invalid_credentials) so the sign-in screen can show it."""
        session = await self._access.sign_in(driver_id, password)
        self._credentials.put(REFRESH_TOKEN, session.refresh_token.encode())
        self._credentials.put(DRIVER_ID, driver_id.encode())
        await self._register(driver_id)

    async def resume(self) -> bool:
        """Sign in with the stored refresh token; False when there is none or the service refused it."""
        token = self._credentials.get(REFRESH_TOKEN)
        if token is None:
            return False
        try:
            session = await self._access.resume(token.decode())
        except WorkflowError as err:
            if err.retryable:
                raise
            self._credentials.delete(REFRESH_TOKEN)
            self._credentials.delete(DRIVER_ID)
            return False
        self._credentials.put(REFRESH_TOKEN, session.refresh_token.encode())
        driver_id = self._credentials.get(DRIVER_ID)
        await self._register(driver_id.decode() if driver_id else None)
        return True

    async def sign_out(self) -> bool:
        """Forget the session on this handheld, and end it at the service if it answers.

        The refresh token and driver id leave the credential store whatever happens; the driver's
        handheld key stays (it is theirs on this device). Returns False when the service could not be told, so
        the UI can say the session will only lapse there when its refresh token expires.
        """
        stored = self._credentials.get(REFRESH_TOKEN)
        self._key_id = None
        self.driver_name = None
        try:
            await self._access.sign_out(stored.decode() if stored else None)
        except WorkflowError:
            return False
        finally:
            self._credentials.delete(REFRESH_TOKEN)
            self._credentials.delete(DRIVER_ID)
        return True

    async def _register(self, driver_name: str | None) -> None:
        self._key = handheld_key(self._credentials, self._generate_key, driver_name)
        self._key_id = await self._access.register_handheld(public_raw(self._key))
        self.driver_name = driver_name

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            raise WorkflowError(ClientReason.NOT_SIGNED_IN, "sign in first")
        return self._key

    @property
    def key_id(self) -> bytes:
        if self._key_id is None:
            raise WorkflowError(ClientReason.NOT_SIGNED_IN, "sign in first")
        return self._key_id

    @property
    def owner(self) -> OutboxOwner:
        """The identity outbox items are queued under (this driver, this handheld key) and sent as."""
        return OutboxOwner(self.driver_name or "", b64url_encode(self.key_id))

    @property
    def credentials_description(self) -> str:
        return self._credentials.description

    @property
    def credentials_persistent(self) -> bool:
        return self._credentials.persistent
