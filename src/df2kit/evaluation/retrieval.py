"""Consumer-to-shop retrieval: top-k accuracy exactly as the official DeepFashion2 protocol computes it.

>>> from df2kit.evaluation.retrieval import evaluate_retrieval
>>> result = evaluate_retrieval("ROOT/validation", "retrieval_results.json")     # doctest: +SKIP
>>> result.accuracy[20]                                                          # doctest: +SKIP
0.524
>>> print(result.format())                                                       # doctest: +SKIP

The protocol (section 5 of the spec; the official ``deepfashion2_retrieval_test.py``), step by step:

1. N = the number of ground-truth query items with style > 0, detected or not: misses count as failures.
2. Each result entry (one detected consumer item) is assigned to the ground-truth item of its query image with
   the highest box IoU; style-0 items take part. Official quirks kept in the default mode: there is no minimum
   IoU, so an entry that overlaps nothing goes to the first ground-truth item of its image, and IoU ties go to
   the earlier item in ground-truth order.
3. For each query item with style > 0, among the entries assigned to it whose ``query_cls`` equals its
   category, the one with the highest ``query_score`` represents it (ties: the earlier entry in the results).
   No such entry: a miss.
4. Its correct gallery items are the shop items with the same pair_id and style. A top-k hit: some rank t < k
   retrieves a gallery image that holds a correct item whose box has IoU >= 0.5 with the retrieved box.
5. top-k = hits / N for k = 1, 5, 10, 15, 20.

Box IoU is pycocotools' box formula on [x, y, w, h] boxes made from the corners as the official script makes
them (the same floating-point operations, so ties and the 0.5 threshold fall exactly as there).

Options the official code does not have:

* ``min_iou``: step 2 assigns an entry only when its best IoU is >= ``min_iou``; other entries are unused.
* ``gt_boxes=True``: the queries are the ground-truth boxes (README Table 9's GT-box rows). Each entry's
  ``query_bbox`` must equal a ground-truth box of its image (each corner within 0.01 px) and represents that
  query item; ``query_cls`` and ``query_score`` are not needed and not used. Items of one image that share a
  box take the entries with that box in order (when there are fewer entries, the last one represents the
  rest); more entries than items for one box are an error.
* ``subset="many-matches"``: only query items with more than 5 correct gallery items (same pair_id and style)
  are scored, and N counts only them. The README's Table 9 uses consumer images whose every query item has
  over 5 identical shop items; df2kit selects per item, which keeps every such image's items.
* ``subsets=True``: also top-k per scale / occlusion / zoom_in / viewpoint level of the query item (Table 9's
  columns; N of a row = the scored query items with that level). Needs ground truth with the attributes (a
  split folder or df2kit's ground-truth files; the official files have none).

Input that the official script crashes on or mis-scores, and what df2kit does instead:

* Lists shorter than 20: the missing ranks retrieve nothing. Longer lists: ranks after 20 are ignored (the
  official loops stop at 20). Both are counted in the result (``num_short_lists``, ``num_long_lists``) and
  logged. ``gallery_image_id`` and ``gallery_bbox`` of different lengths are an error.
* A gallery image id the gallery ground truth does not hold (for example a shop image whose items all have
  style 0) is legal and never a hit.
* A ``query_image_id`` that is not a query (user) image of the ground truth is an error: such results are
  usually for another split, and scoring them would hide that.
* Two entries with the same image, box and class are two detections, as in the official code: the higher
  score represents the item, a tie goes to the earlier entry. In ``gt_boxes`` mode two entries for one
  ground-truth box are an error.
* A query item with style > 0 that has no correct gallery item (the official script stops at an assertion)
  can never be hit; it stays in N and is counted in ``num_unmatchable``.
* Boxes with x2 < x1 or y2 < y1 overlap nothing (pycocotools' formula); non-finite numbers are an error.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .._jsonerr import explain_json_list
from .._table import format_table
from ..errors import ConfigError, FormatError, ResultsError
from ..formats.retrieval import (
    GALLERY_FILE,
    QUERY_FILE,
    RetrievalGroundTruth,
    load_retrieval_ground_truth,
    retrieval_ground_truth,
)
from ..io.scan import SplitTable, scan_split
from ..layout import ATTRIBUTE_LEVELS, ATTRIBUTES, NUM_CATEGORIES

__all__ = [
    "GALLERY_IOU",
    "MANY_MATCHES",
    "MAX_RANK",
    "SUBSET_CHOICES",
    "TOPK",
    "RetrievalEvaluator",
    "RetrievalResult",
    "TopKRow",
    "evaluate_retrieval",
    "read_retrieval_results",
]

log = logging.getLogger(__name__)

#: The k of the reported top-k accuracies.
TOPK: tuple[int, ...] = (1, 5, 10, 15, 20)
#: Ranks scored per query (the official result lists hold 20 shop items).
MAX_RANK = 20
#: A retrieved box must overlap a correct gallery item's box at least this much (official ``thresh``).
GALLERY_IOU = 0.5
#: ``subset="many-matches"`` keeps query items with more than this many correct gallery items (Table 9).
MANY_MATCHES = 5
SUBSET_CHOICES: tuple[str, ...] = ("many-matches",)
#: In ``gt_boxes`` mode a query box equals a ground-truth box when every corner is within this many pixels.
GT_BOX_TOLERANCE = 0.01
_NO_HIT = MAX_RANK  # first-hit rank of a query that is never hit
_WHERE = "retrieval results"


# ---- result records -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopKRow:
    """Top-k hits of one group of query items (all of them, or one attribute level)."""

    name: str  #: "all" or "scale: small"
    num_queries: int  #: N of this row (scored query items, misses included)
    hits: tuple[int, ...]  #: hits per k of :data:`TOPK`
    attribute: str | None = None
    level: str | None = None

    @property
    def accuracy(self) -> tuple[float, ...]:
        """hits / N per k (NaN when the row has no query)."""
        n = self.num_queries
        return tuple(h / n if n else float("nan") for h in self.hits)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"num_queries": self.num_queries}
        for k, a, h in zip(TOPK, self.accuracy, self.hits):
            d[f"top{k}"] = None if math.isnan(a) else a
            d[f"hits{k}"] = h
        return d


@dataclass(frozen=True)
class RetrievalResult:
    """Top-k retrieval accuracy with the counts that explain it.

    >>> r = evaluate_retrieval(gt, results)        # doctest: +SKIP
    >>> r.accuracy[1], r.accuracy[20]              # doctest: +SKIP
    (0.192, 0.524)
    """

    overall: TopKRow
    subsets: tuple[TopKRow, ...] = ()  #: per attribute level (empty unless ``subsets=True``)
    gt_boxes: bool = False
    min_iou: float | None = None
    subset: str | None = None
    num_results: int = 0  #: result entries read
    num_represented: int = 0  #: scored query items with a representing entry
    num_missed: int = 0  #: scored query items without one (no detection of the right class assigned)
    num_unmatchable: int = 0  #: scored query items with no correct gallery item at all (never hit)
    num_unassigned: int = 0  #: entries below ``min_iou`` (always 0 in the official mode)
    num_unused: int = 0  #: entries that represent no style > 0 query item (style-0 item, wrong class, outscored)
    num_short_lists: int = 0  #: entries with fewer than 20 gallery items
    num_long_lists: int = 0  #: entries with more than 20 (the rest ignored)
    topk: tuple[int, ...] = field(default=TOPK)

    @property
    def num_queries(self) -> int:
        """N: the scored query items."""
        return self.overall.num_queries

    @property
    def accuracy(self) -> dict[int, float]:
        """``{1: top-1, 5: top-5, ...}``."""
        return dict(zip(self.topk, self.overall.accuracy))

    @property
    def mode(self) -> str:
        if self.gt_boxes:
            return "ground-truth boxes"
        if self.min_iou is None:
            return "detected boxes, official assignment"
        return f"detected boxes, assignment IoU >= {self.min_iou:g}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "task": "retrieval",
            "mode": self.mode,
            "gt_boxes": self.gt_boxes,
            "min_iou": self.min_iou,
            "subset": self.subset,
            **self.overall.to_dict(),
            "counts": {
                "results": self.num_results,
                "represented": self.num_represented,
                "missed": self.num_missed,
                "unmatchable": self.num_unmatchable,
                "unassigned": self.num_unassigned,
                "unused": self.num_unused,
                "short_lists": self.num_short_lists,
                "long_lists": self.num_long_lists,
            },
        }
        if self.subsets:
            sub: dict[str, dict[str, Any]] = {}
            for row in self.subsets:
                sub.setdefault(row.attribute or "", {})[row.level or ""] = row.to_dict()
            d["subsets"] = sub
        return d

    def format(self) -> str:
        which = f", subset {self.subset}" if self.subset else ""
        title = f"Consumer-to-shop retrieval ({self.mode}{which}): top-k accuracy"
        headers = ["queries", "N"] + [f"top-{k}" for k in self.topk]
        rows = [[r.name, r.num_queries, *r.accuracy] for r in (self.overall, *self.subsets)]
        out = [format_table(headers, rows, title=title)]
        notes = [
            (f"{self.num_represented:,} of {self.num_queries:,} query items represented by a result, "
             f"{self.num_missed:,} missed"),
            f"{self.num_results:,} result entries ({self.num_unused:,} represent no query item"
            + (f", {self.num_unassigned:,} below the IoU minimum" if self.min_iou is not None else "")
            + ")",
        ]
        if self.num_unmatchable:
            notes.append(f"{self.num_unmatchable:,} query items have no correct gallery item and cannot be hit")
        if self.num_short_lists or self.num_long_lists:
            notes.append(
                f"{self.num_short_lists:,} lists shorter than {MAX_RANK} (missing ranks retrieve nothing), "
                f"{self.num_long_lists:,} longer (ranks after {MAX_RANK} ignored)"
            )
        out.append("\n".join(notes))
        return "\n\n".join(out)


# ---- reading results -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Results:
    image_id: np.ndarray  # (R,) int64
    box: np.ndarray  # (R, 4) float64 corners
    cls: np.ndarray  # (R,) int64 (0 where not given in gt_boxes mode)
    score: np.ndarray  # (R,) float64
    gallery_id: np.ndarray  # (R, MAX_RANK) int64, -1 after the list's end
    gallery_box: np.ndarray  # (R, MAX_RANK, 4) float64 corners, NaN after the list's end
    length: np.ndarray  # (R,) int64 ranks given (capped at MAX_RANK)
    num_short: int
    num_long: int


def read_retrieval_results(path: str | os.PathLike[str]) -> list[Any]:
    """The entries of a retrieval results file (a flat JSON list; checked when scored)."""
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
        data = orjson.loads(raw)
    except FileNotFoundError:
        raise ResultsError("file not found", path=str(p)) from None
    except IsADirectoryError:
        raise ResultsError("expected a results JSON file, got a folder", path=str(p)) from None
    except orjson.JSONDecodeError as e:
        msg, item, field = explain_json_list(raw, e, item=lambda i: f"[{i}]")
        raise ResultsError(msg if item or msg.startswith("not UTF-8") else f"invalid JSON: {e}", path=str(p),
                           item=item, field=field) from None
    if not isinstance(data, list):
        raise ResultsError(f"expected a JSON list of result entries, got {type(data).__name__}", path=str(p))
    return data


def _is_num(v: Any) -> bool:
    return type(v) is int or (type(v) is float and math.isfinite(v))


def _check_box(v: Any, where: dict[str, Any], field_name: str) -> None:
    if not isinstance(v, (list, tuple)) or len(v) != 4 or not all(_is_num(x) for x in v):
        raise ResultsError(f"expected [x1, y1, x2, y2] (4 finite numbers), got {v!r}", field=field_name, **where)


def _check_entry(e: Any, i: int, path: str | None, need_detection: bool) -> None:
    """Raise the precise error for entry ``i`` if it is malformed (the slow path of :func:`_parse`)."""
    where: dict[str, Any] = {"path": path or _WHERE, "item": f"[{i}]"}
    if not isinstance(e, dict):
        raise ResultsError(f"expected an object, got {type(e).__name__}", **where)
    keys = ["query_image_id", "query_bbox", "gallery_image_id", "gallery_bbox"]
    if need_detection:
        keys[2:2] = ["query_cls", "query_score"]
    for k in keys:
        if k not in e:
            raise ResultsError("missing", field=k, **where)
    v = e["query_image_id"]
    if type(v) is not int or not 0 <= v < 2**63:
        raise ResultsError(f"expected an integer >= 0, got {v!r}", field="query_image_id", **where)
    _check_box(e["query_bbox"], where, "query_bbox")
    if need_detection:
        c = e["query_cls"]
        if type(c) is not int or not 1 <= c <= NUM_CATEGORIES:
            raise ResultsError(f"expected an integer in 1..{NUM_CATEGORIES}, got {c!r}", field="query_cls", **where)
        if not _is_num(e["query_score"]):
            raise ResultsError(f"expected a finite number, got {e['query_score']!r}", field="query_score", **where)
    ids, boxes = e["gallery_image_id"], e["gallery_bbox"]
    if not isinstance(ids, list):
        raise ResultsError(f"expected a list of image ids, got {type(ids).__name__}", field="gallery_image_id", **where)
    if not isinstance(boxes, list):
        raise ResultsError(f"expected a list of boxes, got {type(boxes).__name__}", field="gallery_bbox", **where)
    if len(ids) != len(boxes):
        raise ResultsError(
            f"gallery_image_id has {len(ids)} ids but gallery_bbox has {len(boxes)} boxes", field="gallery_bbox", **where
        )
    for t, g in enumerate(ids[:MAX_RANK]):
        if type(g) is not int or not -(2**63) <= g < 2**63:
            raise ResultsError(f"expected an integer image id, got {g!r}", field=f"gallery_image_id[{t}]", **where)
    for t, b in enumerate(boxes[:MAX_RANK]):
        _check_box(b, where, f"gallery_bbox[{t}]")


def _first_bad(entries: Sequence[Any], path: str | None, need_detection: bool, offset: int) -> ResultsError:
    for i, e in enumerate(entries):
        try:
            _check_entry(e, i + offset, path, need_detection)
        except ResultsError as err:
            return err
    return ResultsError("malformed results (could not locate the entry)", path=path or _WHERE)  # pragma: no cover


def _parse(entries: Any, *, path: str | None, need_detection: bool, offset: int = 0) -> _Results:
    """Columns of a list of result entries. Bulk conversion; any doubt falls back to the per-entry checker."""
    if not isinstance(entries, (list, tuple)):
        raise ResultsError(f"expected a list of result entries, got {type(entries).__name__}", path=path or _WHERE)
    n = len(entries)

    def bad() -> ResultsError:
        return _first_bad(entries, path, need_detection, offset)

    try:
        img = [e["query_image_id"] for e in entries]
        qbox = [e["query_bbox"] for e in entries]
        gids = [e["gallery_image_id"] for e in entries]
        gboxes = [e["gallery_bbox"] for e in entries]
        if need_detection:
            cls = [e["query_cls"] for e in entries]
            score = [e["query_score"] for e in entries]
        else:
            cls = [0] * n
            score = [0.0] * n
    except (KeyError, TypeError):
        raise bad() from None
    if not all(type(g) is list for g in gids) or not all(type(b) is list for b in gboxes):
        raise bad()
    if not set(map(type, img)) <= {int} or not set(map(type, cls)) <= {int}:  # no bools, no 1.0
        raise bad()
    if n == 0:
        return _Results(
            image_id=np.zeros(0, dtype=np.int64), box=np.zeros((0, 4)), cls=np.zeros(0, dtype=np.int64),
            score=np.zeros(0), gallery_id=np.zeros((0, MAX_RANK), dtype=np.int64),
            gallery_box=np.zeros((0, MAX_RANK, 4)), length=np.zeros(0, dtype=np.int64), num_short=0, num_long=0,
        )
    try:
        a_img, a_box, a_cls, a_score = np.array(img), np.array(qbox), np.array(cls), np.array(score)
    except (ValueError, TypeError):  # ragged or odd values
        raise bad() from None
    if (
        a_img.dtype.kind != "i"
        or (a_img < 0).any()
        or a_box.dtype.kind not in "iuf"
        or a_box.shape != (n, 4)
        or not np.isfinite(a_box).all()
        or a_cls.dtype.kind != "i"
        or (need_detection and ((a_cls < 1).any() or (a_cls > NUM_CATEGORIES).any()))
        or a_score.dtype.kind not in "iuf"
        or not np.isfinite(a_score).all()
    ):
        raise bad()
    lengths = np.fromiter(map(len, gids), dtype=np.int64, count=n)
    if not np.array_equal(lengths, np.fromiter(map(len, gboxes), dtype=np.int64, count=n)):
        raise bad()
    num_long = int(np.count_nonzero(lengths > MAX_RANK))
    num_short = int(np.count_nonzero(lengths < MAX_RANK))
    if num_long:
        gids = [g[:MAX_RANK] for g in gids]
        gboxes = [b[:MAX_RANK] for b in gboxes]
        lengths = np.minimum(lengths, MAX_RANK)
    total = int(lengths.sum())
    # Flat conversion with explicit type proofs (np.fromiter alone would turn "1" or True into numbers).
    flat_ids = list(chain.from_iterable(gids))
    flat_boxes = list(chain.from_iterable(gboxes))
    try:
        if not set(map(type, flat_ids)) <= {int} or (total and set(map(len, flat_boxes)) != {4}):
            raise bad()
    except TypeError:  # a box without a length
        raise bad() from None
    if not set(map(type, chain.from_iterable(flat_boxes))) <= {int, float}:
        raise bad()
    try:
        flat_id = np.array(flat_ids, dtype=np.int64)
        flat_box = np.fromiter(chain.from_iterable(flat_boxes), dtype=np.float64, count=4 * total).reshape(total, 4)
    except OverflowError:  # an id beyond 64 bits
        raise bad() from None
    if not np.isfinite(flat_box).all():
        raise bad()
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    gallery_id = np.full((n, MAX_RANK), -1, dtype=np.int64)
    gallery_id[rows, cols] = flat_id
    gallery_box = np.full((n, MAX_RANK, 4), np.nan)
    gallery_box[rows, cols] = flat_box
    return _Results(
        image_id=a_img.astype(np.int64).reshape(n),
        box=a_box.astype(np.float64).reshape(n, 4),
        cls=a_cls.astype(np.int64).reshape(n),
        score=a_score.astype(np.float64).reshape(n),
        gallery_id=gallery_id,
        gallery_box=gallery_box,
        length=lengths,
        num_short=num_short,
        num_long=num_long,
    )


def _concat(parts: list[_Results]) -> _Results:
    if len(parts) == 1:
        return parts[0]
    return _Results(
        image_id=np.concatenate([p.image_id for p in parts]),
        box=np.concatenate([p.box for p in parts]),
        cls=np.concatenate([p.cls for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        gallery_id=np.concatenate([p.gallery_id for p in parts]),
        gallery_box=np.concatenate([p.gallery_box for p in parts]),
        length=np.concatenate([p.length for p in parts]),
        num_short=sum(p.num_short for p in parts),
        num_long=sum(p.num_long for p in parts),
    )


# ---- ground truth ------------------------------------------------------------------------------------------
def _load_gt(gt: Any, *, progress: bool = False) -> RetrievalGroundTruth:
    """A :class:`RetrievalGroundTruth` from itself, a SplitTable, a split folder, GT files or their folder."""
    if isinstance(gt, RetrievalGroundTruth):
        return gt
    if isinstance(gt, SplitTable):
        return retrieval_ground_truth(gt)
    if isinstance(gt, (tuple, list)) and len(gt) == 2:
        return load_retrieval_ground_truth(gt[0], gt[1])
    if isinstance(gt, (str, os.PathLike)):
        p = Path(gt).expanduser()
        if p.is_dir() and (p / QUERY_FILE).is_file():
            return load_retrieval_ground_truth(p)
        if p.is_dir():
            if not ((p / "annos").is_dir() or (p / "validation").is_dir()):
                raise FormatError(
                    f"expected a split folder (with annos/), a dataset root (with validation/), or a folder "
                    f"holding {QUERY_FILE} and {GALLERY_FILE}",
                    path=str(p),
                )
            return retrieval_ground_truth(scan_split(p, "validation", progress=progress))
        if p.is_file():
            return load_retrieval_ground_truth(p)
        raise FormatError(
            f"no such file or folder (expected a split folder, {QUERY_FILE} + {GALLERY_FILE} or their folder)",
            path=str(p),
        )
    raise TypeError(f"gt: expected a RetrievalGroundTruth, SplitTable or path, got {type(gt).__name__}")


# ---- the protocol ------------------------------------------------------------------------------------------
def _xywh(box_xyxy: np.ndarray) -> np.ndarray:
    """[x, y, w, h] exactly as the official script makes it from the corners."""
    out = box_xyxy.astype(np.float64, copy=True)
    out[..., 2] -= box_xyxy[..., 0]
    out[..., 3] -= box_xyxy[..., 1]
    return out


def _box_iou(dt: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Elementwise IoU of [x, y, w, h] boxes (broadcast), pycocotools' ``bbIou`` with iscrowd 0, op for op."""
    w = np.minimum(dt[..., 2] + dt[..., 0], gt[..., 2] + gt[..., 0]) - np.maximum(dt[..., 0], gt[..., 0])
    h = np.minimum(dt[..., 3] + dt[..., 1], gt[..., 3] + gt[..., 1]) - np.maximum(dt[..., 1], gt[..., 1])
    inter = w * h
    union = dt[..., 2] * dt[..., 3] + gt[..., 2] * gt[..., 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w > 0) & (h > 0), iou, 0.0)


def _dense_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense integer codes 0..u-1 of the value pairs (a[i], b[i]), and u."""
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64), 0
    _, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    uniq, inv = np.unique(ia.reshape(-1).astype(np.int64) * len(ub) + ib.reshape(-1), return_inverse=True)
    return inv.reshape(-1).astype(np.int64), len(uniq)


@dataclass(frozen=True, eq=False)
class _Scored:
    rep: np.ndarray  # (Q,) representing entry or -1
    first_hit: np.ndarray  # (Q,) first hit rank, _NO_HIT when none (or no representative)
    num_correct: np.ndarray  # (Q,) correct gallery items of each query item
    num_unassigned: int


def _represent_detected(gt: RetrievalGroundTruth, res: _Results, cand: np.ndarray, valid: np.ndarray,
                        min_iou: float | None) -> tuple[np.ndarray, int]:
    """Steps 2 and 3: the representing entry of each query item (-1: none) and the unassigned count."""
    q_n = gt.num_queries
    n = len(res.image_id)
    iou = _box_iou(_xywh(res.box)[:, None, :], _xywh(gt.query_bbox_xyxy)[cand])
    iou[~valid] = -1.0
    best = iou.argmax(axis=1)  # first maximum: the earlier ground-truth item, as np.argmax in the official code
    r = np.arange(n)
    assigned = cand[r, best]
    ok = np.ones(n, dtype=bool) if min_iou is None else iou[r, best] >= min_iou
    eligible = ok & (res.cls == gt.query_category[assigned]) & (gt.query_style[assigned] > 0)
    e_idx = np.flatnonzero(eligible)
    aq = assigned[e_idx]
    order = np.lexsort((e_idx, -res.score[e_idx], aq))  # per item: highest score, then earliest entry
    aq_sorted = aq[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = aq_sorted[1:] != aq_sorted[:-1]
    rep = np.full(q_n, -1, dtype=np.int64)
    rep[aq_sorted[first]] = e_idx[order][first]
    return rep, int(n - np.count_nonzero(ok))


def _represent_gt_boxes(gt: RetrievalGroundTruth, res: _Results, cand: np.ndarray, valid: np.ndarray,
                        path: str | None) -> np.ndarray:
    """gt_boxes mode: each entry's box must be a ground-truth box of its image; it represents that item.

    Items of one image with the same box take the entries with that box in order (first entry, first item);
    when there are fewer entries than such items, the last entry also represents the rest.
    """
    eq = valid & (np.abs(gt.query_bbox_xyxy[cand] - res.box[:, None, :]) <= GT_BOX_TOLERANCE).all(axis=2)
    n_match = eq.sum(axis=1)
    lost = np.flatnonzero(n_match == 0)
    if len(lost):
        i = int(lost[0])
        raise ResultsError(
            f"query_bbox {res.box[i].tolist()} is not a ground-truth box of image {int(res.image_id[i])} "
            f"(gt_boxes mode expects one entry per ground-truth query box; {len(lost):,} entries do not match)",
            path=path or _WHERE, item=f"[{i}]", field="query_bbox",
        )
    n = len(res.image_id)
    group = cand[np.arange(n), eq.argmax(axis=1)]  # the first ground-truth item with the entry's box
    order = np.lexsort((np.arange(n), group))
    g_sorted = group[order]
    new = np.ones(n, dtype=bool)
    new[1:] = g_sorted[1:] != g_sorted[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - start
    last = np.empty(n, dtype=bool)
    last[order] = np.append(new[1:], True)
    extra = np.flatnonzero(rank >= n_match)
    if len(extra) == 0:
        nth = np.cumsum(eq, axis=1)
        take = eq & ((nth == rank[:, None] + 1) | ((nth > rank[:, None] + 1) & last[:, None]))
        r_idx, j_idx = np.nonzero(take)
        q_idx = cand[r_idx, j_idx]
        counts = np.bincount(q_idx, minlength=gt.num_queries)
        if (counts <= 1).all():
            rep = np.full(gt.num_queries, -1, dtype=np.int64)
            rep[q_idx] = r_idx
            return rep
        extra = np.flatnonzero(np.isin(np.arange(n), r_idx[counts[q_idx] > 1]))[1:]
    b = int(extra[0])
    a = int(np.flatnonzero((group == group[b]) & (np.arange(n) < b))[0]) if (group[:b] == group[b]).any() else b
    raise ResultsError(
        f"entries [{a}] and [{b}] give the same ground-truth box of image {int(res.image_id[b])}, which has "
        f"fewer items with that box (gt_boxes mode expects one entry per ground-truth query box)",
        path=path or _WHERE, item=f"[{b}]", field="query_bbox",
    )


def _score(gt: RetrievalGroundTruth, res: _Results, *, min_iou: float | None, gt_boxes: bool,
           path: str | None) -> _Scored:
    q_n, n = gt.num_queries, len(res.image_id)
    # Candidates: the ground-truth items of each entry's query image, in ground-truth order.
    q_order = np.argsort(gt.query_image_id, kind="stable")
    u_img, u_start, u_count = np.unique(gt.query_image_id[q_order], return_index=True, return_counts=True)
    pos = np.minimum(np.searchsorted(u_img, res.image_id), max(len(u_img) - 1, 0))
    known = (u_img[pos] == res.image_id) if len(u_img) else np.zeros(n, dtype=bool)
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise ResultsError(
            f"query_image_id {int(res.image_id[i])} is not a query (user) image of the ground truth "
            f"({np.count_nonzero(~known):,} of {n:,} entries are not; results of another split?)",
            path=path or _WHERE, item=f"[{i}]", field="query_image_id",
        )
    if n:
        width = int(u_count[pos].max())
        j = np.arange(width)
        valid = j < u_count[pos][:, None]
        cand = q_order[np.minimum(u_start[pos][:, None] + j, q_n - 1)]
    else:
        valid = np.zeros((0, 1), dtype=bool)
        cand = np.zeros((0, 1), dtype=np.int64)

    unassigned = 0
    if gt_boxes:
        rep = _represent_gt_boxes(gt, res, cand, valid, path)
    else:
        rep, unassigned = _represent_detected(gt, res, cand, valid, min_iou)

    # Step 4: correct gallery items share (pair_id, style) with the query item; lookup key adds the image.
    ng = gt.num_gallery
    ps, n_ps = _dense_codes(
        np.concatenate([gt.gallery_pair_id, gt.query_pair_id]), np.concatenate([gt.gallery_style, gt.query_style])
    )
    ps_g, ps_q = ps[:ng], ps[ng:]
    num_correct = np.bincount(ps_g, minlength=n_ps)[ps_q]

    first_hit = np.full(q_n, _NO_HIT, dtype=np.int64)
    qs = np.flatnonzero((rep >= 0) & (gt.query_style > 0) & (num_correct > 0))
    if len(qs) and ng:
        rs = rep[qs]
        ids = res.gallery_id[rs]  # (m, 20)
        given = np.arange(MAX_RANK) < res.length[rs][:, None]
        img_u, img_inv = np.unique(np.concatenate([gt.gallery_image_id, ids[given]]), return_inverse=True)
        g_img = img_inv[:ng]
        r_img = np.zeros(ids.shape, dtype=np.int64)
        r_img[given] = img_inv[ng:]
        n_img = len(img_u)
        g_key = ps_g * n_img + g_img
        g_order = np.argsort(g_key, kind="stable")
        g_sorted = g_key[g_order]
        key = ps_q[qs][:, None] * n_img + r_img
        lo = np.searchsorted(g_sorted, key, side="left")
        cnt = np.where(given, np.searchsorted(g_sorted, key, side="right") - lo, 0)
        hit = np.zeros(ids.shape, dtype=bool)
        r_box = _xywh(res.gallery_box[rs])
        g_box = _xywh(gt.gallery_bbox_xyxy)
        for t in range(int(cnt.max()) if cnt.size else 0):
            m = cnt > t
            gi = g_order[lo[m] + t]
            hit[m] |= _box_iou(r_box[m], g_box[gi]) >= GALLERY_IOU
        any_hit = hit.any(axis=1)
        first_hit[qs[any_hit]] = hit[any_hit].argmax(axis=1)
    return _Scored(rep=rep, first_hit=first_hit, num_correct=num_correct, num_unassigned=unassigned)


def _row(name: str, mask: np.ndarray, first_hit: np.ndarray, attribute: str | None = None,
         level: str | None = None) -> TopKRow:
    fh = first_hit[mask]
    return TopKRow(
        name=name,
        num_queries=int(mask.sum()),
        hits=tuple(int(np.count_nonzero(fh < k)) for k in TOPK),
        attribute=attribute,
        level=level,
    )


def _check_options(min_iou: float | None, gt_boxes: bool, subset: str | None) -> float | None:
    if min_iou is not None:
        if gt_boxes:
            raise ConfigError("min_iou has no meaning with gt_boxes (ground-truth boxes are assigned exactly)",
                              field="min_iou")
        try:
            min_iou = float(min_iou)
        except (TypeError, ValueError):
            raise ConfigError(f"expected a number in 0..1, got {min_iou!r}", field="min_iou") from None
        if not 0.0 <= min_iou <= 1.0:
            raise ConfigError(f"expected a number in 0..1, got {min_iou!r}", field="min_iou")
    if subset is not None and subset not in SUBSET_CHOICES:
        raise ConfigError(f"expected one of {', '.join(SUBSET_CHOICES)}, got {subset!r}", field="subset")
    return min_iou


# ---- public API ----------------------------------------------------------------------------------------
class RetrievalEvaluator:
    """Accumulate retrieval result entries (in any number of calls), then compute the top-k accuracy.

    >>> ev = RetrievalEvaluator("ROOT/validation")           # doctest: +SKIP
    >>> for batch in batches:                                # doctest: +SKIP
    ...     ev.add(batch)                                    # lists of official result entries
    >>> print(ev.compute().format())                         # doctest: +SKIP

    ``gt`` is a :class:`~df2kit.formats.retrieval.RetrievalGroundTruth`, a SplitTable, a split folder, the
    ``query_gt.json`` file (``gallery_gt.json`` beside it), a (query, gallery) pair of paths, or their folder.
    Options as :func:`evaluate_retrieval`.
    """

    def __init__(
        self,
        gt: Any,
        *,
        min_iou: float | None = None,
        gt_boxes: bool = False,
        subset: str | None = None,
        subsets: bool = False,
        progress: bool = False,
    ) -> None:
        self.min_iou = _check_options(min_iou, gt_boxes, subset)
        self.gt_boxes = bool(gt_boxes)
        self.subset = subset
        self.subsets = bool(subsets)
        self.gt = _load_gt(gt, progress=progress)
        if self.subsets and self.gt.num_scored_queries and not self.gt.query_attributes[self.gt.query_style > 0].any():
            raise FormatError(
                "this ground truth has no scale / occlusion / zoom_in / viewpoint (official query_gt.json); "
                "per-subset scores need a split folder or df2kit's ground-truth files",
                field="query_attributes",
            )
        self._parts: list[_Results] = []
        self._count = 0
        self._path: str | None = None

    def reset(self) -> None:
        self._parts.clear()
        self._count = 0

    def add(self, entries: Iterable[dict[str, Any]], *, path: str | None = None) -> None:
        """Add result entries (official format); ``path`` names their file in error messages."""
        if isinstance(entries, (dict, str, bytes)):
            raise ResultsError(f"expected a list of result entries, got {type(entries).__name__}", path=path or _WHERE)
        if not isinstance(entries, (list, tuple)):
            entries = list(entries)
        part = _parse(entries, path=path, need_detection=not self.gt_boxes, offset=self._count)
        self._parts.append(part)
        self._count += len(part.image_id)
        self._path = path if path is not None else self._path

    def compute(self) -> RetrievalResult:
        gt = self.gt
        res = _concat(self._parts) if self._parts else _parse([], path=None, need_detection=True)
        if res.num_short or res.num_long:
            log.info(
                "%d result lists shorter than %d (missing ranks retrieve nothing), %d longer (ranks after %d ignored)",
                res.num_short, MAX_RANK, res.num_long, MAX_RANK,
            )
        s = _score(gt, res, min_iou=self.min_iou, gt_boxes=self.gt_boxes, path=self._path)
        scored = gt.query_style > 0
        if self.subset == "many-matches":
            scored &= s.num_correct > MANY_MATCHES
        overall = _row("all", scored, s.first_hit)
        rows = []
        if self.subsets:
            for a, attr in enumerate(ATTRIBUTES):
                for lv, level in enumerate(ATTRIBUTE_LEVELS[attr], start=1):
                    m = scored & (gt.query_attributes[:, a] == lv)
                    rows.append(_row(f"{attr}: {level}", m, s.first_hit, attr, level))
        represented = scored & (s.rep >= 0)
        reps = s.rep[gt.query_style > 0]
        used = np.zeros(len(res.image_id), dtype=bool)
        used[reps[reps >= 0]] = True
        return RetrievalResult(
            overall=overall,
            subsets=tuple(rows),
            gt_boxes=self.gt_boxes,
            min_iou=self.min_iou,
            subset=self.subset,
            num_results=len(res.image_id),
            num_represented=int(represented.sum()),
            num_missed=int((scored & (s.rep < 0)).sum()),
            num_unmatchable=int((scored & (s.num_correct == 0)).sum()),
            num_unassigned=s.num_unassigned,
            num_unused=int(len(res.image_id) - used.sum()),
            num_short_lists=res.num_short,
            num_long_lists=res.num_long,
        )


def evaluate_retrieval(
    gt: Any,
    results: Any,
    *,
    min_iou: float | None = None,
    gt_boxes: bool = False,
    subset: str | None = None,
    subsets: bool = False,
    progress: bool = False,
) -> RetrievalResult:
    """Score consumer-to-shop retrieval results with the official protocol (see the module docstring).

    Args:
        gt: a :class:`~df2kit.formats.retrieval.RetrievalGroundTruth`, a SplitTable, a native split folder
            (ground truth derived on the fly), ``query_gt.json`` (``gallery_gt.json`` beside it), a
            (query, gallery) pair of paths, or the folder holding the two files.
        results: a list of official result entries or the path of a results JSON file.
        min_iou: assign a detection to a query item only at this box IoU or more (official: no minimum).
        gt_boxes: queries are the ground-truth boxes (README Table 9's GT-box rows).
        subset: ``"many-matches"`` scores only query items with more than 5 correct gallery items (Table 9).
        subsets: also score per scale / occlusion / zoom_in / viewpoint level.
        progress: progress bar while a split folder is scanned.

    >>> r = evaluate_retrieval("ROOT/validation", "results.json", subset="many-matches", subsets=True)  # doctest: +SKIP
    >>> r.to_dict()["top20"]                                                                            # doctest: +SKIP
    """
    ev = RetrievalEvaluator(gt, min_iou=min_iou, gt_boxes=gt_boxes, subset=subset, subsets=subsets, progress=progress)
    if isinstance(results, (str, os.PathLike)):
        ev.add(read_retrieval_results(results), path=str(results))
    else:
        ev.add(results)
    return ev.compute()
