"""Ground truth for the COCO-style scorers, in columns, from a native split or an official-style COCO file.

A native split is converted with the official rules (section 3 of the spec): one annotation per item in
image-id then file order, ``bbox`` = ``[x1, y1, x2 - x1, y2 - y1]``, ``area`` = box area (not the mask
area), ``iscrowd`` 0, 294 landmarks zero outside the item's category slice, ``num_keypoints`` = labelled
landmarks, polygons through :func:`~df2kit.structures.polygons.repair_polygons` (the same rule the
converters apply), image sizes from the image headers.

Landmark variants (README Table 4): ``vis_hide`` keeps visibility 1 and 2; ``vis`` turns occluded landmarks
(v = 1) into unlabelled ones (v = 0) and recounts ``num_keypoints``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..errors import DatasetError, FormatError
from ..io.scan import SplitTable, scan_split
from ..layout import ATTRIBUTES, CATEGORIES, NUM_LANDMARKS, NUM_LANDMARKS_BY_ID, OFFSET_BY_ID
from ..structures.masks import MaskSet, RLEError, _ragged_index, rasterize_runs, rle_counts
from ..structures.polygons import repair_polygons
from ._kptext import category_slices, split_keypoint_lists
from ._results import whole_zeros

__all__ = ["LANDMARK_VARIANTS", "GroundTruth", "load_ground_truth"]

log = logging.getLogger(__name__)

#: The two landmark ground truths of README Table 4, in the order they are reported.
LANDMARK_VARIANTS = ("vis", "vis_hide")


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """Ground truth of the detection, landmark and segmentation scorers (one row per annotation).

    Annotations are in input order (pycocotools breaks IoU ties by it); images are sorted by id, as
    pycocotools' ``imgIds``.
    """

    source: str
    image_ids: np.ndarray  #: (n_img,) int64, ascending
    heights: np.ndarray  #: (n_img,) int64, -1 where unknown
    widths: np.ndarray  #: (n_img,) int64, -1 where unknown
    cat_ids: np.ndarray  #: (K,) int64 category ids, ascending
    ann_img: np.ndarray  #: (n,) image row
    ann_cat: np.ndarray  #: (n,) category index into cat_ids
    bbox_xywh: np.ndarray  #: (n, 4) float64
    area: np.ndarray  #: (n,) float64 (the box area for DeepFashion2)
    iscrowd: np.ndarray  #: (n,) bool
    num_keypoints: np.ndarray  #: (n,) int64 as given (labelled landmarks)
    kp_start: np.ndarray  #: (n + 1,) offsets into the kp_* arrays (labelled landmarks only)
    kp_index: np.ndarray  #: global landmark index 0..293
    kp_xy: np.ndarray  #: (L, 2) float64
    kp_v: np.ndarray  #: (L,) visibility 1 or 2
    attributes: np.ndarray | None  #: (n, 4) scale, occlusion, zoom_in, viewpoint (0 unknown) or None
    # masks: polygons (points, per-polygon counts, owner annotation) and/or RLE counts per annotation
    poly_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    poly_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    poly_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rle_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rle_counts: tuple[np.ndarray, ...] = ()
    notes: dict[str, int] = field(default_factory=dict)  #: repairs made (``dropped-degenerate`` ...)

    @property
    def num_images(self) -> int:
        return len(self.image_ids)

    def __len__(self) -> int:
        return len(self.ann_img)

    def image_rows(self, image_ids: np.ndarray) -> np.ndarray:
        """Rows of the given image ids; -1 where the ground truth has no such image."""
        ids = np.asarray(image_ids, dtype=np.int64)
        rows = np.searchsorted(self.image_ids, ids)
        rows = np.minimum(rows, max(len(self.image_ids) - 1, 0))
        ok = (self.image_ids[rows] == ids) if len(self.image_ids) else np.zeros(len(ids), dtype=bool)
        return np.where(ok, rows, -1)

    def landmark_variant(self, variant: str) -> tuple[np.ndarray, np.ndarray]:
        """``(num_keypoints, labelled mask over kp_*)`` of a landmark ground-truth variant."""
        if variant == "vis_hide":
            return self.num_keypoints, np.ones(len(self.kp_v), dtype=bool)
        if variant == "vis":
            vis = self.kp_v == 2
            owner = np.repeat(np.arange(len(self)), np.diff(self.kp_start))
            return np.bincount(owner[vis], minlength=len(self)).astype(np.int64), vis
        raise ValueError(f"unknown landmark variant {variant!r}; expected one of {LANDMARK_VARIANTS}")

    def mask_set(self, *, progress: bool = False) -> MaskSet:
        """The annotations' masks (polygons united per item, or given RLE), rasterized as pycocotools."""
        n = len(self)
        h = self.heights[self.ann_img]
        w = self.widths[self.ann_img]
        if n and (h < 0).any():
            i = int(np.flatnonzero(h < 0)[0])
            raise DatasetError(
                f"image {int(self.image_ids[self.ann_img[i]])} has no known size; masks need the image "
                "sizes (the image files, or width/height in the ground-truth file)",
                path=self.source,
            )
        s, e, owner = rasterize_runs(self.poly_points, self.poly_count, self.poly_owner, h, w)
        if len(self.rle_owner):
            rs, re_, ro = [], [], []
            for a, counts in zip(self.rle_owner.tolist(), self.rle_counts):
                pos = np.cumsum(counts)
                st = pos - counts
                rs.append(st[1::2])
                re_.append(pos[1::2])
                ro.append(np.full(len(st[1::2]), a, dtype=np.int64))
            s = np.concatenate([s, *rs])
            e = np.concatenate([e, *re_])
            owner = np.concatenate([owner, *ro])
            order = np.lexsort((s, owner))
            s, e, owner = s[order], e[order], owner[order]
        return MaskSet(h, w, s, e, owner)


# ---- from a native split ------------------------------------------------------------------------------
def _from_split(table: SplitTable, *, need_sizes: bool, progress: bool) -> GroundTruth:
    if need_sizes and (table.width is None or table.height is None):
        table = table.with_image_sizes(progress=progress)
        if len(table) and (table.width < 0).any():
            i = int(np.flatnonzero(table.width < 0)[0])
            raise DatasetError(
                "cannot read this image's size (segmentation needs the image sizes)",
                path=str(table.image_path(i)),
            )
    n = table.num_items
    cats = table.category_id.astype(np.int64)
    bbox = table.bbox_xywh
    area = bbox[:, 2] * bbox[:, 3]
    # labelled landmarks in the 294 layout
    ks = NUM_LANDMARKS_BY_ID[cats]
    lm = table.landmarks
    local = np.arange(len(lm), dtype=np.int64) - np.repeat(table.landmark_start[:-1], ks)
    gidx = np.repeat(OFFSET_BY_ID[cats], ks) + local
    lab = lm[:, 2] > 0
    owner = np.repeat(np.arange(n, dtype=np.int64), ks)
    num_kp = np.bincount(owner[lab], minlength=n).astype(np.int64)
    kp_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(num_kp, out=kp_start[1:])
    # polygons: pycocotools-safe by the one repair rule, applied where it changes something
    pts, pcount, powner, notes = _repaired_polygons(table)
    heights = table.height if table.height is not None else np.full(len(table), -1, dtype=np.int64)
    widths = table.width if table.width is not None else np.full(len(table), -1, dtype=np.int64)
    return GroundTruth(
        source=str(table.split_dir),
        image_ids=table.image_id,
        heights=np.asarray(heights, dtype=np.int64),
        widths=np.asarray(widths, dtype=np.int64),
        cat_ids=np.array([c.id for c in CATEGORIES], dtype=np.int64),
        ann_img=table.item_image.astype(np.int64),
        ann_cat=cats - 1,
        bbox_xywh=bbox,
        area=area,
        iscrowd=np.zeros(n, dtype=bool),
        num_keypoints=num_kp,
        kp_start=kp_start,
        kp_index=gidx[lab],
        kp_xy=lm[lab, :2].astype(np.float64),
        kp_v=lm[lab, 2].astype(np.int64),
        attributes=table.attributes.astype(np.int64),
        poly_points=pts,
        poly_count=pcount,
        poly_owner=powner,
        notes=notes,
    )


def _repaired_polygons(table: SplitTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    n = table.num_items
    pcount = table.point_count
    powner = np.repeat(np.arange(n, dtype=np.int64), table.polygon_count)
    bad_poly = pcount < 3
    needs = np.zeros(n, dtype=bool)
    needs[powner[bad_poly]] = True
    needs |= table.polygon_count == 0
    notes: dict[str, int] = {}
    if not needs.any():
        return table.points, pcount, powner, notes
    keep_poly = ~needs[powner]
    pts = [table.points[_ragged_index(table.point_start[:-1][keep_poly], pcount[keep_poly])]]
    cnt = [pcount[keep_poly]]
    own = [powner[keep_poly]]
    for j in np.flatnonzero(needs).tolist():
        polys, item_notes = repair_polygons(table.item_polygons(j), table.bbox_xyxy[j])
        for note in item_notes:
            notes[note] = notes.get(note, 0) + 1
        for p in polys:
            pts.append(np.asarray(p, dtype=np.float64).reshape(-1, 2))
            cnt.append(np.array([len(p)], dtype=np.int64))
            own.append(np.array([j], dtype=np.int64))
    points = np.concatenate(pts)
    count = np.concatenate(cnt)
    owner = np.concatenate(own)
    starts = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=starts[1:])
    order = np.argsort(owner, kind="stable")
    points = points[_ragged_index(starts[:-1][order], count[order])]
    if notes:
        log.info("ground truth polygons repaired: %s", ", ".join(f"{k} x{v}" for k, v in sorted(notes.items())))
    return points, count[order], owner[order], notes


# ---- from an official-style COCO file -------------------------------------------------------------------
def _need(obj: Any, key: str, path: str, item: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FormatError(f"expected a {key!r} field", path=path, item=item, field=key)
    return obj[key]


# the official ground-truth files spend most of their bytes on fields a task may not read: 882 landmark
# numbers and polygons per annotation. Before parsing, such lists are emptied (if the result is not valid
# JSON, the file is parsed as it is).
_LIST_END = re.compile(rb"\]")
_NESTED_END = re.compile(rb"\]\s*\]")
_VALUE_START = re.compile(rb"\s*:\s*")


def _empty_lists(raw: bytes, key: bytes, *, nested: bool) -> bytes:
    """``raw`` with every ``"key": [ ... ]`` value (flat, or a list of flat lists) replaced by ``[]``."""
    pieces = []
    pos = 0
    end_re = _NESTED_END if nested else _LIST_END
    while True:
        i = raw.find(key, pos)
        if i < 0:
            break
        m = _VALUE_START.match(raw, i + len(key))
        j = m.end() if m else i + len(key)
        if raw[j : j + 1] != b"[":
            pieces.append(raw[pos:j])
            pos = j
            continue
        e = end_re.search(raw, j)
        if e is None:
            break
        k = e.end()
        # only a span of numbers: no key, string or object can hide inside (else leave it as it is)
        opens = raw.count(b"[", j, k)
        plain = (
            raw.find(b'"', j, k) < 0
            and raw.find(b"{", j, k) < 0
            and opens == raw.count(b"]", j, k)
            and (nested or opens == 1)
        )
        if not plain:
            pieces.append(raw[pos : j + 1])
            pos = j + 1
            continue
        pieces.append(raw[pos:j])
        pieces.append(b"[]")
        pos = k
    pieces.append(raw[pos:])
    return b"".join(pieces)


def _from_coco_file(path: Path, *, keypoints: bool = True, masks: bool = True) -> GroundTruth:
    src = str(path)
    raw = path.read_bytes()
    with _gc_paused():
        data = None
        spans: list[tuple[int, int]] = []
        slim = raw
        slim, spans = split_keypoint_lists(raw)  # the 882-number lists are read apart (see _kptext), if at all
        if not masks:
            slim = _empty_lists(slim, b'"segmentation"', nested=True)
        try:
            data = orjson.loads(slim)
        except orjson.JSONDecodeError:
            data = None  # let the file as it is speak
        del slim
        if data is not None and keypoints and not _fill_keypoints(data, raw, spans):
            data = None
        if data is not None:
            try:
                return _from_coco_dict_fast(data, src, keypoints=keypoints, masks=masks)
            except _Slow:
                pass
        # something unusual: the whole file, parsed as it is, through the checked path (which names problems)
        try:
            data = orjson.loads(whole_zeros(raw) if keypoints else raw)
        except orjson.JSONDecodeError as e:
            raise FormatError(f"not valid JSON ({e})", path=src) from None
        del raw
        return _from_coco_dict(data, src, keypoints=keypoints, masks=masks)


def _fill_keypoints(data: Any, raw: bytes, spans: list[tuple[int, int]]) -> bool:
    """Read the landmark lists cut out of ``raw`` into ``data["_df2kit_landmarks"]``: the labelled landmarks
    as columns ``(annotation, index in 294, x, y, v)`` (only category slices become numbers)."""
    anns = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(anns, list):
        return False
    rows = [j for j, a in enumerate(anns) if type(a) is dict and a.get("keypoints") == []]
    if len(rows) != len(spans):
        return False
    cats = [anns[j].get("category_id") for j in rows]
    read, flat, first, width = category_slices(raw, spans, [c if type(c) is int else 0 for c in cats])
    rows_a = np.asarray(rows, dtype=np.int64)
    trip = flat.reshape(-1, 3)
    per = width // 3
    owner = np.repeat(rows_a[read], per) if len(read) else np.zeros(0, np.int64)
    index = np.repeat(first // 3, per) + (np.arange(len(trip)) - np.repeat(np.cumsum(per) - per, per))
    parts = [(owner, index, trip)]
    done = np.zeros(len(rows), dtype=bool)
    done[read] = True
    for r in np.flatnonzero(~done).tolist():  # the unusual ones, parsed as they are
        a, b = spans[r]
        vals = orjson.loads(whole_zeros(raw[a:b]))
        if len(vals) != 3 * NUM_LANDMARKS:
            return False
        k = np.asarray(vals, dtype=np.float64).reshape(-1, 3)
        parts.append((np.full(NUM_LANDMARKS, rows[r], dtype=np.int64), np.arange(NUM_LANDMARKS), k))
    owner = np.concatenate([p[0] for p in parts])
    index = np.concatenate([p[1] for p in parts]).astype(np.int64)
    trip = np.concatenate([p[2] for p in parts])
    lab = trip[:, 2] > 0
    order = np.lexsort((index[lab], owner[lab]))
    data["_df2kit_landmarks"] = (owner[lab][order], index[lab][order], trip[lab][order])
    for j in rows:
        anns[j]["keypoints"] = None
    return True


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects are made (2-3x faster)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _from_coco_dict(data: Any, src: str, *, keypoints: bool = True, masks: bool = True) -> GroundTruth:
    """Columns of a parsed COCO ground truth; landmarks and masks are only read when asked for."""
    try:
        return _from_coco_dict_fast(data, src, keypoints=keypoints, masks=masks)
    except _Slow:
        return _from_coco_dict_checked(data, src)


class _Slow(Exception):
    """The fast path met something unusual: the checked path decides (and names any problem)."""


def _from_coco_dict_fast(data: Any, src: str, *, keypoints: bool, masks: bool) -> GroundTruth:
    try:
        images, anns, cats = data["images"], data["annotations"], data["categories"]
        img_ids = np.array([im["id"] for im in images], dtype=np.int64)
        hs = np.array([im.get("height", -1) for im in images], dtype=np.int64)
        ws = np.array([im.get("width", -1) for im in images], dtype=np.int64)
        cat_ids = np.sort(np.array([c["id"] for c in cats], dtype=np.int64))
        n = len(anns)
        a_img = np.array([a["image_id"] for a in anns], dtype=np.int64)
        a_cat = np.array([a["category_id"] for a in anns], dtype=np.int64)
        bbox = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
        area = np.array([a.get("area", np.nan) for a in anns], dtype=np.float64)
        crowd = np.array([a.get("iscrowd", 0) for a in anns], dtype=np.int64).astype(bool)
        kps = [a.get("keypoints") for a in anns] if keypoints else []
        num_given = np.array([a.get("num_keypoints", -1) for a in anns], dtype=np.int64)
        has_attrs = n > 0 and all(k in anns[0] for k in ATTRIBUTES)
        attrs = (
            np.array([[a[k] for k in ATTRIBUTES] for a in anns], dtype=np.int64).reshape(n, 4) if has_attrs else None
        )
        segs = [a.get("segmentation") for a in anns] if masks else []
    except (KeyError, TypeError, ValueError, OverflowError):
        raise _Slow from None
    if not (isinstance(images, list) and isinstance(anns, list) and isinstance(cats, list)):
        raise _Slow
    order = np.argsort(img_ids, kind="stable")
    img_ids, hs, ws = img_ids[order], hs[order], ws[order]
    if len(img_ids) > 1 and np.any(img_ids[1:] == img_ids[:-1]):
        raise _Slow
    rows = np.searchsorted(img_ids, a_img)
    if n and (rows.max() >= len(img_ids) or not np.array_equal(img_ids[np.minimum(rows, len(img_ids) - 1)], a_img)):
        raise _Slow
    kcat = np.searchsorted(cat_ids, a_cat)
    if n and (kcat.max() >= len(cat_ids) or not np.array_equal(cat_ids[np.minimum(kcat, len(cat_ids) - 1)], a_cat)):
        raise _Slow
    area = np.where(np.isnan(area), bbox[:, 2] * bbox[:, 3], area)
    # landmarks: the labelled ones of each annotation (those with keypoints; the others have none)
    with_kp = [j for j, k in enumerate(kps) if k is not None and len(k)]
    kp_owner = np.zeros(0, dtype=np.int64)
    kp_index = np.zeros(0, dtype=np.int64)
    kp_vals = np.zeros((0, 3))
    read = data.get("_df2kit_landmarks") if keypoints else None
    if read is not None:  # read from the text already (_fill_keypoints)
        kp_owner, kp_index, kp_vals = read
        if with_kp:
            raise _Slow
    elif with_kp:
        try:
            arr = np.array([kps[j] for j in with_kp], dtype=np.float64)
        except (TypeError, ValueError):
            raise _Slow from None
        if arr.shape != (len(with_kp), 3 * NUM_LANDMARKS):
            raise _Slow
        arr = arr.reshape(len(with_kp), NUM_LANDMARKS, 3)
        r, c = np.nonzero(arr[:, :, 2] > 0)
        kp_owner = np.asarray(with_kp, dtype=np.int64)[r]
        kp_index = c.astype(np.int64)
        kp_vals = arr[r, c]
    labelled = np.bincount(kp_owner, minlength=n).astype(np.int64)
    num_kp = np.where(num_given >= 0, num_given, labelled)
    kp_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(labelled, out=kp_start[1:])
    # masks: polygons (repaired by the converters' rule where needed) or RLE
    pts_flat: list[float] = []
    plen: list[int] = []
    pown: list[int] = []
    rle_owner: list[int] = []
    rle_list: list[np.ndarray] = []
    needs_repair: list[int] = []
    for j, seg in enumerate(segs):
        if type(seg) is list:
            if not seg:
                needs_repair.append(j)
                continue
            for p in seg:
                if type(p) is not list or len(p) % 2 or len(p) < 6:
                    needs_repair.append(j)
                    break
            else:
                for p in seg:
                    pts_flat.extend(p)
                    plen.append(len(p) // 2)
                    pown.append(j)
        elif seg is None:
            needs_repair.append(j)
        elif isinstance(seg, dict):
            h, w = int(hs[rows[j]]), int(ws[rows[j]])
            try:
                counts = rle_counts(seg)
            except RLEError:
                raise _Slow from None
            if list(seg.get("size", [])) != [h, w]:
                raise _Slow
            rle_owner.append(j)
            rle_list.append(counts)
        else:
            raise _Slow
    notes: dict[str, int] = {}
    if needs_repair:
        for j in needs_repair:
            seg = segs[j]
            polys = []
            for p in seg or []:
                if not isinstance(p, list) or len(p) % 2:
                    raise _Slow
                polys.append(np.asarray(p, dtype=np.float64).reshape(-1, 2))
            x, y, bw, bh = bbox[j]
            fixed, item_notes = repair_polygons(polys, (x, y, x + bw, y + bh))
            for note in item_notes:
                notes[note] = notes.get(note, 0) + 1
            for p in fixed:
                pts_flat.extend(np.asarray(p, dtype=np.float64).ravel().tolist())
                plen.append(len(p))
                pown.append(j)
    try:
        points = np.array(pts_flat, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise _Slow from None
    pcount = np.array(plen, dtype=np.int64)
    powner = np.array(pown, dtype=np.int64)
    if len(powner) > 1 and np.any(powner[1:] < powner[:-1]):
        starts = np.concatenate([[0], np.cumsum(pcount)[:-1]])
        order = np.argsort(powner, kind="stable")
        points = points[_ragged_index(starts[order], pcount[order])]
        pcount, powner = pcount[order], powner[order]
    if notes:
        log.info("ground truth polygons repaired: %s", ", ".join(f"{k} x{v}" for k, v in sorted(notes.items())))
    return GroundTruth(
        source=src,
        image_ids=img_ids,
        heights=hs,
        widths=ws,
        cat_ids=cat_ids,
        ann_img=rows.astype(np.int64),
        ann_cat=kcat.astype(np.int64),
        bbox_xywh=bbox,
        area=area,
        iscrowd=crowd,
        num_keypoints=num_kp,
        kp_start=kp_start,
        kp_index=kp_index,
        kp_xy=kp_vals[:, :2].astype(np.float64),
        kp_v=kp_vals[:, 2].astype(np.int64),
        attributes=attrs,
        poly_points=points,
        poly_count=pcount,
        poly_owner=powner,
        rle_owner=np.array(rle_owner, dtype=np.int64),
        rle_counts=tuple(rle_list),
        notes=notes,
    )


def _from_coco_dict_checked(data: Any, src: str) -> GroundTruth:
    if not isinstance(data, dict):
        raise FormatError("expected a COCO ground-truth object with 'images', 'annotations', 'categories'", path=src)
    images = _need(data, "images", src, "")
    anns = _need(data, "annotations", src, "")
    cats = _need(data, "categories", src, "")
    if not all(isinstance(x, list) for x in (images, anns, cats)):
        raise FormatError("expected 'images', 'annotations' and 'categories' to be lists", path=src)
    try:
        img_ids = np.array([int(_need(im, "id", src, f"images[{i}]")) for i, im in enumerate(images)], dtype=np.int64)
        hs = np.array([int(im.get("height", -1) or -1) for im in images], dtype=np.int64)
        ws = np.array([int(im.get("width", -1) or -1) for im in images], dtype=np.int64)
        cat_ids = np.array(
            sorted(int(_need(c, "id", src, f"categories[{i}]")) for i, c in enumerate(cats)), dtype=np.int64
        )
    except (TypeError, ValueError) as e:
        raise FormatError(f"expected integer ids and sizes ({e})", path=src) from None
    order = np.argsort(img_ids, kind="stable")
    img_ids, hs, ws = img_ids[order], hs[order], ws[order]
    if len(img_ids) > 1 and np.any(img_ids[1:] == img_ids[:-1]):
        dup = int(img_ids[1:][img_ids[1:] == img_ids[:-1]][0])
        raise FormatError(f"image id {dup} appears twice", path=src, item="images")
    n = len(anns)
    ann_img = np.zeros(n, dtype=np.int64)
    ann_cat = np.zeros(n, dtype=np.int64)
    bbox = np.zeros((n, 4), dtype=np.float64)
    area = np.zeros(n, dtype=np.float64)
    crowd = np.zeros(n, dtype=bool)
    num_kp = np.zeros(n, dtype=np.int64)
    kp_rows: list[np.ndarray] = []
    has_attrs = n > 0 and all(k in anns[0] for k in ATTRIBUTES)
    attrs = np.zeros((n, 4), dtype=np.int64) if has_attrs else None
    pts: list[np.ndarray] = []
    pcnt: list[int] = []
    pown: list[int] = []
    rle_owner: list[int] = []
    rle_list: list[np.ndarray] = []
    notes: dict[str, int] = {}
    row_of = {int(i): r for r, i in enumerate(img_ids.tolist())}
    cat_index = {int(c): k for k, c in enumerate(cat_ids.tolist())}
    for j, a in enumerate(anns):
        item = f"annotations[{j}]"
        try:
            iid = int(_need(a, "image_id", src, item))
            if iid not in row_of:
                raise FormatError(f"image id {iid} is not in 'images'", path=src, item=item, field="image_id")
            ann_img[j] = row_of[iid]
            cid = int(_need(a, "category_id", src, item))
            if cid not in cat_index:
                raise FormatError(f"category id {cid} is not in 'categories'", path=src, item=item, field="category_id")
            ann_cat[j] = cat_index[cid]
            bb = _need(a, "bbox", src, item)
            if not isinstance(bb, list) or len(bb) != 4:
                raise FormatError(f"expected 4 numbers [x, y, w, h], got {bb!r:.60}", path=src, item=item, field="bbox")
            bbox[j] = bb
            area[j] = float(a["area"]) if "area" in a else bbox[j, 2] * bbox[j, 3]
            crowd[j] = bool(a.get("iscrowd", 0))
            kps = a.get("keypoints")
            if kps is not None and len(kps):
                k = np.asarray(kps, dtype=np.float64)
                if k.shape != (3 * NUM_LANDMARKS,):
                    raise FormatError(
                        f"expected {3 * NUM_LANDMARKS} numbers (294 landmarks x [x, y, v]), got {k.size}",
                        path=src, item=item, field="keypoints",
                    )
                k = k.reshape(-1, 3)
                lab = np.flatnonzero(k[:, 2] > 0)
                kp_rows.append(np.column_stack([np.full(len(lab), j), lab, k[lab]]))
                num_kp[j] = int(a.get("num_keypoints", len(lab)))
            else:
                num_kp[j] = int(a.get("num_keypoints", 0))
            if attrs is not None:
                attrs[j] = [int(a.get(k, 0) or 0) for k in ATTRIBUTES]
            seg = a.get("segmentation")
            if isinstance(seg, dict):
                h, w = int(hs[ann_img[j]]), int(ws[ann_img[j]])
                try:
                    c = rle_counts(seg)
                except RLEError as e:
                    raise FormatError(str(e), path=src, item=item, field="segmentation") from None
                if list(seg.get("size", [])) != [h, w]:
                    raise FormatError(
                        f"mask size {seg.get('size')} differs from the image size [{h}, {w}]",
                        path=src, item=item, field="segmentation",
                    )
                rle_owner.append(j)
                rle_list.append(c)
            elif isinstance(seg, list) and seg:
                polys = []
                for p in seg:
                    arr = np.asarray(p, dtype=np.float64).reshape(-1)
                    if arr.size % 2:
                        raise FormatError(
                            "expected an even number of polygon coordinates", path=src, item=item, field="segmentation"
                        )
                    polys.append(arr.reshape(-1, 2))
                if any(len(p) < 3 for p in polys):
                    x, y, bw, bh = bbox[j]
                    polys, item_notes = repair_polygons(polys, (x, y, x + bw, y + bh))
                    for note in item_notes:
                        notes[note] = notes.get(note, 0) + 1
                for p in polys:
                    pts.append(p)
                    pcnt.append(len(p))
                    pown.append(j)
            else:
                x, y, bw, bh = bbox[j]
                polys, item_notes = repair_polygons([], (x, y, x + bw, y + bh))
                for note in item_notes:
                    notes[note] = notes.get(note, 0) + 1
                pts.append(polys[0])
                pcnt.append(len(polys[0]))
                pown.append(j)
        except FormatError:
            raise
        except (TypeError, ValueError, KeyError) as e:
            raise FormatError(f"malformed annotation ({e})", path=src, item=item) from None
    kp = np.concatenate(kp_rows) if kp_rows else np.zeros((0, 5))
    kp_owner = kp[:, 0].astype(np.int64)
    counts = np.bincount(kp_owner, minlength=n) if len(kp) else np.zeros(n, dtype=np.int64)
    kp_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=kp_start[1:])
    return GroundTruth(
        source=src,
        image_ids=img_ids,
        heights=hs,
        widths=ws,
        cat_ids=cat_ids,
        ann_img=ann_img,
        ann_cat=ann_cat,
        bbox_xywh=bbox,
        area=area,
        iscrowd=crowd,
        num_keypoints=num_kp,
        kp_start=kp_start,
        kp_index=kp[:, 1].astype(np.int64),
        kp_xy=kp[:, 2:4].astype(np.float64),
        kp_v=kp[:, 4].astype(np.int64),
        attributes=attrs,
        poly_points=np.concatenate(pts) if pts else np.zeros((0, 2)),
        poly_count=np.array(pcnt, dtype=np.int64),
        poly_owner=np.array(pown, dtype=np.int64),
        rle_owner=np.array(rle_owner, dtype=np.int64),
        rle_counts=tuple(rle_list),
        notes=notes,
    )


def load_ground_truth(
    gt: GroundTruth | SplitTable | dict[str, Any] | str | os.PathLike[str],
    *,
    need_sizes: bool = False,
    keypoints: bool = True,
    progress: bool = False,
) -> GroundTruth:
    """Ground truth from a :class:`GroundTruth`, a :class:`~df2kit.io.SplitTable`, a native split folder
    (``ROOT/validation``), an official-style COCO ground-truth JSON file, or such a file's parsed dict.

    ``need_sizes`` reads the image sizes of a native split from the image headers (for masks); a ground-truth
    file's polygons and landmarks are only read when masks (``need_sizes``) or ``keypoints`` are needed. A
    native split is scanned strictly: a broken annotation file is an error, never silently left out of the
    score.
    """
    if isinstance(gt, GroundTruth):
        return gt
    if isinstance(gt, SplitTable):
        return _from_split(gt, need_sizes=need_sizes, progress=progress)
    if isinstance(gt, dict):
        return _from_coco_dict(gt, "<COCO dict>")
    path = Path(gt).expanduser()
    if path.is_dir():
        table = scan_split(path, None, strict=True, progress=progress)
        return _from_split(table, need_sizes=need_sizes, progress=progress)
    if path.is_file():
        return _from_coco_file(path, keypoints=keypoints, masks=need_sizes)
    raise DatasetError("no such split folder or ground-truth file", path=str(path))
