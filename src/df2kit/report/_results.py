"""Read what ``df2kit evaluate --out DIR`` writes (``DIR/<task>.json``, each result's ``to_dict()``) into one
shape the report renders: overall numbers per ground-truth variant, per category, per subset, and
precision-recall curves.

Two layouts are read, those of the two scorers:

* detection / landmarks / segmentation (:class:`df2kit.evaluation.TaskResult`): ``{"task", "num_images",
  "num_gt", "num_dt", "scores": [{"variant": "" | "vis" | "vis_hide", "stats": {"AP": ..}, "per_category":
  [{"name", "ap", ..}], "subsets": [{"attribute", "level", "ap", "ap50", "ap75", ..}], "pr_curves": {"mean",
  "iou50", "iou75": [101 precisions, -1 = no data]}}]}``;
* retrieval (:class:`df2kit.evaluation.retrieval.RetrievalResult`): ``{"task": "retrieval", "mode",
  "num_queries", "top1" .. "top20", "counts": {..}, "subsets": {attribute: {level: {"top1", ..}}}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..errors import FormatError
from ..layout import ATTRIBUTE_LEVELS

TASKS = ("detection", "landmarks", "segmentation", "retrieval")
COCO_METRICS = ("AP", "AP50", "AP75")
TOPK_METRICS = ("top1", "top5", "top10", "top15", "top20")
#: Landmark ground-truth variants as the scorer names them -> as the README names them.
VARIANT_TITLES = {"": "", "vis": "vis", "vis_hide": "vis && hide"}

Value = float | None


@dataclass
class TaskScores:
    """One task's numbers. ``variants`` maps a ground-truth variant ("" when there is one; "vis" and
    "vis && hide" for landmarks) to its metrics; the other maps are keyed by variant too."""

    task: str
    path: Path
    variants: dict[str, dict[str, Value]] = field(default_factory=dict)
    per_category: dict[str, dict[str, Value]] = field(default_factory=dict)
    #: variant -> attribute -> level name -> metric -> value
    subsets: dict[str, dict[str, dict[str, dict[str, Value]]]] = field(default_factory=dict)
    #: variant -> [(label, recall, precision)]
    pr: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)  #: extra lines (mode, counts)

    @property
    def metrics(self) -> tuple[str, ...]:
        return TOPK_METRICS if self.task == "retrieval" else COCO_METRICS


def _num(v: Any) -> Value:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return None if not math.isfinite(v) or v < 0 else v  # pycocotools writes -1 for "no data"


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def bad(self, msg: str, field: str | None = None) -> FormatError:
        return FormatError(msg, path=str(self.path), field=field)

    def obj(self, v: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            raise self.bad(f"expected an object, got {type(v).__name__}", field)
        return v

    def lst(self, v: Any, field: str) -> list[Any]:
        if not isinstance(v, list):
            raise self.bad(f"expected a list, got {type(v).__name__}", field)
        return v


def _facts(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key in ("mode", "num_images", "num_gt", "num_dt", "num_queries"):
        v = data.get(key)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            out.append((key.replace("num_", "").replace("_", " ") if key != "mode" else "mode",
                        f"{v:,}" if isinstance(v, int) else str(v)))
    counts = data.get("counts")
    if isinstance(counts, Mapping):
        for k, v in counts.items():
            if isinstance(v, int) and not isinstance(v, bool):
                out.append((str(k).replace("_", " "), f"{v:,}"))
    return out


def _curve(v: Any) -> np.ndarray | None:
    if not isinstance(v, list) or not v:
        return None
    try:
        arr = np.asarray(v, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    return arr if np.isfinite(arr).all() else None


def _level_name(attr: str, level: Any) -> str:
    levels = ATTRIBUTE_LEVELS.get(attr)
    if levels and isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= len(levels):
        return levels[level - 1]
    return str(level)


def _coco(data: Mapping[str, Any], r: _Reader, task: str) -> TaskScores:
    s = TaskScores(task=task, path=r.path, facts=_facts(data))
    scores = r.lst(data.get("scores"), "scores")
    for i, sc in enumerate(scores):
        sc = r.obj(sc, f"scores[{i}]")
        variant = VARIANT_TITLES.get(str(sc.get("variant", "")), str(sc.get("variant", "")))
        stats = r.obj(sc.get("stats"), f"scores[{i}].stats")
        s.variants[variant] = {m: _num(stats.get(m)) for m in COCO_METRICS}
        cats = sc.get("per_category")
        if isinstance(cats, list):
            pc = {}
            for c in cats:
                if isinstance(c, Mapping) and "name" in c:
                    pc[str(c["name"])] = _num(c.get("ap"))
            if pc:
                s.per_category[variant] = pc
        subs = sc.get("subsets")
        if isinstance(subs, list) and subs:
            table: dict[str, dict[str, dict[str, Value]]] = {}
            for row in subs:
                if isinstance(row, Mapping) and "attribute" in row:
                    attr = str(row["attribute"])
                    table.setdefault(attr, {})[_level_name(attr, row.get("level"))] = {
                        "AP": _num(row.get("ap")), "AP50": _num(row.get("ap50")), "AP75": _num(row.get("ap75"))}
            if table:
                s.subsets[variant] = table
        pr = sc.get("pr_curves")
        if isinstance(pr, Mapping):
            curves = []
            for key, label in (("iou50", "IoU 0.50"), ("iou75", "IoU 0.75"), ("mean", "mean over IoU .50:.95")):
                prec = _curve(pr.get(key))
                if prec is not None:
                    rec = _curve(sc.get("recall_thresholds"))
                    if rec is None or len(rec) != len(prec):
                        rec = np.linspace(0.0, 1.0, len(prec))
                    curves.append((label if task != "landmarks" else label.replace("IoU", "OKS"), rec, prec))
            if curves:
                s.pr[variant] = curves
    if not s.variants:
        raise r.bad("expected at least one entry", "scores")
    return s


def _retrieval(data: Mapping[str, Any], r: _Reader) -> TaskScores:
    s = TaskScores(task="retrieval", path=r.path, facts=_facts(data))
    if isinstance(data.get("subset"), str):
        s.facts.insert(1, ("subset", data["subset"]))
    vals = {m: _num(data.get(m)) for m in TOPK_METRICS}
    if all(v is None for v in vals.values()):
        raise r.bad(f"expected retrieval numbers ({', '.join(TOPK_METRICS)}), found none")
    s.variants[""] = vals
    subs = data.get("subsets")
    if isinstance(subs, Mapping):
        table: dict[str, dict[str, dict[str, Value]]] = {}
        for attr, levels in subs.items():
            if isinstance(levels, Mapping):
                for lvl, row in levels.items():
                    if isinstance(row, Mapping):
                        table.setdefault(str(attr), {})[str(lvl)] = {m: _num(row.get(m)) for m in TOPK_METRICS}
        if table:
            s.subsets[""] = table
    return s


def load_task(path: Path, task: str) -> TaskScores:
    """Parse ``<task>.json``; a file in neither layout raises FormatError naming it and the field."""
    r = _Reader(path)
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise r.bad(f"invalid JSON: {e}") from None
    if not isinstance(data, Mapping):
        raise r.bad(f"expected a JSON object (a result's to_dict()), got {type(data).__name__}")
    named = data.get("task")
    if named is not None and named != task:
        raise r.bad(f"expected the {task} result, got the {named!r} one", "task")
    if task == "retrieval":
        return _retrieval(data, r)
    if "scores" not in data:
        raise r.bad(f"expected {task} numbers (a 'scores' list, as `df2kit evaluate --out` writes), found none",
                    "scores")
    return _coco(data, r, task)


def headline(path: Path, task: str) -> dict[str, float]:
    """The headline numbers of a task file (demo summary): AP/AP50/AP75 per variant, or top-1/5/20."""
    s = load_task(path, task)
    names = ("top1", "top5", "top20") if task == "retrieval" else COCO_METRICS
    out: dict[str, float] = {}
    for variant, vals in s.variants.items():
        for k in names:
            v = vals.get(k)
            if v is not None:
                out[f"{variant} {k}".strip()] = v
    return out
