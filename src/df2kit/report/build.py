"""Build the one-file HTML report of an evaluation.

>>> from df2kit.report import build_report
>>> summary = build_report("eval/", "report.html")        # doctest: +SKIP
>>> print(summary.format())                               # doctest: +SKIP

The page is self-contained: plots (matplotlib, PNG) and pictures (downscaled JPEG thumbnails) are embedded as
data URIs, there is no script, and a Content-Security-Policy forbids any network access, so it opens offline
and anywhere. Every text that comes from an input file (names, paths, notes, numbers' labels) is escaped.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._atomic import atomic_write_text
from .._progress import progress_bar
from ..errors import DF2Error, FormatError
from ..layout import ATTRIBUTE_LEVELS, CATEGORIES
from ._html import E, Raw, data_uri, render_document
from ._results import COCO_METRICS, TASKS, TOPK_METRICS, TaskScores, load_task
from .baselines import BASELINE_OVERALL, BASELINE_RETRIEVAL, SOURCE, baseline_subsets
from .manifest import Manifest, read_manifest

__all__ = ["ReportSummary", "build_report"]

log = logging.getLogger(__name__)

_TASK_TITLES = {
    "detection": "Clothes detection (boxes)",
    "landmarks": "Landmark estimation",
    "segmentation": "Clothes segmentation (masks)",
    "retrieval": "Consumer-to-shop retrieval",
}

_CSS = """
:root{--fg:#1b1b1b;--muted:#666;--line:#ddd;--ours:#1f77b4;--good:#1e9e3c;--bad:#d02828}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fafafa}
header{background:#20242b;color:#f3f3f3;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9c9c9}
nav{margin-top:10px}
nav a{color:#9cc7ff;margin-right:14px;text-decoration:none}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;margin:18px 0;padding:14px 20px}
h2{font-size:19px;margin:4px 0 10px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:3px 10px;text-align:left}
th{background:#f2f4f7;font-weight:600}
td.num,th.num{text-align:right}
td.up{color:var(--good)}td.down{color:var(--bad)}
.missing{color:var(--bad);font-weight:600}
.note{color:var(--muted);font-size:13px}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.plots img{max-width:100%;height:auto;border:1px solid #eee}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
figure{margin:0;border:1px solid #eee;padding:4px;background:#fff}
figure img{width:100%;height:auto;display:block}
figcaption{font-size:12px;color:var(--muted);padding:3px 2px}
.strips img{max-width:100%;height:auto;display:block;margin:8px 0}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass(frozen=True)
class ReportSummary:
    """What went into the report."""

    path: Path
    tasks: tuple[str, ...]  #: tasks with scores
    missing: tuple[str, ...]  #: tasks without a <task>.json
    pictures: int  #: embedded thumbnails and strips
    plots: int
    size_bytes: int
    notes: tuple[str, ...] = field(default_factory=tuple)  #: parts left out and why

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "tasks": list(self.tasks),
            "missing": list(self.missing),
            "pictures": self.pictures,
            "plots": self.plots,
            "size_bytes": self.size_bytes,
            "notes": list(self.notes),
        }

    def format(self) -> str:
        lines = [f"report: {self.path} ({self.size_bytes / 1e6:.1f} MB, {self.plots} plots, {self.pictures} pictures)"]
        lines.append(f"tasks: {', '.join(self.tasks) or 'none'}")
        if self.missing:
            lines.append(f"not evaluated: {', '.join(self.missing)}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


# ---- small renderers ---------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _num_td(v: float | None, cls: str = "num") -> E:
    return E("td", {"class": cls}, _fmt(v))


def _delta_td(ours: float | None, base: float | None) -> E:
    if ours is None or base is None:
        return E("td", {"class": "num"}, "-")
    d = ours - base
    return E("td", {"class": "num " + ("up" if d >= 0 else "down")}, f"{d:+.3f}")


def _img(png: bytes, alt: str, mime: str = "image/png", *, lazy: bool = False) -> E:
    """An embedded picture with its size (no layout shift); ``lazy`` ones are decoded only near the viewport,
    which keeps a page of hundreds of thumbnails quick to open."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    attrs = {"loading": "lazy", "decoding": "async"} if lazy else {}
    return E("img", {"src": data_uri(png, mime), "alt": alt, "width": w, "height": h, **attrs})


def _jpeg(img: Any, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


class _Builder:
    def __init__(self, manifest: Manifest, eval_dir: Path, *, samples: int, strips: int, thumb: int,
                 score_threshold: float, seed: int, progress: bool) -> None:
        self.m = manifest
        self.eval_dir = eval_dir
        self.samples = samples
        self.strips = strips
        self.thumb = thumb
        self.thr = score_threshold
        self.rng = random.Random(seed)
        self.progress = progress
        self.pictures = 0
        self.plots = 0
        self.notes: list[str] = []
        self._table: Any = None

    # -- data ------------------------------------------------------------------------------------------
    def gt_table(self) -> Any:
        if self._table is None and self.m.gt is not None:
            from ..io.scan import scan_split

            self._table = scan_split(self.m.gt, None, progress=self.progress)
        return self._table

    def plot(self, make: Callable[[], bytes], alt: str) -> E | None:
        try:
            png = make()
        except ImportError as e:
            self.notes.append(f"plots need matplotlib ({e})")
            return None
        self.plots += 1
        return _img(png, alt)

    def picture(self, img: Any, alt: str, quality: int = 80) -> E:
        self.pictures += 1
        return _img(_jpeg(img, quality), alt, "image/jpeg", lazy=True)

    # -- sections --------------------------------------------------------------------------------------
    def summary_table(self, scores: Mapping[str, TaskScores]) -> E:
        rows = []
        for task in ("detection", "landmarks", "segmentation"):
            s = scores.get(task)
            variants = ["vis", "vis && hide"] if task == "landmarks" else [""]
            for v in variants:
                key = f"landmarks {v}" if task == "landmarks" else task
                base = BASELINE_OVERALL[key]
                ours = s.variants.get(v) if s is not None else None
                name = key if task != "landmarks" else f"landmarks ({v})"
                cells = [E("td", name)]
                for m in COCO_METRICS:
                    cells += [_num_td(ours.get(m) if ours else None), _num_td(base[m]), _delta_td(ours.get(m) if ours else None, base[m])]
                rows.append(E("tr", cells))
        head = E("tr", E("th", "task"), [[E("th", {"class": "num"}, f"{m} ours"), E("th", {"class": "num"}, f"{m} official"),
                                          E("th", {"class": "num"}, "diff")] for m in COCO_METRICS])
        ret = scores.get("retrieval")
        base_r = BASELINE_RETRIEVAL["class+keys"]
        ours_r = ret.variants.get("") if ret else None
        mode = dict(ret.facts).get("mode", "") if ret else ""
        rhead = E("tr", E("th", f"retrieval ({mode or 'detected boxes'})"),
                  [E("th", {"class": "num"}, m.replace("top", "top-")) for m in TOPK_METRICS])
        rrows = [
            E("tr", E("td", "ours"), [_num_td(ours_r.get(m) if ours_r else None) for m in TOPK_METRICS]),
            E("tr", E("td", "official (class+keys)"), [_num_td(base_r[m]) for m in TOPK_METRICS]),
        ]
        caveat = None
        if ret and ((mode and not mode.startswith("detected boxes, official")) or "subset" in dict(ret.facts)):
            caveat = E("p", {"class": "note"}, "The official retrieval numbers are for detected boxes with the "
                                               "official assignment over all queries; ours were scored otherwise.")
        return E("div", E("table", E("thead", head), E("tbody", rows)), E("table", E("thead", rhead), E("tbody", rrows)),
                 caveat,
                 E("p", {"class": "note"}, f"Official: {SOURCE}. Ours: the results in this evaluation; "
                                           "numbers are comparable only on the same data."))

    def coco_section(self, task: str, s: TaskScores | None) -> E:
        body: list[Any] = [E("h2", {"id": task}, _TASK_TITLES[task])]
        if s is None:
            body.append(E("p", {"class": "missing"}, f"Not evaluated: there is no {task}.json in {self.eval_dir}."))
            return E("section", body)
        body.append(E("p", {"class": "note"}, f"from {s.path}"))
        many = len(s.variants) > 1
        head = E("tr", E("th", task), [E("th", {"class": "num"}, m) for m in COCO_METRICS])
        rows = []
        for v, ours in s.variants.items():
            base = BASELINE_OVERALL.get(f"landmarks {v}" if task == "landmarks" else task, {})
            suffix = f" ({v})" if many else ""
            rows.append(E("tr", E("td", f"ours{suffix}"), [_num_td(ours.get(m)) for m in COCO_METRICS]))
            if base:
                rows.append(E("tr", E("td", f"official Match R-CNN{suffix}"), [_num_td(base.get(m)) for m in COCO_METRICS]))
        body.append(E("table", E("thead", head), E("tbody", rows)))
        if s.facts:
            body.append(E("p", {"class": "note"}, "; ".join(f"{k}: {v}" for k, v in s.facts)))
        from . import plots as P

        plots: list[Any] = []
        curves = [(f"{v}: {label}" if many else label, rec, prec) for v, cs in s.pr.items() for label, rec, prec in cs]
        if curves:
            plots.append(self.plot(lambda: P.pr_curves(curves, title=f"precision-recall: {task}"),
                                   f"precision-recall curves, {task}"))
        else:
            body.append(E("p", {"class": "note"}, f"No precision-recall data in {s.path.name}."))
        if s.per_category:
            names = list(dict.fromkeys(n for pc in s.per_category.values() for n in pc))
            if many:
                series = {f"ours {v}": [pc.get(n) for n in names] for v, pc in s.per_category.items()}
                plots.append(self.plot(lambda: P.grouped_bars(names, series, title=f"AP per category: {task}"),
                                       f"AP per category, {task}"))
            else:
                (pc,) = s.per_category.values()
                colours = [tuple(c / 255 for c in _colour_of(n)) for n in names]
                plots.append(self.plot(lambda: P.bar_chart(names, [pc.get(n) for n in names],
                                                           title=f"AP per category: {task}", colours=colours),
                                       f"AP per category, {task}"))
        if s.subsets:
            body.append(self.subset_block(task, s.subsets, plots))
        body.insert(len(body) - (1 if s.subsets else 0), E("div", {"class": "plots"}, [p for p in plots if p is not None]))
        return E("section", body)

    def subset_block(self, task: str, subsets: Mapping[str, Mapping[str, Mapping[str, Mapping[str, float | None]]]],
                     plots: list[Any]) -> E:
        """Per-subset table (every variant, official numbers beside) and its bar chart (added to ``plots``)."""
        from . import plots as P

        metrics = TOPK_METRICS if task == "retrieval" else COCO_METRICS
        many = len(subsets) > 1
        bases = {v: (baseline_subsets(f"landmarks {v}" if task == "landmarks" else task)
                     if task != "retrieval" and (f"landmarks {v}" if task == "landmarks" else task) in BASELINE_OVERALL
                     else {}) for v in subsets}
        any_base = any(bases.values())
        head = E("tr", E("th", "attribute"), E("th", "level"), E("th", "ground truth") if many else None,
                 [E("th", {"class": "num"}, m) for m in metrics],
                 [E("th", {"class": "num"}, f"official {m}") for m in metrics] if any_base else None)
        rows = []
        groups: list[str] = []
        series: dict[str, list[float | None]] = {}
        for v, table in subsets.items():
            base = bases[v]
            attrs = [a for a in ATTRIBUTE_LEVELS if a in table] + [a for a in table if a not in ATTRIBUTE_LEVELS]
            ours_vals, base_vals, these = [], [], []
            for attr in attrs:
                levels = table[attr]
                known = ATTRIBUTE_LEVELS.get(attr, ())
                for lvl in [x for x in known if x in levels] + [x for x in levels if x not in known]:
                    vals = levels[lvl]
                    b = base.get(attr, {}).get(lvl, {}) if base else {}
                    rows.append(E("tr", E("td", attr), E("td", lvl), E("td", v) if many else None,
                                  [_num_td(vals.get(m)) for m in metrics],
                                  [_num_td(b.get(m)) for m in metrics] if any_base else None))
                    these.append(f"{attr}: {lvl}")
                    ours_vals.append(vals.get(metrics[0]))
                    base_vals.append(b.get(metrics[0]) if b else None)
            if not groups:
                groups = these
            if these == groups:
                tag = f" {v}" if many else ""
                series[f"ours{tag}"] = ours_vals
                if base:
                    series[f"official{tag}"] = base_vals
        plots.append(self.plot(lambda: P.grouped_bars(groups, series, title=f"{metrics[0]} per subset: {task}",
                                                      ylabel=metrics[0]), f"{metrics[0]} per subset, {task}"))
        return E("div", E("h3", f"Per subset ({task})"), E("table", E("thead", head), E("tbody", rows)))

    def retrieval_section(self, s: TaskScores | None) -> E:
        body: list[Any] = [E("h2", {"id": "retrieval"}, _TASK_TITLES["retrieval"])]
        if s is None:
            body.append(E("p", {"class": "missing"}, f"Not evaluated: there is no retrieval.json in {self.eval_dir}."))
        else:
            body.append(E("p", {"class": "note"}, f"from {s.path}"))
            head = E("tr", E("th", "features"), [E("th", {"class": "num"}, m.replace("top", "top-")) for m in TOPK_METRICS])
            ours = s.variants.get("") or next(iter(s.variants.values()))
            rows = [E("tr", E("td", "ours"), [_num_td(ours.get(m)) for m in TOPK_METRICS])]
            for name, vals in BASELINE_RETRIEVAL.items():
                rows.append(E("tr", E("td", f"official: {name}"), [_num_td(vals[m]) for m in TOPK_METRICS]))
            body.append(E("table", E("thead", head), E("tbody", rows)))
            if s.facts:
                body.append(E("p", {"class": "note"}, "; ".join(f"{k}: {v}" for k, v in s.facts)))
            from . import plots as P

            curve = self.plot(lambda: P.line_chart(
                {"ours": ([1, 5, 10, 15, 20], [ours.get(m) or 0.0 for m in TOPK_METRICS]),
                 "official class+keys": ([1, 5, 10, 15, 20], [BASELINE_RETRIEVAL["class+keys"][m] for m in TOPK_METRICS])},
                title="top-k accuracy", xlabel="k", ylabel="accuracy"), "top-k accuracy against k")
            plots: list[Any] = [curve]
            if s.subsets:
                body.append(self.subset_block("retrieval", s.subsets, plots))
            body.insert(len(body) - (1 if s.subsets else 0), E("div", {"class": "plots"}, [p for p in plots if p is not None]))
        body.append(self.strips_block())
        return E("section", body)

    def dataset_section(self) -> E:
        body: list[Any] = [E("h2", {"id": "dataset"}, "Dataset")]
        table = self.gt_table()
        if table is None:
            body.append(E("p", {"class": "note"}, "No ground-truth split given (manifest \"gt\" or --gt): no statistics."))
            return E("section", body)
        from ..io.scan import scan_split
        from ..stats import split_stats
        from . import plots as P

        stats = []
        if self.m.train is not None:
            stats.append(split_stats(scan_split(self.m.train, None, progress=self.progress)))
        stats.append(split_stats(table))
        head = E("tr", E("th", "split"), [E("th", {"class": "num"}, h) for h in
                                          ("images", "shop / user images", "items", "pair_ids", "positive pairs", "retrieval queries", "gallery")])
        rows = [E("tr", E("td", st.split), E("td", {"class": "num"}, f"{st.images:,}"),
                  E("td", {"class": "num"}, f"{st.shop_images:,} / {st.user_images:,}"),
                  E("td", {"class": "num"}, f"{st.items:,}"), E("td", {"class": "num"}, f"{st.pair_ids:,}"),
                  E("td", {"class": "num"}, f"{st.positive_pairs:,}"), E("td", {"class": "num"}, f"{st.retrieval_queries:,}"),
                  E("td", {"class": "num"}, f"{st.retrieval_gallery:,}")) for st in stats]
        body.append(E("p", {"class": "note"}, f"ground truth: {self.m.gt}"))
        body.append(E("table", E("thead", head), E("tbody", rows)))
        body.append(E("div", {"class": "plots"}, self.plot(lambda: P.dataset_figure(stats),
                                                           "items per category and attribute shares (Figure 3)")))
        return E("section", body)

    # -- pictures ----------------------------------------------------------------------------------------
    def samples_section(self) -> E:
        body: list[Any] = [E("h2", {"id": "samples"}, "Best and worst predictions")]
        table = self.gt_table()
        if self.m.results is None:
            body.append(E("p", {"class": "note"}, "No results file given (manifest \"results\" or --results): no pictures of predictions."))
            return E("section", body)
        if table is None or self.m.images_dir is None:
            body.append(E("p", {"class": "note"}, "No ground-truth split given: predictions cannot be ranked against it."))
            return E("section", body)
        from ..viz import check_entry, compare, load_image
        from ..viz._files import SplitFiles, iter_result_blocks

        # pass 1: boxes, categories and scores only, to rank the images
        light: dict[int, list[Mapping[str, Any]]] = {}
        where, k = str(self.m.results), 0
        for block in iter_result_blocks(self.m.results):
            for e in block:
                check_entry(e, k, where, deep=False)
                k += 1
                if "bbox" in e:
                    light.setdefault(int(e["image_id"]), []).append(
                        {"category_id": e["category_id"], "bbox": e["bbox"], "score": e.get("score", 1.0)})
        quality = _image_quality(table, light, self.thr)
        del light
        order = sorted(quality, key=lambda i: (quality[i], i))
        n = min(self.samples, len(order) // 2 if len(order) > 1 else len(order))
        files = SplitFiles(self.m.images_dir)
        body.append(E("p", {"class": "note"},
                      f"Images ranked by a per-image quality: the predictions with score >= {self.thr:g} are matched "
                      "greedily (highest score first) to ground-truth items of the same category with box IoU >= 0.5; "
                      "quality = sum of matched IoUs / (ground-truth items + unmatched predictions). Left: ground truth; "
                      "right: predictions."))
        groups = [("best", list(reversed(order))[:n]), ("worst", order[:n])] if n else []
        # pass 2: the whole entries of the images shown
        shown = {i for _, ids in groups for i in ids}
        by_image: dict[int, list[Mapping[str, Any]]] = {}
        if shown:
            for block in iter_result_blocks(self.m.results):
                for e in block:
                    if int(e["image_id"]) in shown:
                        by_image.setdefault(int(e["image_id"]), []).append(e)
        with progress_bar(total=2 * n, desc="report pictures", enabled=self.progress) as bar:
            for name, ids in groups:
                figs = []
                for image_id in ids:
                    row = table.index_of(image_id)
                    ann = table[row]
                    img = load_image(files.image_path(image_id))
                    pic = compare(img, ann, by_image.get(image_id, []), score_threshold=self.thr, max_size=self.thumb)
                    figs.append(E("figure", self.picture(pic, f"image {image_id}: ground truth and predictions"),
                                  E("figcaption", f"{ann.stem}: quality {quality[image_id]:.2f}")))
                    bar.update()
                body.append(E("h3", f"{name} {len(ids)}"))
                body.append(E("div", {"class": "gallery"}, figs))
        return E("section", body)

    def strips_block(self) -> E:
        body: list[Any] = [E("h3", {"id": "strips"}, "Retrieval examples")]
        if self.m.retrieval_results is None:
            body.append(E("p", {"class": "note"}, "No retrieval results file given (manifest \"retrieval_results\"): no strips."))
            return E("div", body)
        table = self.gt_table()
        if table is None or self.m.images_dir is None:
            body.append(E("p", {"class": "note"}, "No ground-truth split given: hits cannot be marked."))
            return E("div", body)
        from ..formats.retrieval import retrieval_ground_truth
        from ..viz import load_image, retrieval_figure, retrieval_hits
        from ..viz._files import SplitFiles, load_results
        from ..viz.retrieval import check_retrieval_entry

        entries = load_results(self.m.retrieval_results)
        for i, e in enumerate(entries):
            check_retrieval_entry(e, i, str(self.m.retrieval_results))
        gt = retrieval_ground_truth(table)
        pool = [e for e in entries if float(e.get("query_score", 1.0)) >= self.thr]
        self.rng.shuffle(pool)
        found, missed = [], []
        for e in pool[:400]:
            q, hits = retrieval_hits(e, gt, 5)
            if q is None or gt.query_style[q] <= 0:
                continue
            (found if hits.any() else missed).append(e)
        half = (self.strips + 1) // 2
        chosen = found[:half] + missed[: self.strips - min(half, len(found))]
        if not chosen:
            body.append(E("p", {"class": "note"}, "No retrieval entry represents a query item with style > 0."))
            return E("div", body)
        from ..viz._draw import fit_scale, resized

        files = SplitFiles(self.m.images_dir)
        cache: dict[int, Any] = {}
        scale_of: dict[int, float] = {}  # pictures are shrunk once; boxes follow

        def image(i: int) -> Any:
            if i not in cache:
                im = load_image(files.image_path(i))
                scale_of[i] = fit_scale(*im.size, 2 * self.thumb)
                cache[i] = resized(im, scale_of[i])
            return cache[i]

        body.append(E("p", {"class": "note"}, "Each row: a detected consumer item (blue), then its top-5 shop items: "
                                              "green = a correct item (same pair_id and style, box IoU >= 0.5), red = not."))
        imgs = []
        for e in chosen:
            image(int(e["query_image_id"]))
            for g in e["gallery_image_id"][:5]:
                image(int(g))
            fig = retrieval_figure([_scaled_entry(e, scale_of)], image, _scaled_gt(gt, scale_of), k=5, cell=(120, 150))
            imgs.append(self.picture(fig, f"retrieval results for query image {e['query_image_id']}", quality=85))
        body.append(E("div", {"class": "strips"}, imgs))
        return E("div", body)

    def training_section(self) -> E | None:
        if self.m.run_dir is None:
            return None
        body: list[Any] = [E("h2", {"id": "training"}, "Training")]
        log_path = self.m.run_dir / "metrics.jsonl"
        curves = _loss_curves(log_path)
        if not curves:
            body.append(E("p", {"class": "note"}, f"No losses found in {log_path}."))
        else:
            from . import plots as P

            body.append(E("p", {"class": "note"}, f"from {log_path}"))
            body.append(E("div", {"class": "plots"},
                          self.plot(lambda: P.line_chart(curves, title="training losses", xlabel="step", ylabel="loss"),
                                    "training losses")))
        return E("section", body)


def _colour_of(name: str) -> tuple[int, int, int]:
    for c in CATEGORIES:
        if name in (c.name, c.coco_name, str(c.id)):
            return c.colour
    return (31, 119, 180)


def _scaled_entry(e: Mapping[str, Any], scale: Mapping[int, float]) -> dict[str, Any]:
    q = scale[int(e["query_image_id"])]
    out = dict(e)
    out["query_bbox"] = [float(v) * q for v in e["query_bbox"]]
    out["gallery_bbox"] = [[float(v) * scale.get(int(g), 1.0) for v in b]
                           for g, b in zip(e["gallery_image_id"], e["gallery_bbox"])]
    return out


def _scaled_gt(gt: Any, scale: Mapping[int, float]) -> Any:
    """The retrieval ground truth with boxes of the scaled pictures (IoU is scale-invariant per image)."""
    from dataclasses import replace

    qs = np.array([scale.get(int(i), 1.0) for i in gt.query_image_id])[:, None]
    gs = np.array([scale.get(int(i), 1.0) for i in gt.gallery_image_id])[:, None]
    return replace(gt, query_bbox_xyxy=gt.query_bbox_xyxy * qs if len(qs) else gt.query_bbox_xyxy,
                   gallery_bbox_xyxy=gt.gallery_bbox_xyxy * gs if len(gs) else gt.gallery_bbox_xyxy)


def _image_quality(table: Any, by_image: Mapping[int, Sequence[Mapping[str, Any]]], thr: float) -> dict[int, float]:
    """Per-image quality used to pick the best and worst pictures (see the report's note)."""
    from ..structures.boxes import box_iou, xywh_to_xyxy

    out: dict[int, float] = {}
    starts = table.item_start
    for row, image_id in enumerate(table.image_id.tolist()):
        gt_items = np.arange(starts[row], starts[row + 1])
        preds = [e for e in by_image.get(image_id, []) if "bbox" in e and float(e.get("score", 1.0)) >= thr]
        preds.sort(key=lambda e: -float(e.get("score", 1.0)))
        if not len(gt_items) and not preds:
            continue
        gt_boxes = table.bbox_xyxy[gt_items]
        gt_cat = table.category_id[gt_items].astype(np.int64)
        used = np.zeros(len(gt_items), bool)
        total, unmatched = 0.0, 0
        for e in preds:
            iou = box_iou(xywh_to_xyxy(e["bbox"]), gt_boxes)[0] if len(gt_items) else np.zeros(0)
            iou = np.where((gt_cat == int(e["category_id"])) & ~used, iou, 0.0)
            j = int(np.argmax(iou)) if len(iou) else -1
            if j >= 0 and iou[j] >= 0.5:
                used[j] = True
                total += float(iou[j])
            else:
                unmatched += 1
        out[image_id] = total / max(1, len(gt_items) + unmatched)
    return out


def _loss_curves(path: Path) -> dict[str, tuple[list[float], list[float]]]:
    import orjson

    if not path.is_file():
        return {}
    series: dict[str, tuple[list[float], list[float]]] = {}
    for n, line in enumerate(path.read_bytes().splitlines()):
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(rec, dict) or rec.get("type", "step") != "step":  # epoch / eval lines: not per step
            continue
        step = rec.get("step", rec.get("iteration", n))
        if not isinstance(step, (int, float)) or isinstance(step, bool):
            continue
        for k, v in rec.items():
            if "loss" in str(k) and isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                xs, ys = series.setdefault(str(k), ([], []))
                xs.append(float(step))
                ys.append(float(v))
    return series


def build_report(
    eval_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    gt: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    results: str | os.PathLike[str] | None = None,
    retrieval_results: str | os.PathLike[str] | None = None,
    train: str | os.PathLike[str] | None = None,
    title: str | None = None,
    samples: int = 6,
    strips: int = 6,
    thumb: int = 360,
    score_threshold: float = 0.3,
    seed: int = 0,
    progress: bool = False,
) -> ReportSummary:
    """Write the HTML report of the evaluation in ``eval_dir`` to ``out`` (default ``eval_dir/report.html``).

    ``eval_dir`` holds ``<task>.json`` files and optionally ``manifest.json`` (see :mod:`df2kit.report.manifest`);
    keyword arguments override the manifest. Tasks without a file are listed as not evaluated. ``samples``
    best and as many worst images, ``strips`` retrieval strips; pictures are ``thumb`` pixels on their longer
    side (per panel).
    """
    d = Path(eval_dir)
    if not d.is_dir():
        raise DF2Error("expected an evaluation folder (holding <task>.json files)", path=str(d))
    m = read_manifest(d).with_overrides(gt=gt, images=images, results=results, retrieval_results=retrieval_results,
                                        train=train, title=title)
    out_path = Path(out).expanduser() if out is not None else d / "report.html"
    scores: dict[str, TaskScores] = {}
    for task in TASKS:
        p = d / f"{task}.json"
        if p.is_file():
            scores[task] = load_task(p, task)
    missing = tuple(t for t in TASKS if t not in scores)
    if len(missing) == len(TASKS) and m.gt is None:
        raise FormatError(f"found no {', '.join(t + '.json' for t in TASKS)} and no ground truth to describe",
                          path=str(d))
    b = _Builder(m, d, samples=samples, strips=strips, thumb=thumb, score_threshold=score_threshold, seed=seed,
                 progress=progress)
    page_title = m.title or "df2kit evaluation report"
    nav = E("nav", [E("a", {"href": f"#{k}"}, label) for k, label in
                    (("summary", "summary"), ("detection", "detection"), ("landmarks", "landmarks"),
                     ("segmentation", "segmentation"), ("retrieval", "retrieval"), ("dataset", "dataset"),
                     ("samples", "pictures"))])
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    header = E("header", E("h1", page_title),
               E("p", f"df2kit {__version__}, {now}, evaluation folder {d}"),
               [E("p", n) for n in m.notes], nav)
    summary = E("section", E("h2", {"id": "summary"}, "Summary"),
                E("p", {"class": "missing"}, f"Not evaluated: {', '.join(missing)}.") if missing else None,
                b.summary_table(scores))
    sections = [summary]
    for task in ("detection", "landmarks", "segmentation"):
        sections.append(b.coco_section(task, scores.get(task)))
    sections.append(b.retrieval_section(scores.get("retrieval")))
    sections.append(b.dataset_section())
    sections.append(b.samples_section())
    training = b.training_section()
    if training is not None:
        sections.append(training)
    head = [E("meta", {"charset": "utf-8"}),
            E("meta", {"http-equiv": "Content-Security-Policy", "content": _CSP}),
            E("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            E("title", page_title), E("style", Raw(_CSS))]
    body = [header, E("main", sections),
            E("footer", {"class": "note", "style": "text-align:center;padding:10px"},
              f"made by df2kit {__version__}; self-contained: no network, no scripts")]
    text = render_document(head, body)
    atomic_write_text(out_path, text)
    return ReportSummary(path=out_path, tasks=tuple(scores), missing=missing, pictures=b.pictures, plots=b.plots,
                         size_bytes=len(text.encode("utf-8")), notes=tuple(b.notes))
