"""Box formats, converted in one place only.

The dataset stores corners (``bbox_xyxy`` = ``[x1, y1, x2, y2]``, width = ``x2 - x1``, no +1); COCO files and
result files use ``bbox_xywh`` = ``[x, y, w, h]``. Every function here names the format it takes and returns
and works on a single box or an ``(N, 4)`` array.

>>> xyxy_to_xywh([10, 20, 30, 60]).tolist()
[10.0, 20.0, 20.0, 40.0]
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

__all__ = ["BoxMode", "box_area", "box_iou", "convert_boxes", "xywh_to_xyxy", "xyxy_to_xywh"]


class BoxMode(enum.Enum):
    """How four numbers describe a box (as detectron2's BoxMode)."""

    XYXY = "xyxy"  #: corners x1, y1, x2, y2 (native annotation files, retrieval files)
    XYWH = "xywh"  #: top-left corner, width, height (COCO files, detection result files)


def _as_boxes(boxes: Any) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"expected boxes of shape (4,) or (N, 4), got shape {arr.shape}")
    return arr


def xyxy_to_xywh(boxes: Any) -> np.ndarray:
    """``[x1, y1, x2, y2]`` -> ``[x1, y1, x2 - x1, y2 - y1]`` (returns a new float64 array)."""
    b = _as_boxes(boxes).copy()
    b[..., 2:] -= b[..., :2]
    return b


def xywh_to_xyxy(boxes: Any) -> np.ndarray:
    """``[x, y, w, h]`` -> ``[x, y, x + w, y + h]`` (returns a new float64 array)."""
    b = _as_boxes(boxes).copy()
    b[..., 2:] += b[..., :2]
    return b


def convert_boxes(boxes: Any, source: BoxMode, target: BoxMode) -> np.ndarray:
    """Convert between :class:`BoxMode` formats."""
    if source is target:
        return _as_boxes(boxes).copy()
    if source is BoxMode.XYXY:
        return xyxy_to_xywh(boxes)
    return xywh_to_xyxy(boxes)


def box_area(boxes_xyxy: Any) -> np.ndarray:
    """Area of corner-format boxes (0 for empty or inverted boxes)."""
    b = _as_boxes(boxes_xyxy)
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def box_iou(a_xyxy: Any, b_xyxy: Any) -> np.ndarray:
    """Pairwise IoU of two sets of corner-format boxes: ``(N, 4) x (M, 4) -> (N, M)``.

    Boxes of zero area have IoU 0 with everything (no division by zero).
    """
    a = _as_boxes(a_xyxy).reshape(-1, 4)
    b = _as_boxes(b_xyxy).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out
