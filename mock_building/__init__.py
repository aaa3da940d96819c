"""Everything on the other side of the driver app: the access service and emulated BLE doors."""
