"""`driver-app demo` brings up a real building with labels for the camera, and stops it after."""

from pathlib import Path

import httpx

from driver_app.demo import running_building


def test_the_demo_building_serves_its_driver_and_labels_then_stops(tmp_path: Path) -> None:
    with running_building(tmp_path, None) as building:
        signed_in = httpx.post(
            f"{building.access_url}/v1/auth/sign-in",
            json={"driver_id": building.driver_id, "password": building.password},
        )
        assert signed_in.status_code == 200, signed_in.text
        assert len(list(building.labels.glob("*.png"))) >= 9
        assert building.radio_address.startswith("127.0.0.1:")
        url = building.access_url
    try:
        httpx.get(f"{url}/openapi.json", timeout=2)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the demo building still answers after the demo ended")
