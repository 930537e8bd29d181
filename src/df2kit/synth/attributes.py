"""Item attributes computed from what was drawn.

* ``scale``: the item's visible mask area as a share of the image area;
* ``occlusion``: the share of the item's in-image silhouette covered by what is drawn over it (garments
  layered on top, hair, arms, bags, props);
* ``zoom_in``: the share of the item's silhouette that falls outside the image;
* ``viewpoint``: how the item was rendered (1 laid flat, 2 worn and seen from the front, 3 from the side or back).

The thresholds below turn the measured shares into the dataset's levels 1..3. They were chosen on the
generator's own output so that the level shares come out as in the DeepFashion2 README's Figure 3
(scale 26/50/24 %, occlusion 47/47/6 %, zoom-in 67/21/12 %; viewpoint 7/78/15 % comes from how often each
view is rendered); ``tests/synth`` checks the shares on a few thousand items.

>>> scale_level(0.01), scale_level(0.1), scale_level(0.6)
(1, 2, 3)
>>> zoom_level(0.0), occlusion_level(0.9)
(1, 3)
"""

from __future__ import annotations

__all__ = [
    "OCCLUSION_THRESHOLDS",
    "SCALE_THRESHOLDS",
    "VIEW_FLAT",
    "VIEW_FRONT",
    "VIEW_SIDE_OR_BACK",
    "ZOOM_THRESHOLDS",
    "occlusion_level",
    "scale_level",
    "zoom_level",
]

#: Visible mask area / image area: below the first -> small (1), below the second -> moderate (2), else large.
SCALE_THRESHOLDS = (0.077, 0.20)
#: Covered share of the in-image silhouette: below the first -> slight (1), below the second -> medium, else heavy.
OCCLUSION_THRESHOLDS = (0.03, 0.50)
#: Share of the silhouette outside the image: below the first -> none (1), below the second -> medium, else large.
ZOOM_THRESHOLDS = (0.02, 0.30)

VIEW_FLAT = 1
VIEW_FRONT = 2
VIEW_SIDE_OR_BACK = 3


def _level(x: float, th: tuple[float, float]) -> int:
    return 1 if x < th[0] else 2 if x < th[1] else 3


def scale_level(area_share: float) -> int:
    """Scale level from the visible mask area as a share of the image."""
    return _level(area_share, SCALE_THRESHOLDS)


def occlusion_level(covered_share: float) -> int:
    """Occlusion level from the covered share of the item's in-image silhouette."""
    return _level(covered_share, OCCLUSION_THRESHOLDS)


def zoom_level(outside_share: float) -> int:
    """Zoom-in level from the share of the item's silhouette outside the image."""
    return _level(outside_share, ZOOM_THRESHOLDS)
