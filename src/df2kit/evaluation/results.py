"""Frozen result records of the detection, landmark and segmentation scorers, with tables and JSON.

>>> r = evaluate("detection", "ROOT/validation", "results.json")   # doctest: +SKIP
>>> r.ap, r.ap50, r.ap75                                            # doctest: +SKIP
(0.638, 0.789, 0.745)
>>> print(r.format())                                               # doctest: +SKIP
>>> r.to_dict()["scores"][0]["per_category"][0]["ap"]               # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._table import format_table
from ..layout import ATTRIBUTE_LEVELS, ATTRIBUTES

__all__ = ["STAT_NAMES", "COCOScores", "CategoryScores", "SubsetScores", "TaskResult"]

#: The summary numbers of pycocotools' ``summarize()``, in its order.
STAT_NAMES = {
    "bbox": (
        "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
        "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large",
    ),
    "keypoints": ("AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large"),
}
STAT_NAMES["segm"] = STAT_NAMES["bbox"]

_TASK_TITLE = {"detection": "clothes detection (boxes)", "segmentation": "clothes segmentation (masks)",
               "landmarks": "landmark estimation (OKS)"}
_VARIANT_TITLE = {"": "", "vis": "vis", "vis_hide": "vis && hide"}


def _num(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


@dataclass(frozen=True)
class CategoryScores:
    """AP of one category (``None`` when the ground truth has no item of it that counts); ``num_gt`` is the
    number of items of the category, ``num_dt`` the results that take part (within maxDets per image)."""

    id: int
    name: str
    num_gt: int
    num_dt: int
    ap: float | None
    ap50: float | None
    ap75: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "num_gt": self.num_gt, "num_dt": self.num_dt,
                "ap": self.ap, "ap50": self.ap50, "ap75": self.ap75}


@dataclass(frozen=True)
class SubsetScores:
    """AP on one subset (README Tables 3, 5, 7): the items with ``attribute == level``.

    Rule: ground truth outside the subset is ignored and may absorb any number of detections, so a detection
    that matches it (and no subset item) counts neither as a true nor as a false positive; detections that
    match nothing are false positives in every subset. ``None`` when the subset has no item that counts;
    ``num_gt`` is the number of items in the subset.
    """

    attribute: str
    level: int
    name: str
    num_gt: int
    ap: float | None
    ap50: float | None
    ap75: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "level": self.level, "name": self.name, "num_gt": self.num_gt,
                "ap": self.ap, "ap50": self.ap50, "ap75": self.ap75}


@dataclass(frozen=True, eq=False)
class COCOScores:
    """One COCO scoring: the summary numbers, per-category AP, precision-recall curves, subsets.

    ``precision`` is pycocotools' ``eval['precision']`` at area "all" and the largest maxDets:
    (IoU thresholds, 101 recall points, categories), -1 where a category has no ground truth.
    """

    variant: str  #: "" (boxes, masks), "vis" or "vis_hide" (landmarks)
    iou_type: str  #: "bbox", "segm" or "keypoints"
    stats: tuple[float, ...]  #: pycocotools' summarize() numbers, names in ``stat_names``
    per_category: tuple[CategoryScores, ...]
    iou_thresholds: tuple[float, ...]
    recall_thresholds: tuple[float, ...]
    precision: np.ndarray
    subsets: tuple[SubsetScores, ...] = ()

    @property
    def stat_names(self) -> tuple[str, ...]:
        return STAT_NAMES[self.iou_type]

    def stat(self, name: str) -> float:
        return self.stats[self.stat_names.index(name)]

    @property
    def ap(self) -> float:
        return self.stats[0]

    @property
    def ap50(self) -> float:
        return self.stats[1]

    @property
    def ap75(self) -> float:
        return self.stats[2]

    def pr_curve(self, iou: float | None = None) -> np.ndarray:
        """Mean precision over categories at each recall threshold (at one IoU threshold, or their mean)."""
        p = self.precision if iou is None else self.precision[np.isclose(self.iou_thresholds, iou)]
        out = np.full(p.shape[1], -1.0)
        for r in range(p.shape[1]):
            v = p[:, r, :]
            v = v[v > -1]
            if len(v):
                out[r] = float(np.mean(v))
        return out

    def to_dict(self) -> dict[str, Any]:
        cats = self.precision
        return {
            "variant": self.variant,
            "iou_type": self.iou_type,
            "stats": {n: _num(v) for n, v in zip(self.stat_names, self.stats)},
            "per_category": [c.to_dict() for c in self.per_category],
            "subsets": [s.to_dict() for s in self.subsets],
            "iou_thresholds": list(self.iou_thresholds),
            "recall_thresholds": list(self.recall_thresholds),
            "pr_curves": {
                "mean": self.pr_curve().tolist(),
                "iou50": self.pr_curve(0.5).tolist(),
                "iou75": self.pr_curve(0.75).tolist(),
                "per_category_iou50": {
                    str(c.id): cats[int(np.flatnonzero(np.isclose(self.iou_thresholds, 0.5))[0]), :, k].tolist()
                    for k, c in enumerate(self.per_category)
                },
            },
        }


@dataclass(frozen=True, eq=False)
class TaskResult:
    """Scores of one task: one :class:`COCOScores` for boxes and masks, two (``vis``, ``vis_hide``) for
    landmarks (README Table 4). ``ap``/``ap50``/``ap75`` are those of the first."""

    task: str
    gt_source: str
    results_source: str | None
    num_images: int
    num_gt: int
    num_dt: int
    scores: tuple[COCOScores, ...]

    @property
    def ap(self) -> float:
        return self.scores[0].ap

    @property
    def ap50(self) -> float:
        return self.scores[0].ap50

    @property
    def ap75(self) -> float:
        return self.scores[0].ap75

    def variant(self, name: str) -> COCOScores:
        for s in self.scores:
            if s.variant == name:
                return s
        raise KeyError(f"no variant {name!r}; have {[s.variant for s in self.scores]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "gt": self.gt_source,
            "results": self.results_source,
            "num_images": self.num_images,
            "num_gt": self.num_gt,
            "num_dt": self.num_dt,
            "ap": _num(self.ap),
            "ap50": _num(self.ap50),
            "ap75": _num(self.ap75),
            "scores": [s.to_dict() for s in self.scores],
        }

    def format(self) -> str:
        """README-style tables: AP / AP50 / AP75, the COCO summary, per category, and the subsets."""
        parts = []
        head = (f"{_TASK_TITLE.get(self.task, self.task)}: {self.num_images:,} images, {self.num_gt:,} items, "
                f"{self.num_dt:,} results")
        many = len(self.scores) > 1
        rows = [[_VARIANT_TITLE[s.variant]] + [_num(s.ap), _num(s.ap50), _num(s.ap75)] for s in self.scores]
        parts.append(format_table(["", "AP", "AP50", "AP75"] if many else ["AP", "AP50", "AP75"],
                                  rows if many else [r[1:] for r in rows], title=head))
        names = self.scores[0].stat_names
        parts.append(format_table(
            ["COCO summary"] + ([_VARIANT_TITLE[s.variant] for s in self.scores] if many else ["value"]),
            [[n] + [_num(s.stats[i]) for s in self.scores] for i, n in enumerate(names)],
        ))
        cat_rows = []
        for k, c in enumerate(self.scores[0].per_category):
            row: list[Any] = [c.name, c.num_gt]
            for s in self.scores:
                pc = s.per_category[k]
                row += [pc.ap, pc.ap50, pc.ap75]
            cat_rows.append(row)
        cat_head = ["category", "items"]
        for s in self.scores:
            suffix = f" {_VARIANT_TITLE[s.variant]}" if many else ""
            cat_head += [f"AP{suffix}", f"AP50{suffix}", f"AP75{suffix}"]
        parts.append(format_table(cat_head, cat_rows, title="per category"))
        if self.scores[0].subsets:
            parts.append(_subset_table(self))
        return "\n\n".join(parts)


def _subset_table(r: TaskResult) -> str:
    """The README's Tables 3, 5 and 7: AP, AP50, AP75 per attribute level (grouped by attribute), overall."""
    levels = [ATTRIBUTE_LEVELS[a][lv - 1] for a in ATTRIBUTES for lv in (1, 2, 3)]
    rows: list[list[Any]] = [["items", *[x.num_gt for x in r.scores[0].subsets], r.num_gt]]
    for metric in ("ap", "ap50", "ap75"):
        for s in r.scores:
            label = metric.upper() + (f" {_VARIANT_TITLE[s.variant]}" if len(r.scores) > 1 else "")
            overall = {"ap": s.ap, "ap50": s.ap50, "ap75": s.ap75}[metric]
            rows.append([label, *[getattr(x, metric) for x in s.subsets], _num(overall)])
    table = format_table(["", *levels, "overall"], rows)
    lines = table.splitlines()
    # a first header line naming the attribute over its three columns
    header = lines[0]
    cols = [len(c) for c in lines[1].split("  ")]
    starts = [sum(cols[:i]) + 2 * i for i in range(len(cols))]
    group = [" "] * len(header)
    for g, name in enumerate(ATTRIBUTES):
        a, b = starts[1 + 3 * g], starts[1 + 3 * g + 2] + cols[1 + 3 * g + 2]
        label = name.replace("_", "-")
        pos = a + max(0, (b - a - len(label)) // 2)
        group[pos : pos + len(label)] = label
    title = "per subset (README Tables 3, 5, 7)"
    return "\n".join([title, "".join(group).rstrip(), *lines])
