"""`BumbleScannerBackend`: bleak's scanner contract over the emulated adapter."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bumble.device import Advertisement

from driver_app.adapters.ble_sim.advertisement import advertisement_data
from driver_app.adapters.ble_sim.central import SimCentral, SimHandheld, default_handheld


class BumbleScannerBackend(BaseBleakScanner):
    """Pass as `BleakScanner(..., backend=BumbleScannerBackend)`.

    Devices are keyed and addressed by their Bluetooth address; `BLEDevice.details` holds the
    bumble `hci.Address` (with its address type) that `BumbleClientBackend` connects to.
    """

    handheld: ClassVar[SimHandheld | None] = None
    """The emulated phone this backend uses; None: the process's default one."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        # The emulated controller never sends scan responses of its own, so passive and
        # active scanning see the same data; the mode is accepted for API parity.
        del scanning_mode, kwargs
        self._central: SimCentral | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._central = await (self.handheld or default_handheld()).listening()
        await self._central.start_scanning(self._on_advertisement)

    async def stop(self) -> None:
        central, self._central = self._central, None
        if central is not None:
            await central.stop_scanning(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, adv.local_name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)
