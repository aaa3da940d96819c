"""Which symbol of a scanned label names a parcel: the route-matching rule for labels with several codes.

A label carries a 1D tracking code and a 2D routing code, and the camera may also catch a
neighbouring label. A symbol that is a parcel of the current stop wins; else one that is a
parcel anywhere on the route; only when no symbol is a parcel is the label unknown, so a
non-matching symbol can never turn a good label into "not on route".
"""

from __future__ import annotations

from .ports import Scan
from .route_index import PackageRef, RouteIndex

__all__ = ["pick_parcel"]


def pick_parcel(index: RouteIndex, scan: Scan, current_stop_id: str | None) -> PackageRef | None:
    """The parcel the scan names, preferring the current stop; None when no symbol is on the route."""
    refs = [ref for text in (scan.text, *scan.others) if (ref := index.package_for(text)) is not None]
    return next((ref for ref in refs if ref.stop_id == current_stop_id), refs[0] if refs else None)
