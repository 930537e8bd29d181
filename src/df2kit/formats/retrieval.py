"""Consumer-to-shop retrieval ground truth: the query and gallery files the official scorer reads.

The official files (``query_gt.json``, ``gallery_gt.json``) are no longer published; they are derived from
the validation annotations (section 5 of the spec):

* queries: every item of every user image ``{query_image_id, bbox [x1, y1, x2, y2], cls, style, pair_id}``
  (style-0 items included: they take part in assigning detections to items);
* gallery: the items of shop images with style > 0 ``{gallery_image_id, bbox, style, pair_id}``.

df2kit's files carry extra fields that the official reader ignores: the four attributes on each query (for
per-subset scores) and ``cls`` on gallery items.

>>> from df2kit.io import scan_split
>>> from df2kit.formats.retrieval import retrieval_ground_truth, write_retrieval_ground_truth
>>> gt = retrieval_ground_truth(scan_split("ROOT", "validation"))   # doctest: +SKIP
>>> write_retrieval_ground_truth(gt, "out/")                         # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .._atomic import atomic_write_bytes
from ..errors import FormatError
from ..io.scan import SplitTable
from ..layout import ATTRIBUTES, NUM_CATEGORIES

__all__ = [
    "GALLERY_FILE",
    "QUERY_FILE",
    "RetrievalGroundTruth",
    "load_retrieval_ground_truth",
    "retrieval_ground_truth",
    "write_retrieval_ground_truth",
]

QUERY_FILE = "query_gt.json"
GALLERY_FILE = "gallery_gt.json"


@dataclass(frozen=True, eq=False)
class RetrievalGroundTruth:
    """Query items (user images) and gallery items (shop items with style > 0), as columns.

    ``query_attributes`` is (nq, 4) scale, occlusion, zoom_in, viewpoint (0 where unknown, e.g. loaded
    from official files); ``gallery_category`` is 0 where unknown.
    """

    query_image_id: np.ndarray  #: (nq,) int64
    query_bbox_xyxy: np.ndarray  #: (nq, 4) float64
    query_category: np.ndarray  #: (nq,) int64, the official ``cls``
    query_style: np.ndarray  #: (nq,) int64
    query_pair_id: np.ndarray  #: (nq,) int64
    query_attributes: np.ndarray  #: (nq, 4) int64
    gallery_image_id: np.ndarray  #: (ng,) int64
    gallery_bbox_xyxy: np.ndarray  #: (ng, 4) float64
    gallery_style: np.ndarray  #: (ng,) int64
    gallery_pair_id: np.ndarray  #: (ng,) int64
    gallery_category: np.ndarray  #: (ng,) int64

    @property
    def num_queries(self) -> int:
        return len(self.query_image_id)

    @property
    def num_scored_queries(self) -> int:
        """Queries with style > 0: the N of the top-k accuracy (misses included)."""
        return int(np.count_nonzero(self.query_style > 0))

    @property
    def num_gallery(self) -> int:
        return len(self.gallery_image_id)

    def query_records(self) -> list[dict[str, Any]]:
        out = []
        for i in range(self.num_queries):
            rec: dict[str, Any] = {
                "style": int(self.query_style[i]),
                "pair_id": int(self.query_pair_id[i]),
                "query_image_id": int(self.query_image_id[i]),
                "bbox": [_num(v) for v in self.query_bbox_xyxy[i].tolist()],
                "cls": int(self.query_category[i]),
            }
            if self.query_attributes[i].all():
                rec.update({a: int(v) for a, v in zip(ATTRIBUTES, self.query_attributes[i].tolist())})
            out.append(rec)
        return out

    def gallery_records(self) -> list[dict[str, Any]]:
        out = []
        for i in range(self.num_gallery):
            rec: dict[str, Any] = {
                "gallery_image_id": int(self.gallery_image_id[i]),
                "style": int(self.gallery_style[i]),
                "pair_id": int(self.gallery_pair_id[i]),
                "bbox": [_num(v) for v in self.gallery_bbox_xyxy[i].tolist()],
            }
            if self.gallery_category[i]:
                rec["cls"] = int(self.gallery_category[i])
            out.append(rec)
        return out


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def retrieval_ground_truth(table: SplitTable) -> RetrievalGroundTruth:
    """Derive the query and gallery ground truth from a scanned split (usually validation)."""
    user = table.item_source == 1
    shop = (table.item_source == 0) & (table.style > 0)
    img_id = table.image_id[table.item_image]
    q, g = np.flatnonzero(user), np.flatnonzero(shop)
    return RetrievalGroundTruth(
        query_image_id=img_id[q],
        query_bbox_xyxy=table.bbox_xyxy[q].copy(),
        query_category=table.category_id[q].astype(np.int64),
        query_style=table.style[q].copy(),
        query_pair_id=table.item_pair_id[q].copy(),
        query_attributes=table.attributes[q].astype(np.int64),
        gallery_image_id=img_id[g],
        gallery_bbox_xyxy=table.bbox_xyxy[g].copy(),
        gallery_style=table.style[g].copy(),
        gallery_pair_id=table.item_pair_id[g].copy(),
        gallery_category=table.category_id[g].astype(np.int64),
    )


def write_retrieval_ground_truth(gt: RetrievalGroundTruth, out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``query_gt.json`` and ``gallery_gt.json`` (official layout, flat JSON lists) into ``out_dir``."""
    out = Path(out_dir).expanduser()
    qp, gp = out / QUERY_FILE, out / GALLERY_FILE
    atomic_write_bytes(qp, orjson.dumps(gt.query_records()))
    atomic_write_bytes(gp, orjson.dumps(gt.gallery_records()))
    return qp, gp


def _load_list(path: Path) -> list[Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise FormatError("file not found", path=str(path)) from None
    except orjson.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e}", path=str(path)) from None
    if not isinstance(data, list):
        raise FormatError(f"expected a JSON list of items, got {type(data).__name__}", path=str(path))
    return data


def _int_field(rec: Any, key: str, path: Path, idx: int, *, lo: int | None = None, hi: int | None = None) -> int:
    if not isinstance(rec, dict):
        raise FormatError(f"expected an object, got {type(rec).__name__}", path=str(path), item=f"[{idx}]")
    v = rec.get(key)
    if type(v) is not int or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" in {lo}..{hi}" if hi is not None else (f" >= {lo}" if lo is not None else "")
        raise FormatError(f"expected an integer{rng}, got {v!r}", path=str(path), item=f"[{idx}]", field=key)
    return v


def _box_field(rec: dict[str, Any], path: Path, idx: int) -> list[float]:
    b = rec.get("bbox")
    if not isinstance(b, list) or len(b) != 4 or not all(type(v) in (int, float) for v in b):
        raise FormatError(f"expected [x1, y1, x2, y2], got {b!r}", path=str(path), item=f"[{idx}]", field="bbox")
    arr = np.array(b, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise FormatError(f"expected finite numbers, got {b!r}", path=str(path), item=f"[{idx}]", field="bbox")
    return b


def load_retrieval_ground_truth(
    query_path: str | os.PathLike[str], gallery_path: str | os.PathLike[str] | None = None
) -> RetrievalGroundTruth:
    """Read the two ground-truth files (official or df2kit's). ``query_path`` may be their folder."""
    qp = Path(query_path)
    if qp.is_dir():
        qp, gp = qp / QUERY_FILE, qp / GALLERY_FILE
    else:
        gp = Path(gallery_path) if gallery_path is not None else qp.with_name(GALLERY_FILE)
    qs, gs = _load_list(qp), _load_list(gp)
    fast = _fast_columns(qs, gs)
    if fast is not None:
        return fast
    # slow path: find and name the first bad record
    q_cols: dict[str, list[Any]] = {k: [] for k in ("img", "box", "cls", "style", "pair", "attrs")}
    for i, r in enumerate(qs):
        q_cols["img"].append(_int_field(r, "query_image_id", qp, i, lo=0))
        q_cols["cls"].append(_int_field(r, "cls", qp, i, lo=1, hi=NUM_CATEGORIES))
        q_cols["style"].append(_int_field(r, "style", qp, i, lo=0))
        q_cols["pair"].append(_int_field(r, "pair_id", qp, i))
        q_cols["box"].append(_box_field(r, qp, i))
        q_cols["attrs"].append([r.get(a, 0) if type(r.get(a, 0)) is int else 0 for a in ATTRIBUTES])
    g_cols: dict[str, list[Any]] = {k: [] for k in ("img", "box", "style", "pair", "cls")}
    for i, r in enumerate(gs):
        g_cols["img"].append(_int_field(r, "gallery_image_id", gp, i, lo=0))
        g_cols["style"].append(_int_field(r, "style", gp, i, lo=0))
        g_cols["pair"].append(_int_field(r, "pair_id", gp, i))
        g_cols["box"].append(_box_field(r, gp, i))
        c = r.get("cls", 0)
        g_cols["cls"].append(c if type(c) is int else 0)
    return RetrievalGroundTruth(
        query_image_id=np.array(q_cols["img"], dtype=np.int64),
        query_bbox_xyxy=np.array(q_cols["box"], dtype=np.float64).reshape(-1, 4),
        query_category=np.array(q_cols["cls"], dtype=np.int64),
        query_style=np.array(q_cols["style"], dtype=np.int64),
        query_pair_id=np.array(q_cols["pair"], dtype=np.int64),
        query_attributes=np.array(q_cols["attrs"], dtype=np.int64).reshape(-1, 4),
        gallery_image_id=np.array(g_cols["img"], dtype=np.int64),
        gallery_bbox_xyxy=np.array(g_cols["box"], dtype=np.float64).reshape(-1, 4),
        gallery_style=np.array(g_cols["style"], dtype=np.int64),
        gallery_pair_id=np.array(g_cols["pair"], dtype=np.int64),
        gallery_category=np.array(g_cols["cls"], dtype=np.int64),
    )


def _int_column(recs: list[Any], key: str, default: int | None = None) -> np.ndarray:
    col = [r[key] for r in recs] if default is None else [r.get(key, default) for r in recs]
    if not set(map(type, col)) <= {int}:
        raise TypeError(key)
    return np.array(col, dtype=np.int64)


def _box_column(recs: list[Any]) -> np.ndarray:
    boxes = [r["bbox"] for r in recs]
    if not set(map(type, boxes)) <= {list} or not set(map(len, boxes)) <= {4}:
        raise TypeError("bbox")
    if not set(map(type, itertools.chain.from_iterable(boxes))) <= {int, float}:
        raise TypeError("bbox")
    arr = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(arr).all():
        raise ValueError("bbox")
    return arr


def _fast_columns(qs: list[Any], gs: list[Any]) -> RetrievalGroundTruth | None:
    """Columns of two well-formed files in bulk; None when anything is off (the caller names it)."""
    try:
        if not set(map(type, qs)) <= {dict} or not set(map(type, gs)) <= {dict}:
            return None
        q_img, q_cls = _int_column(qs, "query_image_id"), _int_column(qs, "cls")
        q_style, q_pair = _int_column(qs, "style"), _int_column(qs, "pair_id")
        q_box = _box_column(qs)
        attrs = []
        for a in ATTRIBUTES:
            try:
                attrs.append(_int_column(qs, a, 0))
            except TypeError:
                attrs.append(np.array([v if type(v) is int else 0 for v in (r.get(a, 0) for r in qs)], dtype=np.int64))
        g_img, g_style, g_pair = _int_column(gs, "gallery_image_id"), _int_column(gs, "style"), _int_column(gs, "pair_id")
        g_box = _box_column(gs)
        try:
            g_cls = _int_column(gs, "cls", 0)
        except TypeError:
            g_cls = np.array([v if type(v) is int else 0 for v in (r.get("cls", 0) for r in gs)], dtype=np.int64)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if (
        (q_img < 0).any() or (q_cls < 1).any() or (q_cls > NUM_CATEGORIES).any() or (q_style < 0).any()
        or (g_img < 0).any() or (g_style < 0).any()
    ):
        return None
    return RetrievalGroundTruth(
        query_image_id=q_img,
        query_bbox_xyxy=q_box,
        query_category=q_cls,
        query_style=q_style,
        query_pair_id=q_pair,
        query_attributes=np.stack(attrs, axis=1) if len(qs) else np.zeros((0, 4), np.int64),
        gallery_image_id=g_img,
        gallery_bbox_xyxy=g_box,
        gallery_style=g_style,
        gallery_pair_id=g_pair,
        gallery_category=g_cls,
    )
