"""Fetch a mock building's parcel labels when `run-route` is given no `--labels` folder.

The mock building renders its scenario's labels at start and serves them on the mock-only
`GET /v1/dev/labels` (a listing) and `GET /v1/dev/labels/<name>.png`; a real building has no such
endpoint. Fetching over HTTP keeps the runner independent of `mock_building` and of where the
building keeps its data directory. The building hands out only the signed-in driver's own labels
(and only in demo mode), so the fetch signs in as the run's driver and signs out after.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import httpx

from driver_app.core.errors import WorkflowError
from protocol.api import API_PREFIX

__all__ = ["LabelFetchError", "fetch_labels"]

_TIMEOUT_S = 10.0


class LabelFetchError(WorkflowError):
    """The building did not hand out its labels (labels_unavailable, labels_malformed)."""

    title = "No labels"


def fetch_labels(access_url: str, out_dir: Path, driver_id: str, password: str) -> list[Path]:
    """Download every label the building lists for `driver_id` into `out_dir`; returns the files written."""
    base = f"{access_url.rstrip('/')}{API_PREFIX}"
    try:
        with httpx.Client(timeout=_TIMEOUT_S) as client:
            tokens = client.post(f"{base}/auth/sign-in", json={"driver_id": driver_id, "password": password})
            tokens.raise_for_status()
            client.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
            try:
                return _download(client, f"{base}/dev/labels", access_url, out_dir)
            finally:
                client.post(f"{base}/auth/sign-out")
    except httpx.HTTPError as err:
        raise LabelFetchError("labels_unavailable", f"cannot fetch labels from {access_url}: {err}") from err


def _download(client: httpx.Client, base: str, access_url: str, out_dir: Path) -> list[Path]:
    listing = client.get(base)
    if listing.status_code == 404:
        raise LabelFetchError(
            "labels_unavailable", f"{access_url} serves no labels (not a mock building in demo mode?)"
        )
    listing.raise_for_status()
    names = _names(listing.json())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        answer = client.get(f"{base}/{name}")
        answer.raise_for_status()
        path = out_dir / name
        path.write_bytes(answer.content)
        written.append(path)
    return written


def _names(body: object) -> list[str]:
    """Only plain `<id>.png` names: a listing must never steer a write outside `out_dir`."""
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, list) or not all(isinstance(n, str) for n in labels):
        raise LabelFetchError("labels_malformed", 'the label listing is not {"labels": [name, ...]}')
    for name in labels:
        if (
            PurePosixPath(name).name != name
            or name in {"", ".", ".."}
            or "\\" in name
            or not name.endswith(".png")
        ):
            raise LabelFetchError("labels_malformed", f"the label listing names a bad file {name!r}")
    return labels
