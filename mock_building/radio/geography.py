"""Where things are on the virtual radio, and how loud a door is heard from where a handheld stands.

Positions are metres on a flat map. A door stands at its building; a handheld stands where its
driver last said (the building of the stop being worked). Loss follows free space beyond the first
metre, so the doors of the building a driver stands in are heard at their own level (-50 dBm unless
a fault says otherwise), the next building's doors faintly, and buildings further away not at all.
Something that was never placed is heard, and hears, as if next door: a radio without geography
behaves like bumble's flat `LocalLink`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SENSITIVITY_DBM = -100
"""Below this a handheld hears nothing (a typical phone's BLE receiver floor)."""
BUILDING_SPACING_M = 200.0
"""Grid spacing of buildings a scenario does not place: neighbours are heard at about -96 dBm."""


@dataclass(frozen=True)
class Position:
    """A point on the map, in metres."""

    x: float
    y: float

    def distance_to(self, other: Position) -> float:
        return math.hypot(self.x - other.x, self.y - other.y)


def path_loss_db(distance_m: float) -> float:
    """Free-space-like loss relative to standing at the door: 0 dB at 0 m, 46 dB at 199 m."""
    return 20.0 * math.log10(1.0 + max(0.0, distance_m))


def heard_rssi(level_dbm: int, advertiser: Position | None, listener: Position | None) -> int | None:
    """The RSSI a listener reads for an advertiser whose level at its own spot is `level_dbm`;
    None when it is below the receiver's sensitivity. Unplaced ends are next to each other."""
    loss = 0.0 if advertiser is None or listener is None else path_loss_db(advertiser.distance_to(listener))
    rssi = round(level_dbm - loss)
    return rssi if rssi >= SENSITIVITY_DBM else None


def grid_layout(count: int, spacing_m: float = BUILDING_SPACING_M) -> list[Position]:
    """`count` positions on a square-ish grid, row by row: the default city of a scenario that
    places no building."""
    columns = max(1, math.ceil(math.sqrt(count)))
    return [Position((i % columns) * spacing_m, (i // columns) * spacing_m) for i in range(count)]
