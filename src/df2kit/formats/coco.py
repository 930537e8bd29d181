"""COCO files: ``to_coco`` (native split -> one COCO JSON, streamed) and ``from_coco`` (back to native files).

>>> from df2kit.formats.coco import to_coco, from_coco
>>> summary = to_coco("ROOT", "val_coco.json", split="validation")          # doctest: +SKIP
>>> print(summary.format())                                                 # doctest: +SKIP
>>> from_coco("val_coco.json", "restored/validation")                       # doctest: +SKIP

Official-compatible by default
------------------------------
The default file follows the rules of the official DeepFashion2 conversion (spec section 3), so that scoring
against it gives the official numbers:

* one ``images`` entry per image: ``id`` = integer of the file stem, ``file_name``, ``width``/``height`` from
  the image header (no decoding);
* one annotation per item, ids from 1 in image order then item order: ``bbox`` = ``[x1, y1, x2 - x1, y2 - y1]``,
  ``area`` = box width x height (not the mask area), ``iscrowd`` 0, ``segmentation`` = the item's polygons,
  ``keypoints`` = 882 numbers (294 x [x, y, v]) that are zero outside the category's slice,
  ``num_keypoints`` = landmarks with v > 0, ``style`` and ``pair_id``;
* categories 1..13 with the official COCO names, supercategory ``clothes``.

Better than the official file, without breaking it:

* each category's ``keypoints`` are the 294 real landmark names (``short_sleeve_top_01`` ...), the same list
  for every category since the 882-number vectors are global, and its ``skeleton`` holds the category's own
  edges as 1-based indices into those 294 names (the COCO convention), so pycocotools' drawing and the
  official scorer work unchanged;
* every annotation also carries ``source``, the four attributes (``scale``, ``occlusion``, ``zoom_in``,
  ``viewpoint``) and ``item_key`` (``item2``), and every image its ``source`` and ``pair_id``, so that
  :func:`from_coco` can restore the native files exactly;
* degenerate polygons are repaired by :func:`df2kit.structures.polygons.repair_polygons` (the same rule the
  evaluators apply to ground truth): a polygon with fewer than 3 points is dropped, an item left without a
  polygon gets its box as a polygon. Items are never dropped, and every repair is counted in the summary.

Options: ``area="mask"`` (the polygons' area instead of the box area), ``keypoints="per-category"`` (each
annotation holds only its category's K landmarks and each category only its own K names and local skeleton,
for tools that want that; not official-compatible), ``vis_only=True`` (occluded landmarks become v = 0 with
x = y = 0: the "vis" ground truth of the landmark benchmark).

Memory stays bounded: annotations are serialized in chunks (in worker processes) and streamed into the file;
the JSON is never built as one dict. The file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .. import __version__
from .._atomic import atomic_open, remove_stale_parts
from .._progress import progress_bar
from .._table import format_table
from .._workers import cpu_count
from ..errors import AnnotationError, DatasetError, FormatError, Issue
from ..io.native import annotation_to_bytes
from ..io.scan import SplitTable
from ..layout import ATTRIBUTES, CATEGORIES, LANDMARK_NAMES_294, NUM_LANDMARKS, SOURCES, Category
from ..structures.polygons import polygons_area, repair_polygons
from ..structures.records import ClothingItem, ImageAnnotation
from . import _stream

__all__ = [
    "AREA_MODES",
    "KEYPOINT_MODES",
    "MISSING_ATTRIBUTE_LEVELS",
    "CocoSummary",
    "FromCocoSummary",
    "coco_categories",
    "from_coco",
    "to_coco",
]

log = logging.getLogger(__name__)

AREA_MODES = ("box", "mask")
KEYPOINT_MODES = ("global", "per-category")
_OPT = orjson.OPT_SERIALIZE_NUMPY

#: Levels written to native files for items whose COCO annotation lacks the attributes (the official
#: converter drops them): the "no effect" levels (slight occlusion, no zoom-in) and the middle ones (moderate
#: scale, frontal viewpoint). :func:`from_coco` counts every item filled this way.
MISSING_ATTRIBUTE_LEVELS: dict[str, int] = {"scale": 2, "occlusion": 1, "zoom_in": 1, "viewpoint": 2}


# ---- categories -----------------------------------------------------------------------------------------
def coco_categories(keypoints: str = "global") -> list[dict[str, Any]]:
    """The ``categories`` list of df2kit's COCO files.

    ``global``: every category lists the 294 landmark names and its skeleton as 1-based global indices.
    ``per-category``: each category lists its own K names and its skeleton in local 1-based indices.

    >>> cats = coco_categories()
    >>> cats[7]["name"], len(cats[7]["keypoints"]), cats[7]["skeleton"][0]
    ('trousers', 294, [169, 170])
    """
    _check_choice("keypoints", keypoints, KEYPOINT_MODES)
    out = []
    for c in CATEGORIES:
        if keypoints == "global":
            names: Sequence[str] = LANDMARK_NAMES_294
            skeleton = [[c.offset + a, c.offset + b] for a, b in c.skeleton]
        else:
            names = c.landmark_names
            skeleton = [[a, b] for a, b in c.skeleton]
        out.append(
            {"id": c.id, "name": c.coco_name, "supercategory": "clothes", "keypoints": list(names), "skeleton": skeleton}
        )
    return out


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")


# ---- summary --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CocoSummary:
    """What :func:`to_coco` wrote, and every change it made to the data on the way."""

    path: str
    split: str
    images: int
    annotations: int
    area: str
    keypoints: str
    vis_only: bool
    #: repair notes of :func:`~df2kit.structures.polygons.repair_polygons` -> count
    #: (``dropped-degenerate``: polygons dropped; ``box-as-polygon``: items given their box as polygon)
    repairs: dict[str, int] = field(default_factory=dict)
    items_repaired: int = 0  #: items with at least one repair (kept, never dropped)
    landmarks_hidden: int = 0  #: occluded landmarks turned into v = 0 by ``vis_only``
    skipped_by_reader: int = 0  #: broken annotation files or items the lenient reader skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "split": self.split,
            "images": self.images,
            "annotations": self.annotations,
            "area": self.area,
            "keypoints": self.keypoints,
            "vis_only": self.vis_only,
            "repairs": dict(self.repairs),
            "items_repaired": self.items_repaired,
            "landmarks_hidden": self.landmarks_hidden,
            "skipped_by_reader": self.skipped_by_reader,
        }

    def format(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("images", self.images),
            ("annotations (one per item, none dropped)", self.annotations),
            ("area", "box width x height (official)" if self.area == "box" else "polygon area"),
            ("keypoints", "882 global (official)" if self.keypoints == "global" else "per category (K each)"),
            ("occluded landmarks", f"hidden (v = 0): {self.landmarks_hidden:,}" if self.vis_only else "kept (v = 1)"),
            ("items with repaired polygons", self.items_repaired),
            ("  degenerate polygons dropped", self.repairs.get("dropped-degenerate", 0)),
            ("  items given their box as polygon", self.repairs.get("box-as-polygon", 0)),
        ]
        if self.skipped_by_reader:
            rows.append(("broken files/items skipped by the reader", self.skipped_by_reader))
        return format_table([f"COCO {self.split} -> {self.path}", "count"], rows)


# ---- native -> COCO -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    area: str
    keypoints: str
    vis_only: bool


def _needs_repair(t: SplitTable) -> np.ndarray:
    """Items that :func:`repair_polygons` would change: no polygon, or a polygon with fewer than 3 points."""
    short = t.point_count < 3
    poly_item = np.repeat(np.arange(t.num_items), t.polygon_count)
    bad = np.bincount(poly_item[short], minlength=t.num_items) > 0
    return bad | (t.polygon_count == 0)


def _flat(poly: np.ndarray, integral: bool) -> np.ndarray:
    flat = np.ascontiguousarray(poly).reshape(-1)
    return flat.astype(np.int64) if integral else flat


def _coco_items(t: SplitTable, opts: _Options) -> tuple[list[bytes], Counter[str]]:
    """Serialize the annotations of a (sub-)table, one ``bytes`` per item WITHOUT the leading ``{"id":N,``
    (ids are given in order by the writer, see :func:`_with_ids`); returns them and the repair counters."""
    counts: Counter[str] = Counter()
    m = t.num_items
    if m == 0:
        return [], counts
    lm = t.landmarks
    if opts.vis_only:
        occluded = lm[:, 2] == 1
        counts["landmarks_hidden"] += int(np.count_nonzero(occluded))
        lm = lm.copy()
        lm[occluded] = 0.0
        t = replace(t, landmarks=lm)
    ks = np.diff(t.landmark_start)
    lm_item = np.repeat(np.arange(m), ks)
    num_kp = np.bincount(lm_item[lm[:, 2] > 0], minlength=m)
    lm_int = np.bincount(lm_item[(lm != np.rint(lm)).any(axis=1)], minlength=m) == 0
    if opts.keypoints == "global":
        kp_f = t.landmarks_294().reshape(m, 3 * NUM_LANDMARKS)
    else:
        kp_f = lm
    kp_i = kp_f.astype(np.int64)
    xywh = t.bbox_xywh
    box_int = (xywh == np.rint(xywh)).all(axis=1)
    box_i = xywh.astype(np.int64)
    pts = t.points
    pt_poly = np.repeat(np.arange(len(t.point_count)), t.point_count)
    poly_int = np.bincount(pt_poly[(pts != np.rint(pts)).any(axis=1)], minlength=len(t.point_count)) == 0
    pts_i = pts.astype(np.int64)
    repair = _needs_repair(t)
    ps, qs, ls = t.polygon_start, t.point_start, t.landmark_start
    img_id = t.image_id[t.item_image].tolist()
    pair = t.item_pair_id.tolist()
    src = t.item_source.tolist()
    cats = t.category_id.tolist()
    styles = t.style.tolist()
    attrs = t.attributes.tolist()
    keys = t.item_key.tolist()
    out = []
    dumps = orjson.dumps
    for j in range(m):
        if repair[j]:
            polys, notes = repair_polygons(t.item_polygons(j), t.bbox_xyxy[j])
            counts["items_repaired"] += 1
            counts.update(notes)
            seg = [_flat(p, bool((p == np.rint(p)).all())) for p in polys]
        else:
            polys = None
            seg = [
                (pts_i if poly_int[p] else pts)[qs[p] : qs[p + 1]].reshape(-1) for p in range(ps[j], ps[j + 1])
            ]
        if box_int[j]:
            bbox: Any = box_i[j]
            area: float | int = int(box_i[j, 2] * box_i[j, 3])
        else:
            bbox = xywh[j]
            area = float(xywh[j, 2] * xywh[j, 3])
        if opts.area == "mask":
            a = polygons_area(polys if polys is not None else t.item_polygons(j))
            area = int(a) if a.is_integer() else a
        if opts.keypoints == "global":
            kp = kp_i[j] if lm_int[j] else kp_f[j]
        else:
            kp = (kp_i if lm_int[j] else kp_f)[ls[j] : ls[j + 1]].reshape(-1)
        a4 = attrs[j]
        out.append(
            dumps(
                {
                    "image_id": img_id[j],
                    "category_id": cats[j],
                    "bbox": bbox,
                    "area": area,
                    "iscrowd": 0,
                    "segmentation": seg,
                    "keypoints": kp,
                    "num_keypoints": int(num_kp[j]),
                    "style": styles[j],
                    "pair_id": pair[j],
                    "source": SOURCES[src[j]],
                    "scale": a4[0],
                    "occlusion": a4[1],
                    "zoom_in": a4[2],
                    "viewpoint": a4[3],
                    "item_key": keys[j],
                },
                option=_OPT,
            )[1:]
        )
    return out, counts


def _with_ids(parts: list[bytes], first_id: int) -> bytes:
    """Join serialized annotations, giving them ids ``first_id, first_id + 1, ...`` as their first key."""
    return b",\n".join([b'{"id":%d,%s' % (first_id + k, rest) for k, rest in enumerate(parts)])


def _image_entries(t: SplitTable) -> bytes:
    assert t.width is not None and t.height is not None
    widths, heights = t.width.tolist(), t.height.tolist()
    ids, pairs, srcs, stems = t.image_id.tolist(), t.pair_id.tolist(), t.source.tolist(), t.stems.tolist()
    return b",\n".join(
        [
            orjson.dumps(
                {
                    "id": ids[i],
                    "file_name": f"{stems[i]}.jpg",
                    "width": widths[i],
                    "height": heights[i],
                    "source": SOURCES[srcs[i]],
                    "pair_id": pairs[i],
                }
            )
            for i in range(len(t))
        ]
    )


@dataclass
class _Part:
    """One chunk's output: image entries, annotations (without ids), counters, reader issues, missing images."""

    images: bytes
    annotations: list[bytes]
    counts: Counter[str]
    issues: list[Issue]
    missing_images: list[str]
    num_images: int
    num_files: int


def _run_part(job: tuple[Any, ...]) -> _Part:
    """Worker: one chunk of files (``("files", split_dir, names, opts)``) or of a table (``("table", t, opts)``)."""
    if job[0] == "files":
        t, issues, missing = _stream.read_chunk(job[1], job[2])
        opts, n_files = job[3], len(job[2])
    else:
        t, missing = _stream.with_sizes(job[1])
        issues, opts, n_files = [], job[2], 0
    anns, counts = _coco_items(t, opts) if not missing else ([], Counter())
    return _Part(_image_entries(t) if not missing else b"", anns, counts, issues, missing, len(t), n_files)


def to_coco(
    source: SplitTable | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    split: str | None = None,
    area: str = "box",
    keypoints: str = "global",
    vis_only: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> CocoSummary:
    """Write one split as a COCO JSON file (official-compatible by default; see the module docstring).

    Args:
        source: a dataset root or split folder, or an already scanned :class:`~df2kit.io.SplitTable`.
        out_path: the ``.json`` file to write (atomically).
        split: split name under a dataset root (``validation``).
        area: ``"box"`` (official: box width x height) or ``"mask"`` (polygon area).
        keypoints: ``"global"`` (official: 882 numbers) or ``"per-category"`` (3 K numbers).
        vis_only: occluded landmarks become v = 0 (the "vis" landmark ground truth).
        workers: processes (default: all cores).
        progress: show a progress bar on stderr.

    A folder is converted in one streaming pass: worker processes parse chunks of annotation files with the
    scanner's own rules (broken files and items are skipped and counted, exactly as ``scan_split`` does),
    read the image headers and serialize; the main process writes the chunks in order. Memory depends on
    the chunk size, not the split size. Image sizes come from the image headers (``table.width``/``height``
    when a table already has them); a missing image raises :class:`~df2kit.errors.DatasetError`.
    """
    _check_choice("area", area, AREA_MODES)
    _check_choice("keypoints", keypoints, KEYPOINT_MODES)
    n_workers = workers or cpu_count()
    opts = _Options(area, keypoints, bool(vis_only))
    reader_issues: list[Issue] = []
    jobs: list[tuple[Any, ...]]
    if isinstance(source, SplitTable):
        split_name, total_files = source.name, source.num_files
        jobs = [("table", sub, opts) for sub in _stream.table_chunks(source)]
        n_units, unit = source.num_items, "item"
        reader_issues = list(source.errors)
    else:
        split_dir = _stream.annotated_split(source, split)
        split_name = split_dir.name
        chunks, reader_issues, total_files = _stream.file_chunks(split_dir)
        jobs = [("files", str(split_dir), names, opts) for names in chunks]
        n_units, unit = sum(len(c) for c in chunks), "file"
    info = {
        "description": f"DeepFashion2 {split_name}, written by df2kit {__version__}",
        "version": __version__,
        "df2kit": {"split": split_name, "area": area, "keypoints": keypoints, "vis_only": bool(vis_only)},
    }
    counts: Counter[str] = Counter()
    n_images = n_anns = 0
    image_blobs: list[bytes] = []
    out_path = Path(out_path).expanduser()
    bar = progress_bar(total=n_units, desc=f"COCO {split_name}", unit=unit, enabled=progress)
    for p in remove_stale_parts(out_path.parent, out_path.name):
        log.info("removed %s, left by a run that was killed", p)
    try:
        with atomic_open(out_path, "wb") as f:
            f.write(b'{"info":' + orjson.dumps(info) + b',"licenses":[],"categories":')
            f.write(orjson.dumps(coco_categories(keypoints)))
            f.write(b',\n"annotations":[\n')
            for part in _stream.ordered_map(_run_part, jobs, n_workers):
                if part.missing_images:
                    raise _stream.missing_images_error(part.missing_images, len(part.missing_images))
                reader_issues.extend(i for i in part.issues if i.severity == "error")
                counts.update(part.counts)
                if part.annotations:
                    if n_anns:
                        f.write(b",\n")
                    f.write(_with_ids(part.annotations, n_anns + 1))
                    n_anns += len(part.annotations)
                if part.images:
                    image_blobs.append(part.images)
                n_images += part.num_images
                bar.update(part.num_files or len(part.annotations))
            f.write(b'\n],\n"images":[\n')
            f.write(b",\n".join(image_blobs))
            f.write(b"\n]}\n")
    finally:
        bar.close()
    errors = [i for i in reader_issues if i.severity == "error"]
    if errors and not isinstance(source, SplitTable):
        log.warning(
            "%s: skipped %d broken file(s) or item(s) of %d files (first: %s); `df2kit validate` lists them",
            split_name, _stream.count_skipped(errors), total_files, errors[0],
        )
    repairs = {k: counts[k] for k in ("dropped-degenerate", "box-as-polygon") if counts[k]}
    if counts["items_repaired"]:
        log.info("%s: repaired the polygons of %d item(s): %s", out_path, counts["items_repaired"], repairs)
    return CocoSummary(
        path=str(out_path),
        split=split_name,
        images=n_images,
        annotations=n_anns,
        area=area,
        keypoints=keypoints,
        vis_only=bool(vis_only),
        repairs=repairs,
        items_repaired=counts["items_repaired"],
        landmarks_hidden=counts["landmarks_hidden"],
        skipped_by_reader=_stream.count_skipped(errors),
    )


# ---- COCO -> native -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FromCocoSummary:
    """What :func:`from_coco` wrote, and what it had to fill in because the COCO file did not keep it."""

    out_dir: str
    images: int  #: native annotation files written
    items: int
    attributes_filled: int = 0  #: items without scale/occlusion/zoom_in/viewpoint (MISSING_ATTRIBUTE_LEVELS)
    source_filled: int = 0  #: images whose source came from the ``source`` argument
    keys_assigned: int = 0  #: items without ``item_key`` (named item1, item2, ... in annotation order)
    images_without_annotations: int = 0  #: written with no items (when they carry a pair_id) or skipped
    images_skipped: int = 0  #: images with neither annotations nor a pair_id (no valid native file possible)
    images_linked: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def format(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("annotation files written", self.images),
            ("items", self.items),
            ("items with attributes filled in", self.attributes_filled),
            ("images with source filled in", self.source_filled),
            ("items given item keys", self.keys_assigned),
            ("images without annotations", self.images_without_annotations),
            ("  skipped (no pair_id either)", self.images_skipped),
        ]
        if self.images_linked:
            rows.append(("images linked", self.images_linked))
        return format_table([f"native <- COCO: {self.out_dir}", "count"], rows)


_STEM = re.compile(r"^[0-9]+$")


def _safe_stem(file_name: Any, path: str, where: str) -> str:
    """The file stem of a COCO ``file_name``, refusing anything that is not a plain ``000123.jpg`` name."""
    if not isinstance(file_name, str) or not file_name:
        raise FormatError(f"expected a file name like '000123.jpg', got {file_name!r}", path=path, item=where, field="file_name")
    if "/" in file_name or "\\" in file_name or "\x00" in file_name or os.path.isabs(file_name):
        raise FormatError(
            f"refusing file name {file_name!r}: expected a bare name like '000123.jpg' (no folders), so that "
            "nothing is written outside the output folder",
            path=path,
            item=where,
            field="file_name",
        )
    stem, _ = os.path.splitext(file_name)
    if not _STEM.match(stem) or not stem.isascii():
        raise FormatError(
            f"expected a DeepFashion2 file name made of digits like '000123.jpg', got {file_name!r}",
            path=path,
            item=where,
            field="file_name",
        )
    return stem


def _req(d: Any, key: str, path: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(d, dict):
        raise FormatError(f"expected an object, got {type(d).__name__}", path=path, item=where)
    if key not in d:
        raise FormatError("missing field", path=path, item=where, field=key)
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise FormatError(f"expected {names}, got {v!r:.80}", path=path, item=where, field=key)
    return v


def _landmarks(kp: Any, cat: Category, path: str, where: str) -> np.ndarray:
    try:
        raw = np.asarray(kp) if isinstance(kp, list) else None
    except ValueError:  # ragged: a list among the numbers
        raw = None
    if raw is None or raw.ndim != 1 or raw.dtype.kind not in "iuf":  # strings, None, nested lists, bools
        raise FormatError("expected a flat list of numbers", path=path, item=where, field="keypoints")
    k = cat.num_landmarks
    arr = raw.astype(np.float64)
    if arr.size == 3 * NUM_LANDMARKS:
        full = arr.reshape(NUM_LANDMARKS, 3)
        sl = cat.landmark_slice
        outside = np.ones(NUM_LANDMARKS, dtype=bool)
        outside[sl] = False
        if full[outside].any():
            j = int(np.flatnonzero(full[outside].any(axis=1))[0])
            g = int(np.flatnonzero(outside)[j])
            raise FormatError(
                f"landmark {g} (global, 0-based) lies outside the slice {sl.start}..{sl.stop - 1} of "
                f"{cat.dataset_name!r} but is not zero",
                path=path,
                item=where,
                field="keypoints",
            )
        return full[sl].copy()
    if arr.size == 3 * k:
        return arr.reshape(k, 3)
    raise FormatError(
        f"expected {3 * NUM_LANDMARKS} numbers (294 global landmarks) or {3 * k} ({k} landmarks of "
        f"{cat.dataset_name!r}), got {arr.size}",
        path=path,
        item=where,
        field="keypoints",
    )


def _category_map(data: dict[str, Any], path: str) -> None:
    cats = data.get("categories", [])
    if not isinstance(cats, list):
        raise FormatError("expected a list", path=path, field="categories")
    for i, c in enumerate(cats):
        cid = _req(c, "id", path, f"categories[{i}]", int)
        name = c.get("name")
        if not 1 <= cid <= 13:
            raise FormatError(f"expected a DeepFashion2 category id 1..13, got {cid}", path=path, item=f"categories[{i}]", field="id")
        if isinstance(name, str):
            try:
                named = Category.from_name(name)
            except ValueError:
                continue  # a custom name: ids decide
            if int(named) != cid:
                raise FormatError(
                    f"category name {name!r} is category {int(named)} in DeepFashion2, but this file gives it id {cid}",
                    path=path,
                    item=f"categories[{i}]",
                )


def _link_or_copy(src: Path, dst: Path, mode: str) -> None:
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
    else:
        shutil.copyfile(src, dst)


def from_coco(
    coco_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    source: str | None = None,
    images: str | os.PathLike[str] | None = None,
    image_mode: str = "symlink",
    overwrite: bool = False,
    progress: bool = False,
) -> FromCocoSummary:
    """Write a COCO file back as native per-image annotation files: ``out_dir/annos/000123.json``.

    Lossless for everything the official COCO file keeps (boxes, polygons, landmarks, category, style,
    pair_id) and, for df2kit's own files, for everything (source, attributes, item keys and order too).
    What an official file does not keep is filled in and counted in the summary: the four attributes
    (:data:`MISSING_ATTRIBUTE_LEVELS`), item keys (``item1``, ``item2``, ... in annotation order) and the
    image ``source`` (from the ``source`` argument; without it such a file raises FormatError, because
    guessing shop/user would corrupt the retrieval ground truth).

    ``images``: a folder holding the images by ``file_name``; they are linked (``image_mode="symlink"``) or
    copied (``"copy"``) into ``out_dir/image/``. File names that are not bare ``000123.jpg`` names (folders,
    ``..``, absolute paths) are refused, so nothing is written outside ``out_dir``. A non-empty
    ``out_dir/annos/`` (or ``image/``) is replaced as a whole only with ``overwrite=True``. The folders are
    filled under temporary names and swapped into place when everything has been checked and written.

    The COCO file is read whole (orjson); expect about 4x its size in memory.
    """
    if source is not None and source not in SOURCES:
        raise ValueError(f"source: expected 'shop' or 'user', got {source!r}")
    _check_choice("image_mode", image_mode, ("symlink", "copy"))
    coco_path = Path(coco_path).expanduser()
    images = Path(images).expanduser() if images is not None else None
    p = str(coco_path)
    try:
        raw = Path(coco_path).read_bytes()
    except FileNotFoundError:
        raise FormatError("file not found", path=p) from None
    except IsADirectoryError:
        raise FormatError("expected a COCO JSON file, got a folder", path=p) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e}", path=p) from None
    del raw
    if not isinstance(data, dict):
        raise FormatError(f"expected a COCO object with images and annotations, got {type(data).__name__}", path=p)
    imgs = data.get("images")
    anns = data.get("annotations")
    if not isinstance(imgs, list) or not isinstance(anns, list):
        raise FormatError("expected lists 'images' and 'annotations'", path=p)
    _category_map(data, p)

    # images by id
    by_id: dict[int, dict[str, Any]] = {}
    stems: dict[int, str] = {}
    seen_stems: dict[str, int] = {}
    for i, im in enumerate(imgs):
        where = f"images[{i}]"
        iid = _req(im, "id", p, where, int)
        stem = _safe_stem(im.get("file_name"), p, where)
        if int(stem) != iid:
            raise FormatError(
                f"image id {iid} differs from its file name {im.get('file_name')!r}; DeepFashion2 image ids are "
                "the file stem's integer",
                path=p,
                item=where,
                field="id",
            )
        if iid in by_id:
            raise FormatError(f"duplicate image id {iid}", path=p, item=where, field="id")
        if stem in seen_stems:
            raise FormatError(f"file name {stem!r} used twice", path=p, item=where, field="file_name")
        by_id[iid] = im
        stems[iid] = stem
        seen_stems[stem] = iid
    ann_of: dict[int, list[int]] = {iid: [] for iid in by_id}
    for a_i, a in enumerate(anns):
        iid = _req(a, "image_id", p, f"annotations[{a_i}]", int)
        if iid not in ann_of:
            raise FormatError(f"image_id {iid} is not in 'images'", path=p, item=f"annotations[{a_i}]", field="image_id")
        ann_of[iid].append(a_i)

    out = Path(out_dir).expanduser()
    targets = [out / "annos"] + ([out / "image"] if images is not None else [])
    for d in targets:
        if d.is_dir() and not overwrite and any(d.iterdir()):
            raise DatasetError(
                f"{d.name}/ already holds files; pass overwrite=True (--overwrite) to replace the folder", path=str(d)
            )
    if images is not None:
        gone = [im["file_name"] for iid, im in by_id.items() if not (Path(images) / str(im["file_name"])).is_file()]
        if gone:
            raise DatasetError(f"{len(gone)} image file(s) not found in the images folder; first", path=str(Path(images) / gone[0]))
    out.mkdir(parents=True, exist_ok=True)
    tmp_annos = _stream.temp_dir(out, "annos")
    tmp_images = _stream.temp_dir(out, "image") if images is not None else None
    try:
        summary = _write_native(
            anns, by_id, stems, ann_of, p, tmp_annos, tmp_images, images, image_mode, source, progress
        )
        _stream.swap_in_dir(tmp_annos, out / "annos")
        if tmp_images is not None:
            _stream.swap_in_dir(tmp_images, out / "image")
    except BaseException:
        shutil.rmtree(tmp_annos, ignore_errors=True)
        if tmp_images is not None:
            shutil.rmtree(tmp_images, ignore_errors=True)
        raise
    return replace(summary, out_dir=str(out))


def _write_native(
    anns: list[Any],
    by_id: dict[int, dict[str, Any]],
    stems: dict[int, str],
    ann_of: dict[int, list[int]],
    p: str,
    anno_dir: Path,
    image_dir: Path | None,
    images: str | os.PathLike[str] | None,
    image_mode: str,
    source: str | None,
    progress: bool,
) -> FromCocoSummary:
    n_items = attrs_filled = source_filled = keys_assigned = no_anns = skipped = linked = 0
    for iid in progress_bar(sorted(by_id), desc="native files", unit="file", enabled=progress):
        im = by_id[iid]
        where_img = f"image {iid}"
        idxs = ann_of[iid]
        # source and pair_id: image level first (df2kit files), else from the annotations (official files)
        src = im.get("source")
        pair = im.get("pair_id")
        for a_i in idxs:
            a = anns[a_i]
            for key, cur in (("source", src), ("pair_id", pair)):
                v = a.get(key)
                if v is None:
                    continue
                if cur is None:
                    if key == "source":
                        src = v
                    else:
                        pair = v
                elif v != cur:
                    raise FormatError(
                        f"annotations of image {iid} disagree on {key}: {cur!r} and {v!r}",
                        path=p,
                        item=f"annotations[{a_i}]",
                        field=key,
                    )
        if not idxs:
            no_anns += 1
            if pair is None:
                skipped += 1
                continue
        if src is None:
            if source is None:
                raise FormatError(
                    "no 'source' (shop or user) on the image or its annotations (the official converter drops "
                    "it); pass source='user' or 'shop' (--source) to fill it in",
                    path=p,
                    item=where_img,
                )
            src = source
            source_filled += 1
        if src not in SOURCES:
            raise FormatError(f"expected 'shop' or 'user', got {src!r}", path=p, item=where_img, field="source")
        if isinstance(pair, bool) or not isinstance(pair, int):
            raise FormatError(f"expected an integer pair_id, got {pair!r}", path=p, item=where_img, field="pair_id")
        items = []
        used = {k for a_i in idxs if isinstance(k := anns[a_i].get("item_key"), str)}
        next_key = 1
        for a_i in idxs:
            a = anns[a_i]
            where = f"annotations[{a_i}] (id {a.get('id')})"
            try:
                cid = _req(a, "category_id", p, where, int)
                try:
                    cat = Category(cid)
                except ValueError:
                    raise FormatError(f"expected a category id 1..13, got {cid}", path=p, item=where, field="category_id") from None
                bb = _req(a, "bbox", p, where, list)
                if len(bb) != 4 or not all(type(v) in (int, float) for v in bb):
                    raise FormatError(f"expected [x, y, w, h], got {bb!r:.80}", path=p, item=where, field="bbox")
                x, y, w, h = bb
                seg = a.get("segmentation", [])
                if isinstance(seg, dict):
                    raise FormatError(
                        "RLE masks cannot be written as native polygons", path=p, item=where, field="segmentation"
                    )
                if not isinstance(seg, list) or not all(isinstance(q, list) for q in seg):
                    raise FormatError("expected a list of polygons", path=p, item=where, field="segmentation")
                lm = _landmarks(a.get("keypoints", [0] * (3 * cat.num_landmarks)), cat, p, where)
                style = a.get("style", 0)
                key = a.get("item_key")
                if not (isinstance(key, str) and key.startswith("item") and key[4:].isdigit()):
                    while f"item{next_key}" in used:
                        next_key += 1
                    key = f"item{next_key}"
                    used.add(key)
                    keys_assigned += 1
                levels = {}
                missing = False
                for name in ATTRIBUTES:
                    v = a.get(name)
                    if v is None:
                        missing = True
                        v = MISSING_ATTRIBUTE_LEVELS[name]
                    levels[name] = v
                attrs_filled += missing
                items.append(
                    ClothingItem(
                        key=key,
                        category=cat,
                        style=style,
                        bbox_xyxy=(x, y, x + w, y + h),
                        landmarks=lm,
                        segmentation=seg,  # type: ignore[arg-type]  # validated and converted by the record
                        **levels,
                    )
                )
            except AnnotationError as e:
                raise FormatError(e.message, path=p, item=where, field=e.field) from None
        try:
            record = ImageAnnotation(stem=stems[iid], source=src, pair_id=pair, items=tuple(items))
        except AnnotationError as e:
            raise FormatError(e.message, path=p, item=f"{where_img} {e.item or ''}".strip(), field=e.field) from None
        (anno_dir / f"{stems[iid]}.json").write_bytes(annotation_to_bytes(record))
        n_items += len(items)
        if images is not None and image_dir is not None:
            _link_or_copy(Path(images) / str(im["file_name"]), image_dir / f"{stems[iid]}.jpg", image_mode)
            linked += 1
    return FromCocoSummary(
        out_dir=str(anno_dir.parent),
        images=len(by_id) - skipped,
        items=n_items,
        attributes_filled=attrs_filled,
        source_filled=source_filled,
        keys_assigned=keys_assigned,
        images_without_annotations=no_anns,
        images_skipped=skipped,
        images_linked=linked,
    )
