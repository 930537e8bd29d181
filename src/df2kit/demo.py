"""The demo: the whole job on synthetic data, from nothing to an HTML report.

>>> from df2kit.demo import run_demo
>>> summary = run_demo("df2kit-demo", quick=True)     # doctest: +SKIP
>>> summary.report                                     # doctest: +SKIP
PosixPath('df2kit-demo/report.html')

Stages, each a call into the library of the issue that owns it:

1. synthesise a small train and validation set (:func:`df2kit.synth.synthesize`);
2. train the small Match R-CNN baseline (:func:`df2kit.engine.train`, preset ``small``; a GPU when there is
   one);
3. predict on validation: detection / landmark / segmentation results and retrieval results
   (:func:`df2kit.engine.predict`);
4. score all four tasks (:func:`df2kit.evaluation.evaluate`, :func:`df2kit.evaluation.retrieval.evaluate_retrieval`),
   written as ``eval/<task>.json`` like ``df2kit evaluate --out``;
5. write ``eval/manifest.json`` and the report (:func:`df2kit.report.build_report`).

A stage whose library is not installed stops the demo with a :class:`DemoStageError` that says what is
missing; nothing is faked. Stage messages go to the ``df2kit.demo`` logger (the CLI shows them).

Layout of ``OUT``::

    OUT/data/{train,validation}/   synthetic DeepFashion2
    OUT/run/                       training run (checkpoint, metrics.jsonl, loss curves)
    OUT/predictions/               results.json, retrieval_results.json
    OUT/eval/                      <task>.json, manifest.json
    OUT/report.html
    OUT/demo.json                  what this demo did (plan, timings, numbers)
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ._atomic import atomic_write_bytes
from ._table import format_table
from ._workers import cpu_count
from .errors import DF2Error

__all__ = ["DEMO_MODEL", "FULL", "QUICK", "DemoPlan", "DemoStageError", "DemoSummary", "run_demo"]

log = logging.getLogger(__name__)

STAMP = "demo.json"


class DemoStageError(DF2Error):
    """A stage of the demo cannot run (its library is missing or failed)."""


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of one demo run."""

    train_images: int
    validation_images: int
    size: int  #: long side of the synthetic images (pixels)
    epochs: int
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: `df2kit demo`: under 10 minutes on 2 CPU cores, where training runs in two processes of one thread (gloo;
#: ``run_demo(processes=..., threads=...)``), faster than one process of two threads. 900 training images
#: seen 10 times each: with the stride-4 features of :data:`DEMO_MODEL` the model learns more from distinct
#: garments than from repeats (box AP50 0.424 against 0.386 for 300 images x 15 epochs, the same steps; README,
#: model section). 150 validation images (about 250 garments) so that the scores are not decided by the one or
#: two garments of a rare category.
FULL = DemoPlan(train_images=900, validation_images=150, size=256, epochs=10)
#: Shop/user couples per training batch (4 images), in one process or split over two (``processes``).
BATCH_COUPLES = 2
PROCESS_CHOICES = (1, 2)
#: `df2kit demo --quick`: under 2 minutes on 2 CPU cores (the test runs it).
QUICK = DemoPlan(train_images=24, validation_images=8, size=192, epochs=1)

#: What the demo changes in the ``small`` preset's architecture, for a CPU: 96 px (144 px at most) instead of
#: 128 (192), and the FPN on ResNet-18's stride-4 and stride-8 stages (layer1, layer2) instead of stride 8 to
#: 32: the later stages are never computed. RoIs are then pooled from stride-4 features, which tell the
#: categories apart better (sleeves, straps, hems are a few pixels wide at 96 px), and a training step takes
#: about 0.9x the time of the stride-8-to-16 FPN the demo had before (README, model section).
DEMO_MODEL: dict[str, Any] = {
    "model.min_size": 96,
    "model.max_size": 144,
    "model.returned_layers": (1, 2),
    "model.anchor_sizes": (16, 32, 64),
}


@dataclass(frozen=True)
class DemoSummary:
    out: Path
    plan: DemoPlan
    report: Path
    seconds: dict[str, float]  #: per stage
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  #: task -> headline numbers
    device: str = "cpu"
    processes: int = 1  #: training processes

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "plan": self.plan.to_dict(), "report": str(self.report),
                "seconds": self.seconds, "scores": self.scores, "device": self.device, "processes": self.processes}

    def format(self) -> str:
        rows = [(task, "   ".join(f"{k} {v:.3f}" for k, v in vals.items())) for task, vals in self.scores.items()]
        table = format_table(["task", "scores"], rows) if rows else "(no scores)"
        total = sum(self.seconds.values())
        times = ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items())
        epochs = f"{self.plan.epochs} epoch{'s' if self.plan.epochs != 1 else ''}"
        on = f"{self.device} ({self.processes} training processes)" if self.processes > 1 else self.device
        return (f"{table}\n\n{self.plan.train_images} training and {self.plan.validation_images} validation "
                f"images, {epochs} on {on}; {total:.0f} s ({times})\n"
                f"report: {self.report}")


def _need(module: str, attr: str, stage: str, owner: str) -> Any:
    """The library function a stage calls, or a DemoStageError saying exactly what is missing."""
    try:
        mod = importlib.import_module(module)
        return getattr(mod, attr)
    except ImportError as e:
        missing = getattr(e, "name", None) or str(e)
        if missing and missing.split(".")[0] in ("torch", "torchvision"):
            raise DemoStageError(f"stage '{stage}' needs PyTorch: pip install 'df2kit[model]' ({e})") from None
        raise DemoStageError(
            f"stage '{stage}' needs {module}.{attr} ({owner}), which is not in this installation yet ({e})"
        ) from None
    except AttributeError:
        raise DemoStageError(
            f"stage '{stage}' needs {module}.{attr} ({owner}), which is not in this installation yet"
        ) from None


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DemoStageError("expected a folder for the demo, got a file", path=str(out))
    if out.is_dir() and any(out.iterdir()) and not (out / STAMP).is_file():
        raise DemoStageError(f"the folder is not empty and holds no {STAMP}: not overwriting it (choose another --out)",
                             path=str(out))


def _stage(name: str, seconds: dict[str, float], fn: Callable[[], Any]) -> Any:
    log.info("%s ...", name)
    t0 = time.perf_counter()
    try:
        out = fn()
    except DF2Error:
        raise
    except Exception as e:  # a stage's own failure: say which stage, keep the cause
        raise DemoStageError(f"stage '{name}' failed: {type(e).__name__}: {e}") from e
    seconds[name] = time.perf_counter() - t0
    log.info("%s done in %.1f s", name, seconds[name])
    return out


def _synthesise(data: Path, plan: DemoPlan, progress: bool) -> None:
    synthesize = _need("df2kit.synth", "synthesize", "synthesise", "issue 3, the synthetic generator")
    stamp = data / ".demo-plan.json"
    want = orjson.dumps({k: v for k, v in plan.to_dict().items() if k != "epochs"})
    if stamp.is_file() and stamp.read_bytes() == want:
        log.info("reusing the synthetic data in %s", data)
        return
    # other sizes (or an interrupted run): write the new set beside the old one, then swap, so that data/ is
    # always one whole set (run_demo's stamp check has made sure the folder is a demo's own)
    partial = data.with_name(data.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    synthesize(partial, train=plan.train_images, validation=plan.validation_images, seed=plan.seed,
               size=plan.size, progress=progress)
    atomic_write_bytes(partial / stamp.name, want)
    if data.exists():
        log.info("replacing the synthetic data in %s (other sizes)", data)
        shutil.rmtree(data)
    partial.rename(data)


def _processes(processes: int, device: str) -> int:
    """Training processes of the demo: ``processes``, or for 0 two on a CPU of 2 cores or more, else one."""
    if processes:
        return processes
    if device != "cpu":
        return 1
    return 2 if cpu_count() >= 2 else 1


def _train(data: Path, run: Path, plan: DemoPlan, device: str, threads: int, processes: int, progress: bool) -> Path:
    build_config = _need("df2kit.engine", "build_config", "train", "issue 7, the Match R-CNN baseline")
    train = _need("df2kit.engine", "train", "train", "issue 7, the Match R-CNN baseline")
    # the same batch of BATCH_COUPLES shop/user couples (4 images) in one process or split over two
    cfg = build_config(preset="small", overrides={
        **DEMO_MODEL,
        "root": str(data), "out": str(run), "epochs": plan.epochs, "device": device, "seed": plan.seed,
        "evaluate": False, "threads": threads, "workers": 0,
        "processes": processes, "pairs_per_batch": BATCH_COUPLES // processes,
    })
    result = train(cfg, progress=progress) if _accepts(train, "progress") else train(cfg)
    ckpt = _checkpoint_of(result, run)
    if not ckpt.is_file():
        raise DemoStageError("training finished without a checkpoint", path=str(ckpt))
    return ckpt


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _checkpoint_of(result: Any, run: Path) -> Path:
    for attr in ("checkpoint", "checkpoint_path", "last_checkpoint"):
        v = getattr(result, attr, None)
        if v:
            return Path(v)
    if isinstance(result, (str, os.PathLike)):
        p = Path(result)
        return p if p.is_file() else p / "checkpoint.pt"
    return run / "checkpoint.pt"


def _predict(ckpt: Path, split: Path, out: Path, device: str, threads: int, progress: bool) -> tuple[Path, Path | None]:
    predict = _need("df2kit.engine", "predict", "predict", "issue 7, the Match R-CNN baseline")
    kw: dict[str, Any] = {}
    if _accepts(predict, "device"):
        kw["device"] = device
    if _accepts(predict, "progress"):
        kw["progress"] = progress
    if _accepts(predict, "threads"):
        kw.update(threads=threads, workers=0)
    if _accepts(predict, "score_thresh"):  # these results are scored: keep what AP can use (as train's evaluation)
        from .engine._eval import EVAL_DETECTIONS, EVAL_SCORE_THRESH

        kw.update(score_thresh=EVAL_SCORE_THRESH, detections_per_image=EVAL_DETECTIONS)
    summary = predict(ckpt, split, out, **kw)
    results = Path(getattr(summary, "results_path", None) or out / "results.json")
    ret = getattr(summary, "retrieval_path", None) or getattr(summary, "retrieval_results_path", None)
    ret_path = Path(ret) if ret else out / "retrieval_results.json"
    if not results.is_file():
        raise DemoStageError("prediction wrote no results file", path=str(results))
    return results, (ret_path if ret_path.is_file() else None)


def _evaluate(split: Path, results: Path, retrieval: Path | None, eval_dir: Path) -> dict[str, dict[str, Any]]:
    from .report._results import headline

    evaluate = _need("df2kit.evaluation", "evaluate", "evaluate", "issue 5, the detection/landmark/segmentation scorer")
    eval_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for task in ("detection", "landmarks", "segmentation"):
        r = evaluate(task, split, results, subsets=True)
        atomic_write_bytes(eval_dir / f"{task}.json", orjson.dumps(r.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY))
        out[task] = headline(eval_dir / f"{task}.json", task)
    if retrieval is None:
        raise DemoStageError("prediction wrote no retrieval results: the retrieval task cannot be scored")
    evaluate_retrieval = _need("df2kit.evaluation.retrieval", "evaluate_retrieval", "evaluate",
                               "issue 6, the retrieval scorer")
    r = evaluate_retrieval(split, retrieval, subsets=True)
    atomic_write_bytes(eval_dir / "retrieval.json", orjson.dumps(r.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY))
    out["retrieval"] = headline(eval_dir / "retrieval.json", "retrieval")
    return out


def _device_name(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def run_demo(
    out: str | os.PathLike[str] = "df2kit-demo",
    *,
    quick: bool = False,
    plan: DemoPlan | None = None,
    device: str = "auto",
    threads: int = 0,
    processes: int = 0,
    progress: bool = False,
) -> DemoSummary:
    """Run every stage (module docstring) into ``out`` and return what was done. ``plan`` overrides the sizes
    of :data:`FULL` / :data:`QUICK`. ``threads``: CPU threads that train and predict compute with (0: torch's
    default, one per core; 1 is faster on a machine that is busy with other work), per training process.
    ``processes``: training processes, 1 or 2 (0: two on a CPU of 2 cores or more, of one thread each; on
    such a small model that trains faster than one process of two threads). Re-running into the same
    folder reuses its synthetic data when the sizes are the same, and replaces it when they are not."""
    if threads < 0:
        raise DemoStageError(f"expected threads >= 0, got {threads}")
    if processes not in (0, *PROCESS_CHOICES):
        raise DemoStageError(f"expected processes 0 (automatic), 1 or 2, got {processes}: the demo's batch of "
                             f"{BATCH_COUPLES} shop/user couples is split over them")
    from .report import Manifest, build_report, write_manifest

    plan = plan or (QUICK if quick else FULL)
    root = Path(out).expanduser()
    _check_out(root)
    root.mkdir(parents=True, exist_ok=True)
    for own in ("run", "predictions", "eval"):  # a previous demo's outputs (the stamp says the folder is ours)
        if (root / own).is_dir():
            shutil.rmtree(root / own)
    atomic_write_bytes(root / STAMP, orjson.dumps({"plan": plan.to_dict(), "status": "running"}))
    data, run, pred, eval_dir = root / "data", root / "run", root / "predictions", root / "eval"
    seconds: dict[str, float] = {}
    dev = _device_name(device)
    procs = _processes(processes, dev)
    _stage("synthesise", seconds, lambda: _synthesise(data, plan, progress))
    ckpt = _stage("train", seconds, lambda: _train(data, run, plan, device, threads, procs, progress))
    results, retrieval = _stage("predict", seconds, lambda: _predict(ckpt, data / "validation", pred, device, threads, progress))
    scores = _stage("evaluate", seconds, lambda: _evaluate(data / "validation", results, retrieval, eval_dir))
    write_manifest(eval_dir, Manifest(
        title="df2kit demo: Match R-CNN (small) on synthetic DeepFashion2",
        gt=data / "validation", results=results, retrieval_results=retrieval, train=data / "train", run_dir=run,
        notes=((f"{plan.train_images} synthetic training images, {plan.validation_images} validation images at "
                f"{plan.size} px; {plan.epochs} epochs on {dev}. The official numbers are for the real dataset."),),
    ))
    report = root / "report.html"
    _stage("report", seconds, lambda: build_report(eval_dir, report, progress=progress))
    summary = DemoSummary(out=root, plan=plan, report=report, seconds=seconds, scores=scores, device=dev,
                          processes=procs)
    atomic_write_bytes(root / STAMP, orjson.dumps({**summary.to_dict(), "status": "done"}, option=orjson.OPT_INDENT_2))
    return summary
