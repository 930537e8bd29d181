"""Per-task collection of detections and of the (detection, ground truth) pairs that can match.

Each block of result columns is turned into: the detections' image, category, score and area, and the
pairs of a detection and a ground truth of the same image and category whose IoU (boxes, masks) or OKS
(landmarks) is at least 0.5, the lowest threshold. Nothing else about a detection is kept, so memory grows
with the number of detections, not with the size of their masks or landmarks.

The values follow pycocotools exactly:

* box IoU: ``bbIou`` (crowd ground truth: intersection over the detection's area);
* mask IoU: ``rleIou`` on run lengths, via column pieces (:class:`~df2kit.structures.masks.MaskSet`);
  pairs whose IoU provably stays below 0.5 (from areas and boxes) are skipped;
* OKS: ``computeOks`` with the 294 official sigmas, including its rule for ground truth without labelled
  landmarks (distance to the box doubled, over all 294 predicted landmarks);
* detection areas (for the area ranges): pycocotools' ``loadRes`` uses the box ``w * h`` whenever results
  carry a ``bbox``, else the mask area (masks) or the extent of all 294 predicted landmarks (landmarks).
  pycocotools decides this from the first entry of the file; df2kit decides it per entry, which is the
  same on every file where all entries look alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..errors import ResultsError
from ..structures.masks import (
    _CHUNK,
    MaskSet,
    RLEError,
    _fg_runs,
    run_intersections,
    runs_geometry,
    string_to_counts,
    strings_to_runs,
)
from ._gt import LANDMARK_VARIANTS, GroundTruth
from ._params import Params
from ._results import Columns

__all__ = ["Collected", "TaskCollector"]

_EPS = np.spacing(1)
_MIN_IOU = 0.5  # the lowest IoU threshold: pairs below it never match


@dataclass(eq=False)
class Collected:
    """Everything the matcher needs for one ground-truth variant."""

    dt_img: np.ndarray
    dt_cat: np.ndarray
    dt_score: np.ndarray
    dt_area: np.ndarray
    pair_dt: np.ndarray
    pair_gt: np.ndarray
    pair_iou: np.ndarray


@dataclass(eq=False)
class _Runs:
    """Decoded masks of some entries: runs ``s, e`` (mask j owns ``first[j]:first[j + 1]``), area, box."""

    s: np.ndarray
    e: np.ndarray
    first: np.ndarray
    area: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    y0: np.ndarray
    y1: np.ndarray


@dataclass(eq=False)
class _Parts:
    img: list[np.ndarray] = field(default_factory=list)
    cat: list[np.ndarray] = field(default_factory=list)
    score: list[np.ndarray] = field(default_factory=list)
    area: list[np.ndarray] = field(default_factory=list)


class TaskCollector:
    """Collects one task's detections and candidate pairs block by block (see the module docstring)."""

    def __init__(self, task: str, gt: GroundTruth, params: Params, *, source: str | None = None) -> None:
        self.task = task
        self.gt = gt
        self.params = params
        self.source = source
        self.n_dt = 0
        self._parts = _Parts()
        self.variants: tuple[str, ...] = LANDMARK_VARIANTS if task == "landmarks" else ("",)
        self._pairs: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {v: [] for v in self.variants}
        K = len(gt.cat_ids)
        self._K = K
        key = gt.ann_img * K + gt.ann_cat
        self._g_order = np.argsort(key, kind="stable")
        self._g_keys = key[self._g_order]
        self._cat_index = {int(c): k for k, c in enumerate(gt.cat_ids.tolist())}
        self._cat_lut_min = int(gt.cat_ids.min()) if len(gt.cat_ids) else 0
        lut = np.full(int(gt.cat_ids.max()) - self._cat_lut_min + 1 if len(gt.cat_ids) else 1, -1, dtype=np.int64)
        lut[gt.cat_ids - self._cat_lut_min] = np.arange(K)
        self._cat_lut = lut
        self._masks: MaskSet | None = None
        if task == "landmarks":
            self._vis: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
            for v in self.variants:
                num_kp, sel = gt.landmark_variant(v)
                owner = np.repeat(np.arange(len(gt)), np.diff(gt.kp_start))[sel]
                start = np.zeros(len(gt) + 1, dtype=np.int64)
                np.cumsum(np.bincount(owner, minlength=len(gt)), out=start[1:])
                self._vis[v] = (start, gt.kp_index[sel], gt.kp_xy[sel], num_kp)
            self._vars = (params.sigmas * 2) ** 2

    def fresh(self) -> TaskCollector:
        """A collector sharing this one's ground truth and prepared tables, with nothing collected."""
        c = copy.copy(self)
        c.n_dt = 0
        c._parts = _Parts()
        c._pairs = {v: [] for v in self.variants}
        return c

    def export(self) -> tuple[int, dict[str, np.ndarray], dict[str, tuple[np.ndarray, ...]]]:
        """What was collected, as arrays (to send from a reading process to the scoring one)."""
        p = self._parts

        def cat(xs: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0, dtype=dtype)

        parts = {"img": cat(p.img, np.int64), "cat": cat(p.cat, np.int64), "score": cat(p.score, np.float64),
                 "area": cat(p.area, np.float64)}
        pairs = {}
        for v, xs in self._pairs.items():
            pairs[v] = (
                cat([x[0] for x in xs], np.int64),
                cat([x[1] for x in xs], np.int64),
                cat([x[2] for x in xs], np.float64),
            )
        return self.n_dt, parts, pairs

    def merge(self, exported: tuple[int, dict[str, np.ndarray], dict[str, tuple[np.ndarray, ...]]]) -> None:
        """Append what another collector exported, as if its blocks had been added here."""
        n, parts, pairs = exported
        base = self.n_dt
        self._parts.img.append(parts["img"])
        self._parts.cat.append(parts["cat"])
        self._parts.score.append(parts["score"])
        self._parts.area.append(parts["area"])
        for v, (d, g, iou) in pairs.items():
            if len(d):
                self._pairs[v].append((d + base, g, iou))
        self.n_dt += n

    def prepare(self) -> None:
        """Build what comparing needs from the ground truth (the masks, for segmentation); done at the
        first block otherwise."""
        if self.task == "segmentation" and self._masks is None:
            self._masks = self.gt.mask_set()

    # ---- one block -------------------------------------------------------------------------------------
    def add(self, cols: Columns) -> None:
        n = len(cols)
        if n == 0:
            return
        self.prepare()
        gt = self.gt
        rows = gt.image_rows(cols.image_id)
        if (rows < 0).any():
            i = int(np.flatnonzero(rows < 0)[0])
            raise ResultsError(
                f"image id {int(cols.image_id[i])} is not in the ground truth ({gt.num_images} images)",
                path=self.source, item=f"entry {cols.first + i}", field="image_id",
            )
        c = cols.category_id - self._cat_lut_min
        inside = (c >= 0) & (c < len(self._cat_lut))
        cat = np.full(n, -1, dtype=np.int64)
        cat[inside] = self._cat_lut[c[inside]]
        if (cat < 0).any():
            i = int(np.flatnonzero(cat < 0)[0])
            known = ", ".join(str(x) for x in gt.cat_ids.tolist())
            raise ResultsError(
                f"category id {int(cols.category_id[i])} is not a ground-truth category ({known})",
                path=self.source, item=f"entry {cols.first + i}", field="category_id",
            )
        # all (detection, ground truth) pairs of the same image and category
        dkey = rows * self._K + cat
        lo = np.searchsorted(self._g_keys, dkey, side="left")
        hi = np.searchsorted(self._g_keys, dkey, side="right")
        cnt = hi - lo
        pd = np.repeat(np.arange(n, dtype=np.int64), cnt)
        total = int(cnt.sum())
        pg = self._g_order[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total, dtype=np.int64)]
        if self.task == "detection":
            area, pairs = self._boxes(cols, pd, pg)
        elif self.task == "segmentation":
            area, pairs = self._masks_block(cols, rows, pd, pg)
        else:
            area, pairs = self._landmarks(cols, pd, pg)
        base = self.n_dt
        for v, (d, g, iou) in pairs.items():
            if len(d):
                self._pairs[v].append((d + base, g, iou))
        self._parts.img.append(rows)
        self._parts.cat.append(cat)
        self._parts.score.append(cols.score)
        self._parts.area.append(area)
        self.n_dt += n

    def _boxes(self, cols: Columns, pd: np.ndarray, pg: np.ndarray) -> tuple[np.ndarray, dict]:
        box = cols.bbox
        assert box is not None
        missing = np.isnan(box[:, 0])
        area = box[:, 2] * box[:, 3]
        if missing.any():  # boxes of entries that only carry a mask: the mask's box and area (loadRes)
            idx = np.flatnonzero(missing)
            r = self._decode(cols, idx)
            box = box.copy()
            has = r.area > 0
            box[idx] = 0.0
            box[idx[has]] = np.column_stack(
                [r.x0[has], r.y0[has], r.x1[has] - r.x0[has] + 1, r.y1[has] - r.y0[has]]
            ).astype(np.float64)
            area = area.copy()
            area[idx] = r.area
        d = box[pd]
        g = self.gt.bbox_xywh[pg]
        # pycocotools' bbIou, operation for operation
        w = np.minimum(d[:, 2] + d[:, 0], g[:, 2] + g[:, 0]) - np.maximum(d[:, 0], g[:, 0])
        h = np.minimum(d[:, 3] + d[:, 1], g[:, 3] + g[:, 1]) - np.maximum(d[:, 1], g[:, 1])
        inter = w * h
        da = d[:, 2] * d[:, 3]
        ga = g[:, 2] * g[:, 3]
        crowd = self.gt.iscrowd[pg]
        union = np.where(crowd, da, da + ga - inter)
        ok = (w > 0) & (h > 0)
        iou = np.zeros(len(pd))
        np.divide(inter, union, out=iou, where=ok)
        keep = iou >= _MIN_IOU
        return area, {"": (pd[keep], pg[keep], iou[keep])}

    def _decode(self, cols: Columns, idx: np.ndarray) -> _Runs:
        """Foreground runs of the masks of the given entries of a block (checked: the run lengths must
        cover the whole image)."""
        assert cols.mask_counts is not None and cols.mask_size is not None
        counts_in = [cols.mask_counts[i] for i in idx.tolist()]
        sizes = cols.mask_size[idx]
        try:
            try:
                s, e, owner, tot = strings_to_runs(counts_in)
                mixed = False
            except TypeError:
                mixed = True
            if mixed:
                cl = []
                for j, c in enumerate(counts_in):
                    try:
                        cl.append(np.asarray(c, dtype=np.int64) if isinstance(c, list) else string_to_counts(c))
                    except RLEError as err:
                        err.index = j
                        raise
                    if (cl[-1] < 0).any() or cl[-1].ndim != 1:
                        raise ResultsError("expected run lengths >= 0", path=self.source,
                                           item=f"entry {cols.first + int(idx[j])}", field="segmentation.counts")
                offsets = np.zeros(len(cl) + 1, dtype=np.int64)
                np.cumsum([len(c) for c in cl], out=offsets[1:])
                counts = np.concatenate(cl) if cl else np.zeros(0, np.int64)
                s, e, owner = _fg_runs(counts, offsets)
                keep = e > s
                s, e, owner = s[keep], e[keep], owner[keep]
                tot = np.array([int(c.sum()) for c in cl], dtype=np.int64)
        except RLEError as err:
            raise ResultsError(str(err).split(": ", 1)[-1], path=self.source,
                               item=f"entry {cols.first + int(idx[err.index or 0])}",
                               field="segmentation.counts") from None
        except (TypeError, ValueError):
            raise ResultsError("expected run lengths in 'counts'", path=self.source,
                               item=f"entry {cols.first + int(idx[0])}", field="segmentation.counts") from None
        want = sizes[:, 0] * sizes[:, 1]
        if not np.array_equal(tot, want):
            j = int(np.flatnonzero(tot != want)[0])
            raise ResultsError(
                f"run lengths add up to {int(tot[j])} pixels, expected height * width = {int(want[j])}",
                path=self.source, item=f"entry {cols.first + int(idx[j])}", field="segmentation.counts",
            )
        n = len(idx)
        area, x0, x1, y0, y1 = runs_geometry(s, e, owner, sizes[:, 0], n)
        first = np.searchsorted(owner, np.arange(n + 1))
        return _Runs(s, e, first, area, x0, x1, y0, y1)

    def _masks_block(self, cols: Columns, rows: np.ndarray, pd: np.ndarray, pg: np.ndarray) -> tuple[np.ndarray, dict]:
        gt = self.gt
        size = cols.mask_size
        assert size is not None
        want = np.stack([gt.heights[rows], gt.widths[rows]], axis=1)
        if not np.array_equal(size, want):
            i = int(np.flatnonzero((size != want).any(axis=1))[0])
            raise ResultsError(
                f"mask size {size[i].tolist()} differs from the image size {want[i].tolist()} "
                f"of image {int(cols.image_id[i])}",
                path=self.source, item=f"entry {cols.first + i}", field="segmentation.size",
            )
        has_box = cols.bbox is not None
        no_box = np.isnan(cols.bbox[:, 0]) if has_box else np.ones(len(cols), dtype=bool)
        need = np.union1d(np.unique(pd), np.flatnonzero(no_box))
        area = np.where(no_box, 0.0, cols.bbox[:, 2] * cols.bbox[:, 3]) if has_box else np.zeros(len(cols))
        out_d, out_g, out_v = [pd[:0]], [pg[:0]], [np.zeros(0)]
        # decode and compare in groups of about _CHUNK characters: small temporaries
        assert cols.mask_counts is not None
        lengths = np.fromiter((len(cols.mask_counts[i]) for i in need.tolist()), dtype=np.int64, count=len(need))
        cum = np.cumsum(lengths)
        i0 = 0
        while i0 < len(need):
            i1 = max(int(np.searchsorted(cum, (cum[i0 - 1] if i0 else 0) + _CHUNK, side="right")), i0 + 1)
            sub = need[i0:i1]
            r = self._decode(cols, sub)
            nb = no_box[sub]
            area[sub[nb]] = r.area[nb]
            lo, hi = np.searchsorted(pd, [sub[0], sub[-1] + 1])
            if hi > lo:
                d, g, v = self._mask_pairs(r, sub, pd[lo:hi], pg[lo:hi])
                out_d.append(d)
                out_g.append(g)
                out_v.append(v)
            i0 = i1
        return area, {"": (np.concatenate(out_d), np.concatenate(out_g), np.concatenate(out_v))}

    def _mask_pairs(self, r: _Runs, sub: np.ndarray, pd: np.ndarray, pg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Pairs of decoded masks (entries ``sub``) and ground truth with IoU >= 0.5, and their IoU."""
        gt = self.gt
        di = np.searchsorted(sub, pd)
        g = self._masks
        assert g is not None
        # a bound from areas and boxes: IoU <= I / (a + b - I) with I = min(box overlap, a, b)
        ox = np.minimum(r.x1[di], g.x1[pg]) - np.maximum(r.x0[di], g.x0[pg]) + 1
        oy = np.minimum(r.y1[di], g.y1[pg]) - np.maximum(r.y0[di], g.y0[pg])
        da = r.area[di]
        ga = g.area[pg]
        bound_i = np.minimum(np.minimum(np.clip(ox, 0, None) * np.clip(oy, 0, None), da), ga)
        crowd = gt.iscrowd[pg]
        bound_u = np.where(crowd, da, da + ga - bound_i)
        possible = (bound_i > 0) & (bound_i >= _MIN_IOU * bound_u)
        pd, pg, di = pd[possible], pg[possible], di[possible]
        inter = run_intersections(r.s, r.e, r.first, di, g, pg)
        da = r.area[di]
        union = np.where(gt.iscrowd[pg], da, da + g.area[pg] - inter)
        iou = np.zeros(len(pd))
        np.divide(inter, union, out=iou, where=inter > 0)
        keep = iou >= _MIN_IOU
        return pd[keep], pg[keep], iou[keep]

    def _landmarks(self, cols: Columns, pd: np.ndarray, pg: np.ndarray) -> tuple[np.ndarray, dict]:
        kp = cols.keypoints
        assert kp is not None
        xd = kp[:, :, 0]
        yd = kp[:, :, 1]
        if cols.bbox is not None:
            area = cols.bbox[:, 2] * cols.bbox[:, 3]
            no_box = np.isnan(cols.bbox[:, 0])
        else:
            area = np.zeros(len(cols))
            no_box = np.ones(len(cols), dtype=bool)
        if no_box.any():  # loadRes: the extent of all 294 predicted landmarks
            ext = (xd.max(axis=1) - xd.min(axis=1)) * (yd.max(axis=1) - yd.min(axis=1))
            area = np.where(no_box, ext, area)
        gt = self.gt
        out = {}
        for v in self.variants:
            start, index, xy, _num = self._vis[v]
            k1 = (start[1:] - start[:-1])[pg]
            oks = np.zeros(len(pd))
            # ground truth with labelled landmarks: mean of exp(-e) over them; grouped by their number so
            # that each sum is numpy's pairwise sum over one row, as pycocotools' np.sum over the vector
            for k in np.unique(k1[k1 > 0]).tolist():
                sel = np.flatnonzero(k1 == k)
                rows = start[pg[sel]][:, None] + np.arange(k)[None, :]
                li = index[rows]
                dx = xd[pd[sel][:, None], li] - xy[rows, 0]
                dy = yd[pd[sel][:, None], li] - xy[rows, 1]
                e = (dx**2 + dy**2) / self._vars[li] / (gt.area[pg[sel]][:, None] + _EPS) / 2
                oks[sel] = np.sum(np.exp(-e), axis=1) / k
            sel = np.flatnonzero(k1 == 0)
            if len(sel):
                bb = gt.bbox_xywh[pg[sel]]
                x0 = bb[:, 0] - bb[:, 2]
                x1 = bb[:, 0] + bb[:, 2] * 2
                y0 = bb[:, 1] - bb[:, 3]
                y1 = bb[:, 1] + bb[:, 3] * 2
                xs, ys = xd[pd[sel]], yd[pd[sel]]
                dx = np.maximum(0, x0[:, None] - xs) + np.maximum(0, xs - x1[:, None])
                dy = np.maximum(0, y0[:, None] - ys) + np.maximum(0, ys - y1[:, None])
                e = (dx**2 + dy**2) / self._vars[None, :] / (gt.area[pg[sel]][:, None] + _EPS) / 2
                oks[sel] = np.sum(np.exp(-e), axis=1) / e.shape[1]
            keep = oks >= _MIN_IOU
            out[v] = (pd[keep], pg[keep], oks[keep])
        return area, out

    # ---- the end ---------------------------------------------------------------------------------------
    def collected(self, variant: str = "") -> Collected:
        p = self._parts

        def cat(xs: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(xs) if xs else np.zeros(0, dtype=dtype)

        pairs = self._pairs[variant]
        return Collected(
            dt_img=cat(p.img, np.int64),
            dt_cat=cat(p.cat, np.int64),
            dt_score=cat(p.score, np.float64),
            dt_area=cat(p.area, np.float64),
            pair_dt=np.concatenate([x[0] for x in pairs]) if pairs else np.zeros(0, np.int64),
            pair_gt=np.concatenate([x[1] for x in pairs]) if pairs else np.zeros(0, np.int64),
            pair_iou=np.concatenate([x[2] for x in pairs]) if pairs else np.zeros(0),
        )
