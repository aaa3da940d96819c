"""The camera scanner: frames are read and decoded in a thread, the UI gets only the latest frame.

The thread talks to the UI only through `post_message`. A frame message replaces a pending one, so a
slow terminal drops preview frames instead of piling them up; reads are never dropped.
"""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from driver_app.core.errors import WorkflowError
from driver_app.core.messages import notice_for
from driver_app.core.ports import Scan
from driver_app.tui.contract import CameraFactory
from driver_app.tui.text import literal
from driver_app.tui.widgets.preview import CameraPreview

__all__ = ["CameraPanel"]


class CameraPanel(Widget):
    """Live preview + status line; `start()` opens the camera, `stop()` releases it and hides the panel.

    When the source ends or fails by itself the panel stays, so its status line says why.
    """

    DEFAULT_CSS = """
    CameraPanel { height: auto; display: none; }
    CameraPanel.-shown { display: block; }
    CameraPanel > #camera-status { height: 1; color: $text-muted; }
    """

    class FrameReady(Message):
        """High rate: a newer frame supersedes one still waiting in the queue."""

        def __init__(self, frame: np.ndarray) -> None:
            super().__init__()
            self.frame = frame

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, CameraPanel.FrameReady)

    class Read(Message):
        """A confirmed barcode read, for the app to judge."""

        def __init__(self, scan: Scan) -> None:
            super().__init__()
            self.scan = scan

    class Stopped(Message):
        """The source ran out (end of video or folder) or failed; `problem` says why, if it failed."""

        def __init__(self, problem: str | None) -> None:
            super().__init__()
            self.problem = problem

    def __init__(self, camera: CameraFactory | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._camera = camera

    @property
    def running(self) -> bool:
        return self.has_class("-running")

    def compose(self) -> ComposeResult:
        yield CameraPreview()
        yield Static(id="camera-status")

    def start(self) -> None:
        if self._camera is None or self.running:
            return
        self.add_class("-shown", "-running")
        self._set_status(Content("Camera starting…"))
        self._scan_frames(self._camera)

    def stop(self) -> None:
        self.workers.cancel_group(self, "camera")
        self.remove_class("-shown", "-running")

    @work(thread=True, exclusive=True, group="camera")
    def _scan_frames(self, camera: CameraFactory) -> None:
        worker = get_current_worker()
        problem: str | None = None
        try:
            scanner = camera()
        except WorkflowError as err:  # the adapter could not open the device: a status line
            self.post_message(self.Stopped(_problem(err)))
            return
        try:
            for frame in scanner.frames():
                if worker.is_cancelled:
                    break
                for scan in scanner.reads(frame):
                    self.post_message(self.Read(scan))
                self.post_message(self.FrameReady(frame))
        except WorkflowError as err:  # a source that fails mid-way: same (anything else is a bug)
            problem = _problem(err)
        finally:
            scanner.close()
        if not worker.is_cancelled:
            self.post_message(self.Stopped(problem))

    def on_camera_panel_frame_ready(self, message: FrameReady) -> None:
        self.query_one(CameraPreview).show_frame(message.frame)
        self._set_status(Content("Camera: hold the label in view"))

    def on_camera_panel_stopped(self, message: Stopped) -> None:
        self.remove_class("-running")
        self._set_status(literal(message.problem) if message.problem else Content("Camera stopped"))

    def _set_status(self, content: Content) -> None:
        self.query_one("#camera-status", Static).update(content)


def _problem(err: WorkflowError) -> str:
    """What the status line says: the reason's message and next step, then the adapter's detail."""
    notice = notice_for(err.reason)
    return f"Camera failed: {notice.message} — {notice.next_action} ({err.detail or err.reason})"
