"""Polygon repair and area, shared by every converter and by the ground truth of the evaluators.

The released files contain polygons that generic tools choke on: fewer than 3 points (pycocotools reads a
4-number polygon as a box and crashes on shorter ones), empty lists, and items whose every polygon is
degenerate. :func:`repair_polygons` is the one rule df2kit applies everywhere, and it reports each repair so
that nothing is changed silently:

* a polygon with fewer than 3 points is dropped (``dropped-degenerate``);
* an item left without any polygon gets its bounding box as a 4-point polygon (``box-as-polygon``), so the
  item keeps a mask and is never dropped.

Closed polygons (first point repeated) and self-touching ones are left as they are: they rasterize fine.

>>> import numpy as np
>>> polys, notes = repair_polygons([np.array([[0, 0], [5, 5]])], (0, 0, 10, 10))
>>> notes, polys[0].tolist()
(['dropped-degenerate', 'box-as-polygon'], [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["polygon_area", "polygons_area", "repair_polygons"]


def _as_points(poly: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(poly, dtype=np.float64)
    return arr.reshape(-1, 2) if arr.ndim == 1 else arr


def repair_polygons(
    polygons: Sequence[Sequence[float] | np.ndarray], bbox_xyxy: Sequence[float]
) -> tuple[list[np.ndarray], list[str]]:
    """Apply df2kit's polygon rule (module docstring). Returns ``(polygons as (P, 2) arrays, repair notes)``."""
    kept: list[np.ndarray] = []
    notes: list[str] = []
    for poly in polygons:
        pts = _as_points(poly)
        if len(pts) < 3:
            notes.append("dropped-degenerate")
            continue
        kept.append(pts)
    if not kept:
        x1, y1, x2, y2 = (float(v) for v in bbox_xyxy)
        kept.append(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64))
        notes.append("box-as-polygon")
    return kept, notes


def polygon_area(poly: Sequence[float] | np.ndarray) -> float:
    """Area of one simple polygon by the shoelace formula (absolute value)."""
    p = _as_points(poly)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygons_area(polygons: Sequence[Sequence[float] | np.ndarray]) -> float:
    """Sum of the polygons' areas (overlapping parts counted twice; parts of one item rarely overlap)."""
    return float(sum(polygon_area(p) for p in polygons))
