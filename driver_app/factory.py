"""The one place that wires the workflow core to real adapters, for the TUI and the headless runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
from protocol.api import TokenResponse


def _ignore(_: RouteState) -> None:
    return None


def build_door_link(
    settings: Settings, on_change: Callable[[RouteState], None]
) -> tuple[BleakDoorLink, Callable[[RouteState], None], Callable[[], Awaitable[None]] | None]:
    """bleak with the OS backend, or with bumble backends on this workflow's own emulated handheld.

    In sim mode the handheld stands at the building of the stop being worked (real phones are
    where their drivers are; the virtual radio has to be told), so route changes go through it
    before reaching `on_change`.
    """
    if settings.ble_mode is BleMode.SYSTEM:
        return BleakDoorLink(), on_change, None
    # Imported only in sim mode: bumble costs ~0.4 s to import and real handhelds never need it
    # (nor install it: it comes with the `sim-radio` extra).
    try:
        from driver_app.adapters.ble_sim import SimHandheld, SimRadioAddress
    except ModuleNotFoundError as err:
        raise DoorUnreachable(
            ClientReason.SIM_RADIO_NOT_INSTALLED,
            f"ble_mode=sim needs the sim radio support ({err.name} is missing): pip install 'lobbykey[sim-radio]'",
        ) from err

    handheld = SimHandheld(SimRadioAddress(*settings.radio_host_port()))
    scanner, client = handheld.backends()

    def placing(state: RouteState) -> None:
        handheld.move_to(_building_of_current_stop(state))
        on_change(state)

    return BleakDoorLink(scanner_backend=scanner, client_backend=client), placing, handheld.detach


def _building_of_current_stop(state: RouteState) -> str | None:
    if state.route is None or state.current_stop_id is None:
        return None
    stops = state.route.stops
    return next((s.building.building_id for s in stops if s.stop_id == state.current_stop_id), None)


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
    doors, on_change, detach = build_door_link(settings, on_change)
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
