"""The one place that wires the workflow core to real adapters, for the TUI and the headless runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from protocol.api import TokenResponse

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.adapters.clock import SystemClock
from driver_app.adapters.door_bleak import BleakDoorLink
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import ClientReason, DoorUnreachable
from driver_app.core.handheld import REFRESH_TOKEN
from driver_app.core.ports import Clock, CredentialStore
from driver_app.core.state import RouteState
from driver_app.core.workflow import DriverWorkflow
from driver_app.paths import outbox_file
from driver_app.settings import BleMode, Settings


def _ignore(_: RouteState) -> None:
    return None


def build_door_link(
    settings: Settings,
) -> tuple[BleakDoorLink, Callable[[], Awaitable[None]] | None]:
    """bleak with the OS backend, or with the bumble backends attached to a mock building's radio."""
    if settings.ble_mode is BleMode.SYSTEM:
        return BleakDoorLink(), None
    # Imported only in sim mode: bumble costs ~0.4 s to import and real handhelds never need it
    # (nor install it: it comes with the `sim-radio` extra).
    try:
        from driver_app.adapters.ble_sim import (
            BumbleClientBackend,
            BumbleScannerBackend,
            configure_sim_radio,
            detach_sim_radio,
        )
    except ModuleNotFoundError as err:
        raise DoorUnreachable(
            ClientReason.SIM_RADIO_NOT_INSTALLED,
            f"ble_mode=sim needs the sim radio support ({err.name} is missing): pip install 'lobbykey[sim-radio]'",
        ) from err

    configure_sim_radio(*settings.radio_host_port())
    link = BleakDoorLink(scanner_backend=BumbleScannerBackend, client_backend=BumbleClientBackend)
    return link, detach_sim_radio


def build_workflow(
    settings: Settings,
    *,
    credentials: CredentialStore | None = None,
    on_change: Callable[[RouteState], None] = _ignore,
    clock: Clock | None = None,
) -> DriverWorkflow:
    """Raises `CredentialsUnavailable` (insecure_keyring) when no safe keyring exists and the
    settings do not opt in; pass `MemoryCredentialStore()` for the demo."""
    if credentials is None:
        from driver_app.adapters.credentials_keyring import open_credential_store

        credentials = open_credential_store(allow_insecure=settings.allow_insecure_keyring)
    store = credentials
    clock = clock or SystemClock()

    def keep_refresh_token(tokens: TokenResponse) -> None:
        store.put(REFRESH_TOKEN, tokens.refresh_token.encode())

    access = HttpAccessClient(
        settings.access_url,
        clock=clock,
        timeout=settings.request_timeout,
        on_tokens=keep_refresh_token,
    )
    doors, detach = build_door_link(settings)
    outbox = SqliteOutbox(outbox_file(settings.data_dir))

    async def close() -> None:
        await access.aclose()
        outbox.close()
        if detach is not None:
            await detach()

    return DriverWorkflow(
        access=access,
        doors=doors,
        credentials=store,
        outbox=outbox,
        clock=clock,
        on_change=on_change,
        find_timeout=settings.find_timeout,
        on_close=(close,),
    )
