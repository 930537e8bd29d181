"""The official Match R-CNN baseline numbers of the DeepFashion2 README (trained on the released training set,
evaluated on validation), shown beside ours in the report.

Tables 2/3 (boxes), 4/5 (landmarks, "vis" and "vis && hide"), 6/7 (masks) and 8 (retrieval, detected boxes).
Per-subset values are in the order of :data:`df2kit.layout.ATTRIBUTE_LEVELS` (scale small/moderate/large,
occlusion slight/medium/heavy, zoom_in no/medium/large, viewpoint no wear/frontal/side or back), then overall.
The README's per-subset "overall" column differs slightly from its Tables 2, 4 and 6; both are kept as published.

>>> BASELINE_OVERALL["detection"]["AP"]
0.638
>>> baseline_subsets("segmentation")["occlusion"]["heavy"]["AP50"]
0.543
"""

from __future__ import annotations

from ..layout import ATTRIBUTE_LEVELS

__all__ = ["BASELINE_OVERALL", "BASELINE_RETRIEVAL", "SOURCE", "baseline_subsets"]

SOURCE = "DeepFashion2 README, Match R-CNN trained on the released training set, validation set"

#: Tables 2, 4 and 6: {task: {metric: value}}; landmarks has one entry per ground-truth variant.
BASELINE_OVERALL: dict[str, dict[str, float]] = {
    "detection": {"AP": 0.638, "AP50": 0.789, "AP75": 0.745},
    "landmarks vis": {"AP": 0.605, "AP50": 0.790, "AP75": 0.684},
    "landmarks vis && hide": {"AP": 0.529, "AP50": 0.775, "AP75": 0.596},
    "segmentation": {"AP": 0.640, "AP50": 0.797, "AP75": 0.754},
}

#: Table 8 (detected boxes): feature variant -> top-1, 5, 10, 15, 20. df2kit's baseline matches "class+keys".
BASELINE_RETRIEVAL: dict[str, dict[str, float]] = {
    "class": {"top1": 0.079, "top5": 0.198, "top10": 0.273, "top15": 0.329, "top20": 0.366},
    "keypoints": {"top1": 0.182, "top5": 0.326, "top10": 0.416, "top15": 0.469, "top20": 0.510},
    "segmentation": {"top1": 0.135, "top5": 0.271, "top10": 0.350, "top15": 0.407, "top20": 0.447},
    "class+keys": {"top1": 0.192, "top5": 0.345, "top10": 0.435, "top15": 0.488, "top20": 0.524},
    "class+seg": {"top1": 0.152, "top5": 0.295, "top10": 0.379, "top15": 0.435, "top20": 0.477},
}

# 13 values per metric: 12 attribute levels then overall (README Tables 3, 5, 7).
_SUBSETS: dict[str, dict[str, tuple[float, ...]]] = {
    "detection": {
        "AP": (0.604, 0.700, 0.660, 0.712, 0.654, 0.372, 0.695, 0.629, 0.466, 0.624, 0.681, 0.641, 0.667),
        "AP50": (0.780, 0.851, 0.768, 0.844, 0.810, 0.531, 0.848, 0.755, 0.563, 0.713, 0.832, 0.796, 0.814),
        "AP75": (0.717, 0.809, 0.744, 0.812, 0.768, 0.433, 0.806, 0.718, 0.525, 0.688, 0.791, 0.744, 0.773),
    },
    "landmarks vis": {
        "AP": (0.587, 0.687, 0.599, 0.669, 0.631, 0.398, 0.688, 0.559, 0.375, 0.527, 0.677, 0.536, 0.641),
        "AP50": (0.780, 0.854, 0.782, 0.851, 0.813, 0.534, 0.855, 0.757, 0.571, 0.724, 0.846, 0.748, 0.820),
        "AP75": (0.671, 0.779, 0.678, 0.760, 0.718, 0.440, 0.786, 0.633, 0.390, 0.571, 0.771, 0.610, 0.728),
    },
    "landmarks vis && hide": {
        "AP": (0.497, 0.607, 0.555, 0.643, 0.530, 0.248, 0.616, 0.489, 0.319, 0.510, 0.596, 0.456, 0.563),
        "AP50": (0.764, 0.839, 0.774, 0.847, 0.799, 0.479, 0.848, 0.744, 0.549, 0.716, 0.832, 0.727, 0.805),
        "AP75": (0.551, 0.703, 0.625, 0.739, 0.600, 0.236, 0.714, 0.537, 0.307, 0.550, 0.684, 0.506, 0.641),
    },
    "segmentation": {
        "AP": (0.634, 0.703, 0.666, 0.720, 0.656, 0.381, 0.701, 0.637, 0.478, 0.664, 0.689, 0.635, 0.674),
        "AP50": (0.811, 0.865, 0.798, 0.863, 0.824, 0.543, 0.861, 0.791, 0.591, 0.757, 0.849, 0.811, 0.834),
        "AP75": (0.752, 0.826, 0.773, 0.836, 0.780, 0.444, 0.823, 0.751, 0.559, 0.737, 0.810, 0.755, 0.793),
    },
}


def baseline_subsets(task: str) -> dict[str, dict[str, dict[str, float]]]:
    """``{attribute: {level: {metric: value}}, "overall": {"": {...}}}`` for one task key of _SUBSETS."""
    table = _SUBSETS[task]
    out: dict[str, dict[str, dict[str, float]]] = {}
    k = 0
    for attr, levels in ATTRIBUTE_LEVELS.items():
        for lvl in levels:
            out.setdefault(attr, {})[lvl] = {m: vals[k] for m, vals in table.items()}
            k += 1
    out["overall"] = {"": {m: vals[k] for m, vals in table.items()}}
    return out
