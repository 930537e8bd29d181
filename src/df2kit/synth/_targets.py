"""The DeepFashion2 README's Figure 3, as numbers: what the generator's frequencies aim at.

Item counts per category were read off the bar chart (thousands); attribute shares are the pie charts'.
"""

from __future__ import annotations

#: Items per category id (thousands, read off the bar chart of Figure 3).
CATEGORY_COUNTS: dict[int, float] = {
    1: 189.0, 2: 94.0, 3: 5.0, 4: 37.0, 5: 42.0, 6: 8.0, 7: 91.0, 8: 146.0, 9: 82.0, 10: 46.0, 11: 24.0, 12: 48.0, 13: 19.0,
}  # fmt: skip

#: Shares (%) of the attribute levels 1, 2, 3 in Figure 3 (viewpoint 3 = side 8 % + back 7 %).
ATTRIBUTE_SHARES: dict[str, tuple[float, float, float]] = {
    "scale": (26.0, 50.0, 24.0),
    "occlusion": (47.0, 47.0, 6.0),
    "zoom_in": (67.0, 21.0, 12.0),
    "viewpoint": (7.0, 78.0, 15.0),
}
