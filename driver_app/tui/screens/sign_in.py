"""Sign-in: driver id and password; a refusal shows the notice under the form."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Input, Label

from driver_app.tui.screens.base import LobbyScreen
from driver_app.tui.widgets.activity import ActivityLine
from driver_app.tui.widgets.notice import NoticeBox


class SignInScreen(LobbyScreen):
    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="sign-in"):
            yield Label("Driver id")
            yield Input(id="driver-id", placeholder="driver id")
            yield Label("Password")
            yield Input(id="password", password=True, placeholder="password")
            yield Button("Sign in", id="sign-in-button", variant="primary")
            yield ActivityLine(self.driver_app.clock.monotonic, id="activity")
            yield NoticeBox(self.driver_app.clock.monotonic, id="notice")

    def on_mount(self) -> None:
        super().on_mount()
        box = self.query_one(NoticeBox)
        self.watch(self.app, "session_notice", lambda notice: box.show(notice))  # one argument: the new value
        self.query_one("#driver-id", Input).focus()

    @on(Input.Submitted, "#driver-id")
    def _next_field(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in-button")
    def _submit(self) -> None:
        driver_id = self.query_one("#driver-id", Input).value.strip()
        password = self.query_one("#password", Input).value
        if driver_id and password:
            self.driver_app.sign_in(driver_id, password)
