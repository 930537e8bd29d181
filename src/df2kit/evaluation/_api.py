"""evaluate() and the streaming Evaluator for detection, landmarks and segmentation."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..errors import DF2Error, ResultsError
from ..io.scan import SplitTable
from ..layout import ATTRIBUTE_LEVELS, ATTRIBUTES, CATEGORIES
from ._engine import Ranges, Scored, score
from ._gt import GroundTruth, _gc_paused, load_ground_truth
from ._params import Params, params_for
from ._results import Columns, entries_to_columns, iter_range_chunks, iter_result_chunks, split_points
from ._tasks import Collected, TaskCollector
from .results import CategoryScores, COCOScores, SubsetScores, TaskResult

__all__ = ["COCO_TASKS", "Evaluator", "evaluate"]

#: The tasks scored with COCOeval semantics.
COCO_TASKS = ("detection", "landmarks", "segmentation")

GTLike = GroundTruth | SplitTable | str | os.PathLike[str]
ResultsLike = Sequence[Mapping[str, Any]] | str | os.PathLike[str]

_BATCH = 20000  # result entries turned into columns at a time


class Evaluator:
    """Score results streamed image by image (detectron2-style: add, then compute).

    >>> ev = Evaluator("ROOT/validation", tasks=("detection", "segmentation"))   # doctest: +SKIP
    >>> for image_id, entries in model_outputs:                                # doctest: +SKIP
    ...     ev.add(image_id, entries)      # official result dicts of one image
    >>> results = ev.compute()             # {"detection": TaskResult, ...}     # doctest: +SKIP

    Entries are checked and reduced to a few numbers per detection as they come in (boxes, masks and
    landmarks are compared with the ground truth right away), so memory stays small over a whole split.
    An entry may leave out ``image_id`` (``add`` fills it in); one entry may carry a box, a mask and
    landmarks and feed several tasks.
    """

    def __init__(
        self,
        gt: GTLike,
        tasks: Iterable[str] = ("detection",),
        *,
        subsets: bool = False,
        progress: bool = False,
        workers: int | None = None,
        _source: str | None = None,
    ) -> None:
        self.tasks = tuple(tasks)
        self.workers = _default_workers() if workers is None else max(1, int(workers))
        for t in self.tasks:
            if t not in COCO_TASKS:
                raise ValueError(f"unknown task {t!r}; expected one of {COCO_TASKS}")
        self.gt = load_ground_truth(
            gt, need_sizes="segmentation" in self.tasks, keypoints="landmarks" in self.tasks, progress=progress
        )
        self.subsets = subsets
        if subsets and self.gt.attributes is None:
            raise DF2Error(
                "per-subset scores need the items' scale, occlusion, zoom_in and viewpoint, which this "
                "ground-truth file lacks; use the native split folder",
                path=self.gt.source,
            )
        self.progress = progress
        self._source = _source
        self._collectors = {t: TaskCollector(t, self.gt, params_for(t), source=_source) for t in self.tasks}
        self._pending: list[Any] = []
        self._count = 0

    def add(self, image_id: int, entries: Sequence[Mapping[str, Any]]) -> None:
        """Add the result entries of one image (official result dicts; ``image_id`` may be left out)."""
        out = []
        for e in entries:
            if not isinstance(e, Mapping):
                raise ResultsError(f"expected a result dict, got {type(e).__name__}",
                                   item=f"entry {self._count + len(self._pending) + len(out)}")
            iid = e.get("image_id", image_id)
            if iid != image_id:
                raise ResultsError(
                    f"entry says image {iid!r} but was added for image {image_id!r}",
                    item=f"entry {self._count + len(self._pending) + len(out)}", field="image_id",
                )
            out.append(e if "image_id" in e else {**e, "image_id": image_id})
        self._pending.extend(out)
        if len(self._pending) >= _BATCH:
            self._flush()

    def add_entries(self, entries: Sequence[Mapping[str, Any]], *, first: int | None = None) -> None:
        """Add result entries of any images (as in a results file), in order. ``first`` is the index of the
        first one in its file, for error messages (default: the number of entries added before)."""
        if self._pending:
            self._flush()
        start = self._count if first is None else first
        for i in range(0, len(entries), _BATCH):
            self._add_block(start + i, entries[i : i + _BATCH])

    def add_file(self, path: str | os.PathLike[str]) -> None:
        """Add every entry of a results file (a JSON list), read in blocks.

        Large files are read by ``workers`` processes at once (each a run of whole entries, on Linux), the
        parsing of each overlapping its comparisons in a second thread; the result is the same as reading
        the file in one go.
        """
        source = os.path.expanduser(os.fspath(path))
        if not Path(source).is_file():
            raise ResultsError("no such results file", path=source)
        if self._pending:
            self._flush()
        self._source = source
        for c in self._collectors.values():
            c.source = source
        whole = "landmarks" in self.tasks
        workers = self.workers
        if workers > 1 and os.path.getsize(source) >= _PARALLEL_MIN_BYTES and _can_fork():
            ranges = split_points(source, workers)
            if ranges is not None and self._add_ranges(source, ranges, whole):
                return
        bar = progress_bar(total=None, desc="read results", unit=" entries", enabled=self.progress)

        def parsed() -> Iterator[tuple[int, list[Any], dict[str, Columns]]]:
            with _gc_paused():  # parsing makes millions of small acyclic objects
                for first, entries in iter_result_chunks(source, whole_numbers=whole):
                    yield first, entries, self._columns(first, entries)

        # parsing (holds the interpreter) runs in a second thread, ahead of comparing (numpy, which mostly
        # releases it); the ground truth's masks are built meanwhile
        reader = _Prefetch(parsed(), 16)
        try:
            for c in self._collectors.values():
                c.prepare()
            with _gc_paused():
                for first, entries, cols in reader:
                    for task, col in self._collectors.items():
                        col.add(cols[task])
                    self._count += len(entries)
                    bar.update(len(entries))
                    del entries
        finally:
            reader.close()
            bar.close()

    def _add_ranges(self, source: str, ranges: list[tuple[int, int]], whole: bool) -> bool:
        """Read byte ranges of a results file in forked processes; False when the file must be read as one."""
        import multiprocessing

        global _FORKED
        for c in self._collectors.values():
            c.prepare()  # built once, shared with the readers
        _FORKED = (self, source, ranges, whole)
        try:
            with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
                outs = pool.map(_read_range, range(len(ranges)), chunksize=1)
        finally:
            _FORKED = None
        if any(o.get("fallback") for o in outs):
            return False
        offset = 0
        for o in outs:  # errors are reported for the first bad entry of the file
            if "error" in o:
                cls, message, path, item, field = o["error"]
                if item and item.startswith("entry ") and item[6:].isdigit():
                    item = f"entry {offset + int(item[6:])}"
                raise cls(message, path=path, item=item, field=field)
            offset += o["count"]
        for o in outs:
            for task, exported in o["parts"].items():
                self._collectors[task].merge(exported)
            self._count += o["count"]
        return True

    def _flush(self) -> None:
        block, self._pending = self._pending, []
        self._add_block(self._count, block)

    def _columns(self, first: int, entries: Sequence[Any]) -> dict[str, Columns]:
        return {
            task: entries_to_columns(entries, first, task, self._source, need=("bbox",) if task != "detection" else ())
            for task in self._collectors
        }

    def _add_block(self, first: int, entries: Sequence[Any]) -> None:
        """Check and collect entries; ``first`` numbers them in error messages."""
        with _gc_paused():
            cols = self._columns(first, entries)
            for task, col in self._collectors.items():
                col.add(cols[task])
        self._count += len(entries)

    def compute(self) -> dict[str, TaskResult]:
        """Score everything added so far (can be called again after more ``add``)."""
        if self._pending:
            self._flush()
        return {
            t: _score_task(t, self.gt, c, params_for(t), self.subsets, self._source)
            for t, c in self._collectors.items()
        }


def evaluate(
    task: str,
    gt: GTLike,
    results: ResultsLike,
    *,
    subsets: bool = False,
    progress: bool = False,
    workers: int | None = None,
) -> Any:
    """Score one task exactly as the official rules do.

    Args:
        task: "detection", "landmarks", "segmentation" (or "retrieval").
        gt: a native split folder (``ROOT/validation``), a :class:`~df2kit.io.SplitTable`, or an
            official-style COCO ground-truth file.
        results: the official results list (dicts) or the path of a results JSON file.
        subsets: also score per scale / occlusion / zoom_in / viewpoint level (README Tables 3, 5, 7).
        workers: processes reading a large results file at once (Linux; default 1: one process, which
            already parses in a second thread while it compares). More helps on idle machines with more cores.

    Returns a :class:`~df2kit.evaluation.TaskResult` (``.ap``, ``.to_dict()``, ``.format()``).

    >>> r = evaluate("detection", "ROOT/validation", "boxes.json")   # doctest: +SKIP
    >>> round(r.ap, 3), round(r.scores[0].stat("AR100"), 3)           # doctest: +SKIP
    """
    if task == "retrieval":
        from .retrieval import evaluate_retrieval  # the consumer-to-shop scorer is its own module

        return evaluate_retrieval(gt, results, subsets=subsets, progress=progress)
    if task not in COCO_TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {COCO_TASKS + ('retrieval',)}")
    source = os.path.expanduser(os.fspath(results)) if isinstance(results, (str, os.PathLike)) else None
    ev = Evaluator(gt, (task,), subsets=subsets, progress=progress, workers=workers, _source=source)
    if source is not None:
        ev.add_file(source)
    else:
        if not isinstance(results, Sequence):
            raise ResultsError(f"expected a list of result entries or a file path, got {type(results).__name__}")
        ev.add_entries(results)
    return ev.compute()[task]


class _Prefetch:
    """Items of an iterator produced up to ``depth`` ahead in a background thread, from construction on
    (exceptions are re-raised in order; closing stops the thread)."""

    def __init__(self, it: Iterator[Any], depth: int) -> None:
        import queue
        import threading

        self._q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = object()
        self._t = threading.Thread(target=self._work, args=(it,), name="df2kit-read-results", daemon=True)
        self._t.start()

    def _work(self, it: Iterator[Any]) -> None:
        try:
            for x in it:
                if self._stop.is_set():
                    return
                self._q.put((True, x))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self._q.put((False, e))
            return
        self._q.put((True, self._done))

    def __iter__(self) -> Iterator[Any]:
        while True:
            ok, x = self._q.get()
            if not ok:
                raise x
            if x is self._done:
                return
            yield x

    def close(self) -> None:
        import queue

        self._stop.set()
        while self._t.is_alive():
            try:
                self._q.get_nowait()
            except queue.Empty:
                self._t.join(0.01)


# ---- scoring ----------------------------------------------------------------------------------------------
_FORKED: tuple[Evaluator, str, list[tuple[int, int]], bool] | None = None
_PARALLEL_MIN_BYTES = 32 << 20  # smaller results files are read by one process


def _can_fork() -> bool:
    import multiprocessing
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _default_workers() -> int:
    """One reading process: with the reading thread it keeps two cores busy; more processes pay off on idle
    machines with more cores (``workers=``), but on a busy two-core machine they measured slower."""
    return 1


def _read_range(i: int) -> dict[str, Any]:
    """In a forked reader: collect the entries of byte range ``i`` (see Evaluator._add_ranges)."""
    assert _FORKED is not None
    ev, source, ranges, whole = _FORKED
    start, end = ranges[i]
    cols = {t: c.fresh() for t, c in ev._collectors.items()}
    count = 0

    def parsed() -> Iterator[tuple[list[Any], dict[str, Columns]]]:
        with _gc_paused():
            for first, entries in iter_range_chunks(source, start, end, whole_numbers=whole):
                yield entries, ev._columns(first, entries)

    reader = _Prefetch(parsed(), 16)
    try:
        with _gc_paused():
            for entries, columns in reader:
                for t, c in cols.items():
                    c.add(columns[t])
                count += len(entries)
    except DF2Error as e:
        return {"error": (type(e), e.message, e.path, e.item, e.field), "count": count}
    except ValueError:
        return {"fallback": True}
    finally:
        reader.close()
    return {"count": count, "parts": {t: c.export() for t, c in cols.items()}}


def _area_ranges(
    p: Params, gt_area: np.ndarray, base_ignore: np.ndarray, crowd: np.ndarray, dt_area: np.ndarray
) -> Ranges:
    gi, gr, do = [], [], []
    for lo, hi in p.area_rng:
        gi.append(base_ignore | (gt_area < lo) | (gt_area > hi))
        gr.append(crowd)
        do.append((dt_area < lo) | (dt_area > hi))
    return Ranges(np.array(gi), np.array(gr), np.array(do).reshape(len(gi), -1))


def _subset_ranges(attributes: np.ndarray, base_ignore: np.ndarray, crowd: np.ndarray, n_dt: int) -> Ranges:
    """One range per attribute level: items outside the subset are ignored and crowd-like (module rule)."""
    gi, gr = [], []
    for a in range(len(ATTRIBUTES)):
        for level in (1, 2, 3):
            outside = attributes[:, a] != level
            gi.append(base_ignore | outside)
            gr.append(crowd | outside)
    return Ranges(np.array(gi), np.array(gr), np.zeros((len(gi), n_dt), dtype=bool))


def _summarize(precision: np.ndarray, recall: np.ndarray, p: Params, ap: int, iou: float | None = None,
               area: str = "all", max_dets: int = 100) -> float:
    """pycocotools' ``_summarize``, expression for expression."""
    aind = [i for i, a in enumerate(p.area_lbl) if a == area]
    mind = [i for i, m in enumerate(p.max_dets) if m == max_dets]
    if ap == 1:
        s = precision
        if iou is not None:
            s = s[np.where(iou == p.iou_thrs)[0]]
        s = s[:, :, :, aind, mind]
    else:
        s = recall
        if iou is not None:
            s = s[np.where(iou == p.iou_thrs)[0]]
        s = s[:, :, aind, mind]
    return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))


def summary_stats(precision: np.ndarray, recall: np.ndarray, p: Params) -> tuple[float, ...]:
    """The 12 (boxes, masks) or 10 (landmarks) numbers of pycocotools' ``summarize()``."""
    S = _summarize
    if p.iou_type == "keypoints":
        return (
            S(precision, recall, p, 1, max_dets=20),
            S(precision, recall, p, 1, max_dets=20, iou=0.5),
            S(precision, recall, p, 1, max_dets=20, iou=0.75),
            S(precision, recall, p, 1, max_dets=20, area="medium"),
            S(precision, recall, p, 1, max_dets=20, area="large"),
            S(precision, recall, p, 0, max_dets=20),
            S(precision, recall, p, 0, max_dets=20, iou=0.5),
            S(precision, recall, p, 0, max_dets=20, iou=0.75),
            S(precision, recall, p, 0, max_dets=20, area="medium"),
            S(precision, recall, p, 0, max_dets=20, area="large"),
        )
    m = p.max_dets
    return (
        S(precision, recall, p, 1),
        S(precision, recall, p, 1, iou=0.5, max_dets=m[2]),
        S(precision, recall, p, 1, iou=0.75, max_dets=m[2]),
        S(precision, recall, p, 1, area="small", max_dets=m[2]),
        S(precision, recall, p, 1, area="medium", max_dets=m[2]),
        S(precision, recall, p, 1, area="large", max_dets=m[2]),
        S(precision, recall, p, 0, max_dets=m[0]),
        S(precision, recall, p, 0, max_dets=m[1]),
        S(precision, recall, p, 0, max_dets=m[2]),
        S(precision, recall, p, 0, area="small", max_dets=m[2]),
        S(precision, recall, p, 0, area="medium", max_dets=m[2]),
        S(precision, recall, p, 0, area="large", max_dets=m[2]),
    )


def _mean_ap(prec: np.ndarray, p: Params, iou: float | None) -> float | None:
    """Mean precision over IoU thresholds (or one) and recall points of a (T, R) block; None if no GT."""
    s = prec if iou is None else prec[np.where(iou == p.iou_thrs)[0]]
    s = s[s > -1]
    return float(np.mean(s)) if len(s) else None


def _score_task(task: str, gt: GroundTruth, collector: TaskCollector, p: Params, subsets: bool,
                source: str | None) -> TaskResult:
    scores = []
    num_dt = collector.n_dt
    for variant in collector.variants:
        col = collector.collected(variant)
        base_ignore = gt.iscrowd.copy()
        if p.iou_type == "keypoints":
            num_kp, _ = gt.landmark_variant(variant)
            base_ignore |= num_kp == 0
        ranges = _area_ranges(p, gt.area, base_ignore, gt.iscrowd, col.dt_area)
        n_area = ranges.count
        if subsets:
            assert gt.attributes is not None
            sub = _subset_ranges(gt.attributes, base_ignore, gt.iscrowd, len(col.dt_img))
            ranges = Ranges(
                np.concatenate([ranges.gt_ignore, sub.gt_ignore]),
                np.concatenate([ranges.gt_reuse, sub.gt_reuse]),
                np.concatenate([ranges.dt_out, sub.dt_out]),
            )
        scored = _run(gt, col, p, ranges)
        prec = scored.precision[:, :, :, :n_area, :]
        rec = scored.recall[:, :, :n_area, :]
        stats = summary_stats(prec, rec, p)
        last = len(p.max_dets) - 1
        items_per_cat = np.bincount(gt.ann_cat, minlength=len(gt.cat_ids))
        per_cat = []
        for k, cid in enumerate(gt.cat_ids.tolist()):
            block = prec[:, :, k, 0, last]
            name = CATEGORIES[cid - 1].name if 1 <= cid <= len(CATEGORIES) else str(cid)
            per_cat.append(CategoryScores(
                id=int(cid), name=name, num_gt=int(items_per_cat[k]), num_dt=int(scored.num_dt[k]),
                ap=_mean_ap(block, p, None), ap50=_mean_ap(block, p, 0.5), ap75=_mean_ap(block, p, 0.75),
            ))
        subset_scores = []
        if subsets:
            i = n_area
            for ai, a in enumerate(ATTRIBUTES):
                for level in (1, 2, 3):
                    block = scored.precision[:, :, :, i, last]
                    subset_scores.append(SubsetScores(
                        attribute=a, level=level, name=ATTRIBUTE_LEVELS[a][level - 1],
                        num_gt=int(np.count_nonzero(gt.attributes[:, ai] == level)),
                        ap=_mean_ap(block, p, None), ap50=_mean_ap(block, p, 0.5), ap75=_mean_ap(block, p, 0.75),
                    ))
                    i += 1
        scores.append(COCOScores(
            variant=variant, iou_type=p.iou_type, stats=tuple(float(x) for x in stats),
            per_category=tuple(per_cat), iou_thresholds=tuple(float(x) for x in p.iou_thrs),
            recall_thresholds=tuple(float(x) for x in p.rec_thrs), precision=prec[:, :, :, 0, last].copy(),
            subsets=tuple(subset_scores),
        ))
    return TaskResult(
        task=task, gt_source=gt.source, results_source=source, num_images=gt.num_images,
        num_gt=len(gt), num_dt=num_dt, scores=tuple(scores),
    )


def _run(gt: GroundTruth, col: Collected, p: Params, ranges: Ranges) -> Scored:
    return score(
        num_categories=len(gt.cat_ids),
        gt_img=gt.ann_img,
        gt_cat=gt.ann_cat,
        dt_img=col.dt_img,
        dt_cat=col.dt_cat,
        dt_score=col.dt_score,
        pair_dt=col.pair_dt,
        pair_gt=col.pair_gt,
        pair_iou=col.pair_iou,
        ranges=ranges,
        iou_thrs=p.iou_thrs,
        rec_thrs=p.rec_thrs,
        max_dets=p.max_dets,
    )


def _score_arrays(task: str, gt: GTLike, results: Sequence[Mapping[str, Any]], variant: str = "") -> Scored:
    """pycocotools' ``eval['precision']`` and ``eval['recall']`` for the area ranges (tests compare them)."""
    ev = Evaluator(gt, (task,))
    ev.add_entries(results)
    col = ev._collectors[task].collected(variant)
    p = params_for(task)
    g = ev.gt
    base = g.iscrowd.copy()
    if p.iou_type == "keypoints":
        num_kp, _ = g.landmark_variant(variant)
        base |= num_kp == 0
    return _run(g, col, p, _area_ranges(p, g.area, base, g.iscrowd, col.dt_area))
