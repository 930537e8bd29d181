"""Ultralytics YOLO datasets: detect, segment and pose labels, the dataset YAML, linked or copied images.

>>> from df2kit.formats.yolo import to_yolo
>>> s = to_yolo("ROOT", "df2_yolo", split="train", task="pose")          # doctest: +SKIP
>>> s = to_yolo("ROOT", "df2_yolo", split="validation", task="pose")     # doctest: +SKIP
>>> print(s.format())                                                    # doctest: +SKIP

Layout (what Ultralytics expects)::

    OUT/dataset.yaml                 path, train/val, names, (pose) kpt_shape, flip_idx, kpt_oks_sigmas
    OUT/images/<split>/000123.jpg    symlinks to the dataset's images (or copies)
    OUT/labels/<split>/000123.txt    one line per item, coordinates normalised to 0..1

Rules:

* classes 0..12 are the category ids 1..13 minus one, in dataset order; names are the dataset names;
* ``detect``: ``class cx cy w h`` of the item's box;
* ``segment``: ``class x1 y1 x2 y2 ...``: ONE polygon per item. The item's polygons are first repaired with
  :func:`~df2kit.structures.polygons.repair_polygons` (the rule every df2kit converter and evaluator uses),
  then the parts of a multi-part item are merged into one outline by :func:`merge_polygons`: each part is
  joined to the outline so far by a zero-width bridge between their two nearest points (the bridge is
  walked there and back), so nothing is dropped and the filled outline is the union of the parts;
* ``pose``: ``class cx cy w h`` + 294 x ``x y v``: the global landmark layout, so every line has the same
  length (``kpt_shape: [294, 3]``), zeros outside the item's category slice, v as in the dataset (0 not
  labeled, 1 occluded, 2 visible; ``vis_only=True`` turns occluded ones into 0). The YAML carries
  ``flip_idx`` (the layout's left/right pairs in the 294 space: an involution mapping each category's slice
  onto itself) and ``kpt_oks_sigmas`` (the 294 official sigmas).

Ultralytics rejects a whole image when a coordinate lies outside 0..1 (beyond 1 % tolerance). Boxes, polygon
points and labeled landmarks outside the image are therefore clipped to its border; every clipped item is
counted in the summary. Items are never dropped.

Note on ``kpt_oks_sigmas``: Ultralytics' pose validator (8.x) uses its 17 COCO sigmas for ``kpt_shape
[17, 3]`` and uniform sigmas otherwise; it does not read this key. The key is there for tools (and a
one-line override, see the README) that do; the official landmark AP is ``df2kit evaluate``'s.

Several splits go into one OUT folder by converting each split in turn (with the same task). Each split is
written under temporary names and swapped into place when complete, together with the YAML.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .. import __version__
from .._atomic import atomic_write_text
from .._progress import progress_bar
from .._table import format_table
from .._workers import cpu_count
from ..errors import DatasetError, Issue
from ..io.scan import SplitTable
from ..layout import CATEGORIES, FLIP_INDEX_294, NUM_LANDMARKS, SIGMAS_294
from ..structures.polygons import repair_polygons
from . import _stream

__all__ = ["IMAGE_MODES", "TASKS", "YAML_NAME", "YoloSummary", "merge_polygons", "to_yolo", "yaml_text"]

log = logging.getLogger(__name__)

TASKS = ("detect", "segment", "pose")
IMAGE_MODES = ("symlink", "copy")
YAML_NAME = "dataset.yaml"
_STATE = "df2kit-yolo.json"
#: Ultralytics' YAML keys for DeepFashion2's split folder names.
_YAML_KEY = {"train": "train", "validation": "val", "val": "val", "test": "test"}


# ---- geometry ------------------------------------------------------------------------------------------
def merge_polygons(parts: Sequence[np.ndarray]) -> np.ndarray:
    """One closed outline through all ``parts`` ((P, 2) arrays, each with >= 3 points).

    Starting from the first part, the part nearest to the outline so far is spliced in at the closest pair of
    points (outline point ``a``, part point ``b``): ``... a, b, <the part once around>, b, a, ...``. The
    bridge a-b is walked there and back, so it has no area and the filled outline covers the union of the
    parts. Every input point is kept.

    >>> sq = lambda x: np.array([[x, 0], [x + 1, 0], [x + 1, 1], [x, 1]], float)
    >>> merge_polygons([sq(0), sq(3)]).tolist()
    [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [4.0, 0.0], [4.0, 1.0], [3.0, 1.0], [3.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    if not len(parts):
        raise ValueError("expected at least one polygon")
    merged = np.asarray(parts[0], dtype=np.float64).reshape(-1, 2)
    rest = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts[1:]]
    while rest:
        best: tuple[float, int, int, int] | None = None
        for k, p in enumerate(rest):
            d = ((merged[:, None, :] - p[None, :, :]) ** 2).sum(-1)
            ii, jj = np.unravel_index(int(np.argmin(d)), d.shape)
            if best is None or d[ii, jj] < best[0]:
                best = (float(d[ii, jj]), k, int(ii), int(jj))
        assert best is not None
        _, k, a, b = best
        p = rest.pop(k)
        loop = np.concatenate([p[b:], p[: b + 1]])  # the part once around, from b back to b
        merged = np.concatenate([merged[: a + 1], loop, merged[a:]])
    return merged


# ---- the YAML ------------------------------------------------------------------------------------------
def _q(s: str) -> str:
    return orjson.dumps(s).decode()  # a JSON string is a valid double-quoted YAML scalar


def _flow(values: Sequence[Any]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def yaml_text(out_dir: str | os.PathLike[str], task: str, splits: Sequence[str]) -> str:
    """The dataset YAML for the converted ``splits`` (folder names under ``images/``).

    Ultralytics requires ``train`` and ``val``: when only one of them has been converted, the other points at
    it (a comment says so) until its split is converted too.
    """
    keys: dict[str, str] = {}
    for s in splits:
        keys.setdefault(_YAML_KEY.get(s, s), f"images/{s}")
    notes = []
    for need, other in (("train", "val"), ("val", "train")):
        if need not in keys and other in keys:
            keys[need] = keys[other]
            notes.append(f"# '{need}' points at {keys[other]} until its own split is converted")
    lines = [
        f"# DeepFashion2 for Ultralytics YOLO ({task}), written by df2kit {__version__}",
        "# classes 0..12 = DeepFashion2 category ids 1..13",
        f"path: {_q(str(Path(out_dir).resolve()))}",
    ]
    for k in ("train", "val", "test"):
        if k in keys:
            lines.append(f"{k}: {keys.pop(k)}")
    for k, v in sorted(keys.items()):
        lines.append(f"{_q(k)}: {v}")
    lines += notes
    lines.append("names:")
    lines += [f"  {c.id - 1}: {_q(c.name)}" for c in CATEGORIES]
    if task == "pose":
        lines.append("# landmarks in the global 294 layout: zeros outside an item's category slice")
        lines.append(f"kpt_shape: [{NUM_LANDMARKS}, 3]")
        lines.append(f"flip_idx: {_flow(FLIP_INDEX_294.tolist())}")
        lines.append("# DeepFashion2's official OKS sigmas (Ultralytics 8.x does not read this key; see the README)")
        lines.append(f"kpt_oks_sigmas: {_flow(SIGMAS_294.tolist())}")
    return "\n".join(lines) + "\n"


# ---- labels --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    task: str
    vis_only: bool
    image_mode: str


def _fmt(values: np.ndarray) -> str:
    return ("%.6g " * len(values))[:-1] % tuple(values.tolist()) if len(values) else ""


def _clip01(a: np.ndarray) -> tuple[np.ndarray, bool]:
    c = np.clip(a, 0.0, 1.0)
    return c, bool((c != a).any())


def _zero_kpts(n: int) -> str:
    return " 0 0 0" * n


def _label_lines(t: SplitTable, opts: _Options) -> tuple[list[list[str]], Counter[str]]:
    """The label lines of every image of ``t`` (which has width/height), and the counters."""
    assert t.width is not None and t.height is not None
    counts: Counter[str] = Counter()
    out: list[list[str]] = [[] for _ in range(len(t))]
    if t.num_items == 0:
        return out, counts
    w = t.width[t.item_image].astype(np.float64)
    h = t.height[t.item_image].astype(np.float64)
    box = t.bbox_xyxy / np.stack([w, h, w, h], axis=1)
    box_c = np.clip(box, 0.0, 1.0)
    clipped = (box_c != box).any(axis=1)
    cx, cy = (box_c[:, 0] + box_c[:, 2]) / 2, (box_c[:, 1] + box_c[:, 3]) / 2
    bw, bh = box_c[:, 2] - box_c[:, 0], box_c[:, 3] - box_c[:, 1]
    heads = [
        f"{c - 1} {_fmt(np.array(v))}"
        for c, v in zip(t.category_id.tolist(), np.stack([cx, cy, bw, bh], axis=1), strict=True)
    ]
    lm = t.landmarks
    ls = t.landmark_start
    if opts.task == "pose":
        lm = lm.copy()
        if opts.vis_only:
            occ = lm[:, 2] == 1
            counts["landmarks_hidden"] += int(np.count_nonzero(occ))
            lm[occ] = 0.0
        ks = np.diff(ls)
        lm_item = np.repeat(np.arange(t.num_items), ks)
        labeled = lm[:, 2] > 0
        xy = lm[:, :2] / np.stack([w[lm_item], h[lm_item]], axis=1)
        xy_c = np.clip(xy, 0.0, 1.0)
        bad = labeled & (xy_c != xy).any(axis=1)
        xy_c[~labeled] = 0.0
        clipped |= np.bincount(lm_item[bad], minlength=t.num_items) > 0
        lm = np.concatenate([xy_c, lm[:, 2:]], axis=1)
    for j in range(t.num_items):
        img = int(t.item_image[j])
        cat = CATEGORIES[int(t.category_id[j]) - 1]
        if opts.task == "detect":
            line = heads[j]
        elif opts.task == "pose":
            k = lm[ls[j] : ls[j + 1]]
            body = ("%.6g %.6g %d " * len(k))[:-1] % tuple(k.ravel().tolist())
            line = f"{heads[j]}{_zero_kpts(cat.offset)} {body}{_zero_kpts(NUM_LANDMARKS - cat.offset - cat.num_landmarks)}"
        else:
            polys, notes = repair_polygons(t.item_polygons(j), t.bbox_xyxy[j])
            if notes:
                counts["items_repaired"] += 1
                counts.update(notes)
            if len(polys) > 1:
                counts["items_merged"] += 1
            poly = merge_polygons(polys) / np.array([w[j], h[j]])
            poly_c, was = _clip01(poly)
            clipped[j] |= was
            line = f"{int(t.category_id[j]) - 1} {_fmt(poly_c.ravel())}"
        out[img].append(line)
    counts["items_clipped"] += int(np.count_nonzero(clipped))
    return out, counts


@dataclass
class _Part:
    counts: Counter[str]
    issues: list[Issue]
    missing_images: list[str]
    num_images: int
    num_items: int
    num_files: int


def _link_or_copy(src: str, dst: str, mode: str) -> None:
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
    else:
        shutil.copyfile(src, dst)


def _write_part(t: SplitTable, opts: _Options, labels_dir: str, images_dir: str) -> Counter[str]:
    lines, counts = _label_lines(t, opts)
    for i in range(len(t)):
        stem = str(t.stems[i])
        with open(os.path.join(labels_dir, f"{stem}.txt"), "w", encoding="utf-8") as f:
            if lines[i]:
                f.write("\n".join(lines[i]) + "\n")
        _link_or_copy(str(t.image_path(i)), os.path.join(images_dir, f"{stem}.jpg"), opts.image_mode)
    return counts


def _run_part(job: tuple[Any, ...]) -> _Part:
    """Worker: ``("files", split_dir, names, opts, labels, images)`` or ``("table", t, opts, labels, images)``."""
    if job[0] == "files":
        t, issues, missing = _stream.read_chunk(job[1], job[2])
        opts, labels, images, n_files = job[3], job[4], job[5], len(job[2])
    else:
        t, missing = _stream.with_sizes(job[1])
        issues, opts, labels, images, n_files = [], job[2], job[3], job[4], 0
    if missing:
        return _Part(Counter(), issues, missing, len(t), t.num_items, n_files)
    counts = _write_part(t, opts, labels, images)
    return _Part(counts, issues, [], len(t), t.num_items, n_files)


# ---- summary -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YoloSummary:
    """What :func:`to_yolo` wrote, and every change it made on the way."""

    out_dir: str
    yaml: str
    split: str
    task: str
    images: int
    labels: int  #: label lines = items (none dropped)
    image_mode: str
    repairs: dict[str, int] = field(default_factory=dict)  #: repair_polygons notes -> count (segment)
    items_repaired: int = 0
    items_merged: int = 0  #: multi-part items merged into one polygon (segment)
    items_clipped: int = 0  #: items with a coordinate outside the image, clipped to its border
    landmarks_hidden: int = 0  #: occluded landmarks turned into v = 0 (pose, vis_only)
    skipped_by_reader: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, repairs=dict(self.repairs))

    def format(self) -> str:
        rows: list[tuple[str, Any]] = [
            ("images (" + ("linked" if self.image_mode == "symlink" else "copied") + ")", self.images),
            ("label lines (one per item, none dropped)", self.labels),
            ("items clipped to the image border", self.items_clipped),
        ]
        if self.task == "segment":
            rows += [
                ("multi-part items merged into one polygon", self.items_merged),
                ("items with repaired polygons", self.items_repaired),
                ("  degenerate polygons dropped", self.repairs.get("dropped-degenerate", 0)),
                ("  items given their box as polygon", self.repairs.get("box-as-polygon", 0)),
            ]
        if self.task == "pose" and self.landmarks_hidden:
            rows.append(("occluded landmarks hidden (v = 0)", self.landmarks_hidden))
        if self.skipped_by_reader:
            rows.append(("broken files/items skipped by the reader", self.skipped_by_reader))
        return format_table([f"YOLO {self.task} {self.split} -> {self.yaml}", "count"], rows)


# ---- driver --------------------------------------------------------------------------------------------
def _read_state(out: Path, task: str) -> dict[str, Any]:
    p = out / _STATE
    if not p.exists():
        return {"task": task, "splits": []}
    try:
        state = orjson.loads(p.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {"task": task, "splits": []}
    if state.get("task") != task:
        raise DatasetError(
            f"this folder holds a YOLO '{state.get('task')}' dataset; write the '{task}' conversion into "
            "another folder",
            path=str(out),
        )
    return state


def to_yolo(
    source: SplitTable | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    split: str | None = None,
    task: str = "detect",
    image_mode: str = "symlink",
    vis_only: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> YoloSummary:
    """Write one split as an Ultralytics YOLO dataset into ``out_dir`` (see the module docstring).

    Args:
        source: a dataset root or split folder, or a scanned :class:`~df2kit.io.SplitTable`.
        out_dir: the dataset folder (created; other splits already there are kept).
        split: split name under a dataset root.
        task: ``detect``, ``segment`` or ``pose``.
        image_mode: ``symlink`` (default) or ``copy`` the images into ``images/<split>/``.
        vis_only: pose only: occluded landmarks become v = 0.
        workers: processes (default: all cores).
        progress: show a progress bar on stderr.
    """
    if task not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    if image_mode not in IMAGE_MODES:
        raise ValueError(f"image_mode: expected one of {', '.join(IMAGE_MODES)}, got {image_mode!r}")
    n_workers = workers or cpu_count()
    opts = _Options(task, bool(vis_only), image_mode)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    state = _read_state(out, task)
    reader_issues: list[Issue] = []
    if isinstance(source, SplitTable):
        split_name = source.name
        tables = _stream.table_chunks(source)
        n_units, unit = source.num_items, "item"
        reader_issues = list(source.errors)
    else:
        split_dir = _stream.annotated_split(source, split)
        split_name = split_dir.name
        chunks, reader_issues, _ = _stream.file_chunks(split_dir)
        n_units, unit = sum(len(c) for c in chunks), "file"
    (out / "labels").mkdir(exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    tmp_labels = _stream.temp_dir(out / "labels", split_name)
    tmp_images = _stream.temp_dir(out / "images", split_name)
    if isinstance(source, SplitTable):
        jobs: list[tuple[Any, ...]] = [("table", t, opts, str(tmp_labels), str(tmp_images)) for t in tables]
    else:
        jobs = [("files", str(split_dir), c, opts, str(tmp_labels), str(tmp_images)) for c in chunks]
    counts: Counter[str] = Counter()
    n_images = n_items = 0
    bar = progress_bar(total=n_units, desc=f"YOLO {task} {split_name}", unit=unit, enabled=progress)
    try:
        for part in _stream.ordered_map(_run_part, jobs, n_workers):
            if part.missing_images:
                raise _stream.missing_images_error(part.missing_images, len(part.missing_images))
            reader_issues.extend(i for i in part.issues if i.severity == "error")
            counts.update(part.counts)
            n_images += part.num_images
            n_items += part.num_items
            bar.update(part.num_files or part.num_items)
        _stream.swap_in_dir(tmp_labels, out / "labels" / split_name)
        _stream.swap_in_dir(tmp_images, out / "images" / split_name)
    except BaseException:
        shutil.rmtree(tmp_labels, ignore_errors=True)
        shutil.rmtree(tmp_images, ignore_errors=True)
        raise
    finally:
        bar.close()
    (out / "labels" / f"{split_name}.cache").unlink(missing_ok=True)  # Ultralytics' stale label cache
    splits = sorted(set(state["splits"]) | {split_name}, key=lambda s: (s not in _YAML_KEY, s))
    atomic_write_text(out / YAML_NAME, yaml_text(out, task, splits))
    atomic_write_text(out / _STATE, orjson.dumps({"task": task, "splits": splits}).decode())
    errors = [i for i in reader_issues if i.severity == "error"]
    if errors and not isinstance(source, SplitTable):
        log.warning(
            "%s: skipped %d broken file(s) or item(s) (first: %s); `df2kit validate` lists them",
            split_name, _stream.count_skipped(errors), errors[0],
        )
    repairs = {k: counts[k] for k in ("dropped-degenerate", "box-as-polygon") if counts[k]}
    return YoloSummary(
        out_dir=str(out),
        yaml=str(out / YAML_NAME),
        split=split_name,
        task=task,
        images=n_images,
        labels=n_items,
        image_mode=image_mode,
        repairs=repairs,
        items_repaired=counts["items_repaired"],
        items_merged=counts["items_merged"],
        items_clipped=counts["items_clipped"],
        landmarks_hidden=counts["landmarks_hidden"],
        skipped_by_reader=_stream.count_skipped(errors),
    )
