"""The runner's label fetch refuses listings that would write outside its folder, and non-mock buildings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from driver_app.runner import dev_labels
from driver_app.runner.dev_labels import LabelFetchError, fetch_labels


def _serve(monkeypatch: pytest.MonkeyPatch, handler) -> None:
    def with_auth(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/sign-in":
            return httpx.Response(200, json={"access_token": "t", "refresh_token": "r", "expires_in": 60})
        if request.url.path == "/v1/auth/sign-out":
            return httpx.Response(204)
        assert request.headers["Authorization"] == "Bearer t"
        return handler(request)

    real = httpx.Client
    monkeypatch.setattr(
        dev_labels.httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(with_auth), **kw)
    )


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "a\\b.png", "..", "notes.txt", 7])
def test_a_bad_name_in_the_listing_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: object
) -> None:
    _serve(monkeypatch, lambda request: httpx.Response(200, json={"labels": [name]}))
    with pytest.raises(LabelFetchError) as caught:
        fetch_labels("http://building", tmp_path / "out", "d", "pw")
    assert caught.value.reason == "labels_malformed"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_building_without_the_dev_endpoint_is_labels_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _serve(monkeypatch, lambda request: httpx.Response(404, json={"reason": "not_found"}))
    with pytest.raises(LabelFetchError) as caught:
        fetch_labels("http://building", tmp_path, "d", "pw")
    assert caught.value.reason == "labels_unavailable"


def test_every_listed_label_is_downloaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/dev/labels":
            return httpx.Response(200, json={"labels": ["P1.png", "P2.png"]})
        return httpx.Response(200, content=request.url.path.encode())

    _serve(monkeypatch, handler)
    written = fetch_labels("http://building/", tmp_path, "d", "pw")
    assert [p.name for p in written] == ["P1.png", "P2.png"]
    assert (tmp_path / "P2.png").read_bytes() == b"/v1/dev/labels/P2.png"
