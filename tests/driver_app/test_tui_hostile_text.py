"""Text from outside (barcodes, addresses, names) is shown literally: no markup, no escapes, no crash."""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.widgets import OptionList, Static

from driver_app.core.display_text import printable
from driver_app.core.ports import Scan, ScanSource
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.widgets.camera import CameraPanel
from tests.tui_fakes import ROUTE, make_rig, prompt_of, sign_in

HOSTILE = [
    "\x1b[2J",
    "[bold]x[/]",
    "a\x00b",
    "\u202eevil\u202c",
    "$accent [b]\x07\x9b31m",
    "[@click=app.quit]quit[/]",
]


def rendered(widget: Static) -> Content:
    """What the widget paints: Content (not markup), so a test can read its plain text and spans."""
    content = widget.render()
    assert isinstance(content, Content)
    return content


@pytest.mark.parametrize("size", [(40, 20), (80, 24)])
async def test_hostile_barcodes_are_shown_literally(size: tuple[int, int]) -> None:
    rig = make_rig()
    async with rig.app.run_test(size=size) as pilot:
        await sign_in(pilot)
        await pilot.press("enter")
        await pilot.pause()
        for text in HOSTILE:
            rig.app.screen.query_one(CameraPanel).post_message(
                CameraPanel.Read(Scan(text, ScanSource.CAMERA))
            )
            await pilot.pause()
            await rig.app.workers.wait_for_complete()
            await pilot.pause()
            content = rendered(rig.app.screen.query_one("VerdictLine", Static))
            first_line = content.plain.split("\n")[0]
            assert first_line == "camera: " + printable(text)
            assert all(span.start > len(first_line) for span in content.spans)  # no style in the read
            assert (
                "\x1b" not in content.plain and "\x00" not in content.plain and "\u202e" not in content.plain
            )
        # clicking the text of a would-be link does nothing: the app is still here, on the same screen
        await pilot.click("VerdictLine")
        await pilot.pause()
        assert rig.app.is_running and isinstance(rig.app.screen, StopScreen)
        verdict = rig.app.screen.query_one("VerdictLine", Static)
        lines = ["".join(seg.text for seg in verdict.render_line(y)) for y in range(verdict.size.height)]
        assert "[@click=app.quit]quit[/]" in "".join(lines)


async def test_hostile_route_text_is_shown_literally() -> None:
    evil = "[@click=app.quit]Elm[/] \x1b]0;pwned\x07"
    stops = list(ROUTE.stops)
    stops[0] = stops[0].model_copy(update={"address": evil})
    rig = make_rig(route=ROUTE.model_copy(update={"stops": tuple(stops)}))
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert isinstance(rig.app.screen, RouteScreen)
        assert printable(evil) in prompt_of(rig.app.screen.query_one(OptionList), 0).plain
        await pilot.press("enter")
        await pilot.pause()
        address = rendered(rig.app.screen.query_one("#address", Static))
        assert address.plain == "Stop 1: " + printable(evil)
        await pilot.click("#address")
        await pilot.pause()
        assert rig.app.is_running


async def test_hostile_wedge_burst_does_not_crash() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await sign_in(pilot)
        rig.keys.gap = 0.004
        await pilot.press(*"[b]x[/]", "\x1b", "[", "2", "J", *"[@click=app.quit]", "enter")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.app.is_running
        scan, _ = rig.last_scan
        assert scan.text == "[2J[@click=app.quit]"  # escape is not a scanner key: the run restarted after it
        shown = rendered(rig.app.screen.query_one("VerdictLine", Static))
        first = shown.plain.split("\n")[0]
        assert first == "wedge: [2J[@click=app.quit]"
        assert all(span.start > len(first) for span in shown.spans)  # no style inside the read text
