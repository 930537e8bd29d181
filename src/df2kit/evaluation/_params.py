"""The DeepFashion2 scoring parameters (pycocotools' COCOeval defaults with the dataset's rules).

Values are built with the same numpy expressions as pycocotools' ``Params`` so that every threshold is the
very same float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layout import SIGMAS_294

__all__ = ["IOU_TYPES", "Params", "params_for"]

#: The COCOeval iouType of each task.
IOU_TYPES = {"detection": "bbox", "segmentation": "segm", "landmarks": "keypoints"}


def _iou_thrs() -> np.ndarray:
    return np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def _rec_thrs() -> np.ndarray:
    return np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass(frozen=True, eq=False)
class Params:
    """COCOeval parameters of one task: thresholds, area ranges, detections per image."""

    iou_type: str
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    max_dets: tuple[int, ...]
    area_rng: tuple[tuple[float, float], ...]
    area_lbl: tuple[str, ...]
    sigmas: np.ndarray | None = None

    @property
    def max_det(self) -> int:
        return self.max_dets[-1]


def params_for(task: str) -> Params:
    """The DeepFashion2 parameters: boxes and masks as COCO; landmarks with the 294 official sigmas,
    maxDets 20 and no "small" range (the GT ``area`` is the box area, section 3 of the spec)."""
    iou_type = IOU_TYPES[task]
    if iou_type == "keypoints":
        return Params(
            iou_type=iou_type,
            iou_thrs=_iou_thrs(),
            rec_thrs=_rec_thrs(),
            max_dets=(20,),
            area_rng=((0**2, 1e5**2), (32**2, 96**2), (96**2, 1e5**2)),
            area_lbl=("all", "medium", "large"),
            sigmas=np.asarray(SIGMAS_294, dtype=np.float64),
        )
    return Params(
        iou_type=iou_type,
        iou_thrs=_iou_thrs(),
        rec_thrs=_rec_thrs(),
        max_dets=(1, 10, 100),
        area_rng=((0**2, 1e5**2), (0**2, 32**2), (32**2, 96**2), (96**2, 1e5**2)),
        area_lbl=("all", "small", "medium", "large"),
    )
