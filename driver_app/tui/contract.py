"""What the TUI needs from the rest of the app: any object with these members will do.

The real `DriverWorkflow` satisfies `Workflow`; tests pass a fake, and the integrator's Pilot tests a
workflow wired to a mock building. Nothing here imports an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from driver_app.core.ports import DoorOutcome, NearbyDoor, Scan
from driver_app.core.state import RouteState, ScanVerdict

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CameraFactory", "CameraScanner", "Workflow", "WorkflowFactory"]


class Workflow(Protocol):
    """The part of `driver_app.core.workflow.DriverWorkflow` the screens drive."""

    state: RouteState

    @property
    def credentials_description(self) -> str: ...

    @property
    def credentials_persistent(self) -> bool: ...

    async def sign_in(self, driver_id: str, password: str) -> None: ...

    async def resume_session(self) -> bool: ...

    async def sign_out(self) -> bool: ...

    async def load_route(self) -> RouteState: ...

    def select_stop(self, stop_id: str) -> None: ...

    async def find_doors(self) -> tuple[NearbyDoor, ...]: ...

    async def submit_scan(self, scan: Scan) -> ScanVerdict: ...

    async def unlock(self, door_id: str | None = None) -> DoorOutcome: ...

    async def confirm_delivery(self) -> None: ...

    async def sync_outbox(self) -> int: ...

    async def aclose(self) -> None: ...


#: Builds the workflow, given the callback it must call (on the event loop) after every state change.
WorkflowFactory = Callable[[Callable[[RouteState], None]], Workflow]


class CameraScanner(Protocol):
    """Blocking frame source + decoder, run in a thread worker; `close` releases the device."""

    description: str

    def frames(self) -> Iterator[np.ndarray]: ...

    def reads(self, frame: np.ndarray) -> Sequence[Scan]:
        """Confirmed reads in this frame (the scanner does multi-frame confirmation itself)."""
        ...

    def close(self) -> None: ...


#: Opens the configured camera (device index, video file or folder of images) when the driver asks.
CameraFactory = Callable[[], CameraScanner]
