"""Read what ``df2kit evaluate --out DIR`` writes (``DIR/<task>.json``, each result's ``to_dict()``) into one
shape the report renders: overall numbers per ground-truth variant, per category, per subset, and
precision-recall curves when the evaluation kept them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import orjson

from ..errors import FormatError

TASKS = ("detection", "landmarks", "segmentation", "retrieval")
COCO_METRICS = ("AP", "AP50", "AP75")
TOPK_METRICS = ("top1", "top5", "top10", "top15", "top20")

Value = float | None


@dataclass
class TaskScores:
    """One task's numbers. ``variants`` maps a ground-truth variant ("" for one, "vis" / "vis && hide" for
    landmarks) to its metrics; the other maps are keyed by variant too."""

    task: str
    path: Path
    variants: dict[str, dict[str, Value]] = field(default_factory=dict)
    per_category: dict[str, dict[str, Value]] = field(default_factory=dict)
    #: variant -> attribute -> level -> metric -> value
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


def _pick(d: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Value] | None:
    """Metrics ``names`` from ``d`` (keys matched without case, '@' and '_': AP50 = ap_50 = AP@50)."""
    norm = {str(k).lower().replace("_", "").replace("@", "").replace("-", ""): v for k, v in d.items()}
    out = {m: _num(norm.get(m.lower())) for m in names}
    return out if any(v is not None for v in out.values()) else None


def _variant_name(key: str) -> str:
    k = key.lower().replace(" ", "").replace("_", "").replace("&", "").replace("-", "")
    if k in ("vis", "visible"):
        return "vis"
    if k in ("vishide", "visandhide", "visocc", "visandocc", "visandoccluded", "all"):
        return "vis && hide"
    return key


def _find_metrics(d: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, dict[str, Value]]:
    """Overall metrics per variant: at the top level, under an ``overall``/``metrics`` key, or per variant."""
    top = _pick(d, names)
    if top is not None:
        return {"": top}
    for key in ("overall", "metrics", "summary", "all"):
        sub = d.get(key)
        if isinstance(sub, Mapping):
            found = _pick(sub, names)
            if found is not None:
                return {"": found}
    out: dict[str, dict[str, Value]] = {}
    for key in ("variants", "results", "gt_variants"):
        sub = d.get(key)
        if isinstance(sub, Mapping):
            d = {**d, **sub}
    for k, v in d.items():
        if isinstance(v, Mapping):
            inner = _find_metrics(v, names) if k not in ("subsets", "per_category", "categories") else {}
            if "" in inner:
                out[_variant_name(str(k))] = inner[""]
    return out


def _variant_dicts(d: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Mapping[str, Any]]:
    """The sub-dict that holds each variant's details (the top level when there is one variant)."""
    if _pick(d, names) is not None or any(isinstance(d.get(k), Mapping) and _pick(d[k], names) for k in ("overall", "metrics")):
        return {"": d}
    out: dict[str, Mapping[str, Any]] = {}
    pool = dict(d)
    for key in ("variants", "results", "gt_variants"):
        if isinstance(d.get(key), Mapping):
            pool.update(d[key])
    for k, v in pool.items():
        if isinstance(v, Mapping) and _find_metrics(v, names).get(""):
            out[_variant_name(str(k))] = v
    return out


def _per_category(d: Mapping[str, Any]) -> dict[str, Value]:
    raw = d.get("per_category", d.get("categories"))
    out: dict[str, Value] = {}
    if isinstance(raw, Mapping):
        for name, v in raw.items():
            if isinstance(v, Mapping):
                m = _pick(v, ("AP",))
                out[str(name)] = m["AP"] if m else None
            else:
                out[str(name)] = _num(v)
    elif isinstance(raw, list):
        for row in raw:
            if isinstance(row, Mapping):
                name = row.get("name", row.get("category_name", row.get("category", row.get("category_id"))))
                m = _pick(row, ("AP",))
                out[str(name)] = m["AP"] if m else None
    return out


def _subsets(d: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, dict[str, dict[str, Value]]]:
    raw = d.get("subsets")
    out: dict[str, dict[str, dict[str, Value]]] = {}
    if isinstance(raw, Mapping):
        for attr, levels in raw.items():
            if not isinstance(levels, Mapping):
                continue
            for lvl, v in levels.items():
                if isinstance(v, Mapping):
                    found = _find_metrics(v, names)
                    if "" in found:
                        out.setdefault(str(attr), {})[str(lvl)] = found[""]
    elif isinstance(raw, list):
        for row in raw:
            if isinstance(row, Mapping) and "attribute" in row and "level" in row:
                found = _pick(row, names)
                if found:
                    out.setdefault(str(row["attribute"]), {})[str(row["level"])] = found
    return out


def _pr_curves(d: Mapping[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Curves from ``pr_curves`` ({label: {recall, precision}}) or a COCO ``precision`` array (T, R, K, A, M)."""
    raw = d.get("pr_curves", d.get("pr_curve"))
    curves: list[tuple[str, np.ndarray, np.ndarray]] = []
    if isinstance(raw, Mapping):
        for label, c in raw.items():
            if isinstance(c, Mapping) and "precision" in c:
                prec = np.asarray(c["precision"], dtype=float).ravel()
                rec = np.asarray(c.get("recall", np.linspace(0, 1, len(prec))), dtype=float).ravel()
                if len(rec) == len(prec) and len(prec):
                    curves.append((str(label), rec, prec))
        return curves
    prec_raw = d.get("precision")
    if isinstance(prec_raw, list):
        try:
            p = np.asarray(prec_raw, dtype=float)
        except (TypeError, ValueError):
            return []
        if p.ndim == 5 and p.shape[1] > 1:
            rec = np.linspace(0, 1, p.shape[1])
            iou = d.get("iou_thresholds") or list(np.linspace(0.5, 0.95, p.shape[0]))
            # all area ranges (index 0), the largest maxDets (last index), averaged over categories with data
            pa = p[:, :, :, 0, -1]
            for t in range(p.shape[0]):
                if t not in (0, 5) and t != p.shape[0] - 1 and p.shape[0] == 10:
                    continue
                cat = pa[t]
                have = (cat >= 0).any(axis=0)
                if not have.any():
                    continue
                mean = np.where(cat[:, have] >= 0, cat[:, have], 0).mean(axis=1)
                curves.append((f"IoU {float(iou[t]):.2f}", rec, mean))
    return curves


def load_task(path: Path, task: str) -> TaskScores:
    """Parse ``<task>.json``; a file with no recognisable numbers raises FormatError naming it."""
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e}", path=str(path)) from None
    if not isinstance(data, Mapping):
        raise FormatError(f"expected a JSON object (a result's to_dict()), got {type(data).__name__}", path=str(path))
    names = TOPK_METRICS if task == "retrieval" else COCO_METRICS
    scores = TaskScores(task=task, path=path)
    scores.variants = _find_metrics(data, names)
    if not scores.variants:
        raise FormatError(f"expected {task} numbers ({', '.join(names)}), found none", path=str(path))
    for variant, sub in _variant_dicts(data, names).items():
        pc = _per_category(sub)
        if pc:
            scores.per_category[variant] = pc
        ss = _subsets(sub, names)
        if ss:
            scores.subsets[variant] = ss
        pr = _pr_curves(sub)
        if pr:
            scores.pr[variant] = pr
    for key in ("mode", "num_queries", "num_images", "num_results", "num_gt", "num_detections"):
        v = data.get(key)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            scores.facts.append((key.replace("_", " "), f"{v:,}" if isinstance(v, int) else str(v)))
    counts = data.get("counts")
    if isinstance(counts, Mapping):
        for k, v in counts.items():
            if isinstance(v, int) and not isinstance(v, bool):
                scores.facts.append((str(k).replace("_", " "), f"{v:,}"))
    return scores
