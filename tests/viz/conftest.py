"""Fixtures of the viz and report tests: a small split with results and an evaluation folder, and Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from df2kit.io import scan_split
from df2kit.report import Manifest, write_manifest

from .._factory import make_split

CHROMIUM = "/usr/bin/chromium"


def noisy_results(split: Path, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Detection/landmark results (GT boxes with noise, some wrong categories) and retrieval results."""
    t = scan_split(split, None)
    rng = np.random.default_rng(seed)
    res = []
    for j in range(t.num_items):
        cat = int(t.category_id[j]) if rng.random() > 0.2 else int(rng.integers(1, 14))
        box = t.bbox_xywh[j] + rng.normal(0, 6, 4)
        box[2:] = np.maximum(box[2:], 2)
        res.append({"image_id": int(t.image_id[t.item_image[j]]), "category_id": cat, "bbox": box.tolist(),
                    "score": float(rng.uniform(0.3, 1.0)), "keypoints": t.landmarks_294([j])[0].ravel().tolist()})
    img_of = t.image_id[t.item_image]
    shop = np.flatnonzero(t.item_source == 0)
    ret = []
    for j in np.flatnonzero(t.item_source == 1):
        order = rng.permutation(shop)[:20]
        ret.append({"query_image_id": int(img_of[j]), "query_bbox": t.bbox_xyxy[j].tolist(),
                    "query_cls": int(t.category_id[j]), "query_score": 0.9,
                    "gallery_image_id": [int(img_of[g]) for g in order],
                    "gallery_bbox": [t.bbox_xyxy[g].tolist() for g in order]})
    return res, ret


def coco_task(task: str, *, category_name: str = "trousers", attribute: str = "scale") -> dict:
    """A ``TaskResult.to_dict()`` in the layout df2kit's COCO-style scorer writes (hand-made numbers)."""
    rng = np.random.default_rng(1)
    recall = np.linspace(0, 1, 101)

    def curve(top: float) -> list[float]:
        c = np.clip(top - recall * top + rng.normal(0, 0.01, 101), 0, 1)
        c[90:] = -1.0  # recall never reached: "no data"
        return c.round(4).tolist()

    def scores(variant: str, ap: float) -> dict:
        names = ("AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large") \
            if task == "landmarks" else ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
                                         "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large")
        stats = dict(zip(names, [ap, ap + 0.2, ap + 0.05] + [0.3] * (len(names) - 3)))
        return {
            "variant": variant, "iou_type": {"landmarks": "keypoints", "segmentation": "segm"}.get(task, "bbox"),
            "stats": stats,
            "per_category": [
                {"id": 1, "name": "short sleeve top", "num_gt": 5, "num_dt": 6, "ap": 0.5, "ap50": 0.7, "ap75": 0.5},
                {"id": 8, "name": category_name, "num_gt": 4, "num_dt": 3, "ap": 0.3, "ap50": 0.4, "ap75": 0.3},
                {"id": 3, "name": "short sleeve outwear", "num_gt": 0, "num_dt": 0, "ap": None, "ap50": None, "ap75": None},
            ],
            "subsets": [
                {"attribute": attribute, "level": 1, "name": "small", "num_gt": 3, "ap": 0.2, "ap50": 0.4, "ap75": 0.2},
                {"attribute": attribute, "level": 3, "name": "large", "num_gt": 6, "ap": 0.6, "ap50": 0.8, "ap75": 0.6},
            ],
            "iou_thresholds": [0.5 + 0.05 * k for k in range(10)],
            "recall_thresholds": recall.round(2).tolist(),
            "pr_curves": {"mean": curve(0.8), "iou50": curve(0.95), "iou75": curve(0.85), "per_category_iou50": {}},
        }

    variants = [("vis", 0.3), ("vis_hide", 0.25)] if task == "landmarks" else [("", 0.41)]
    sc = [scores(v, ap) for v, ap in variants]
    return {"task": task, "gt": "validation", "results": "results.json", "num_images": 24, "num_gt": 40, "num_dt": 44,
            "ap": sc[0]["stats"]["AP"], "ap50": sc[0]["stats"]["AP50"], "ap75": sc[0]["stats"]["AP75"], "scores": sc}


def retrieval_task(*, mode: str = "detected boxes, official assignment", level: str = "small") -> dict:
    """A ``RetrievalResult.to_dict()`` in the layout df2kit's retrieval scorer writes (hand-made numbers)."""
    top = {"top1": 0.1, "top5": 0.3, "top10": 0.4, "top15": 0.5, "top20": 0.6}
    return {"task": "retrieval", "mode": mode, "gt_boxes": False, "min_iou": None, "subset": None,
            "num_queries": 30, **top, **{f"hits{k}": int(30 * top[f"top{k}"]) for k in (1, 5, 10, 15, 20)},
            "counts": {"results": 30, "represented": 28, "missed": 2},
            "subsets": {"scale": {level: {"num_queries": 10, **top}}}}


def task_files(eval_dir: Path, *, category_name: str = "trousers", tasks=("detection", "landmarks", "segmentation", "retrieval")) -> None:
    """Hand-made <task>.json files in the layouts `df2kit evaluate --out` writes."""
    for t in tasks:
        d = retrieval_task() if t == "retrieval" else coco_task(t, category_name=category_name)
        (eval_dir / f"{t}.json").write_text(json.dumps(d))


@pytest.fixture(scope="session")
def report_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    split = make_split(root / "data", 24, seed=5)
    res, ret = noisy_results(split)
    (root / "pred").mkdir()
    (root / "pred" / "results.json").write_text(json.dumps(res))
    (root / "pred" / "retrieval.json").write_text(json.dumps(ret))
    return {"root": root, "split": split, "results": root / "pred" / "results.json",
            "retrieval_results": root / "pred" / "retrieval.json"}


def make_eval_dir(path: Path, data: dict[str, Path], **manifest) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    task_files(path)
    write_manifest(path, Manifest(gt=data["split"], results=data["results"],
                                  retrieval_results=data["retrieval_results"], **manifest))
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium: installed with apt-get when missing and running as root, else skipped."""
    if not os.path.exists(CHROMIUM):
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("needs Debian's chromium package (/usr/bin/chromium): run `apt-get install -y chromium` as root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "chromium"]
        try:
            if subprocess.run(install, capture_output=True, timeout=900, env=env, check=False).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=300, env=env, check=False)
                subprocess.run(install, check=True, capture_output=True, timeout=900, env=env)
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"could not install Debian's chromium package with apt-get: {e}")
        if not os.path.exists(CHROMIUM):
            pytest.skip("apt-get install chromium did not provide /usr/bin/chromium")
    return CHROMIUM


def render_page(chromium: str, page: Path, out_png: Path, profile: Path, *, width: int = 1280, height: int = 2400) -> list[str]:
    """Screenshot ``page`` headless; returns the page's console messages (CSP violations included)."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--hide-scrollbars", f"--user-data-dir={profile}",
           f"--window-size={width},{height}", "--enable-logging=stderr", "--v=0", f"--screenshot={out_png}",
           page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not out_png.exists():
        raise AssertionError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
