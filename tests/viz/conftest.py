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


def task_files(eval_dir: Path, *, category_name: str = "trousers", tasks=("detection", "landmarks", "segmentation", "retrieval")) -> None:
    """Hand-written <task>.json files in the shape the evaluators' to_dict() give."""
    rng = np.random.default_rng(1)
    prec = np.sort(rng.uniform(0, 1, (10, 101, 13, 4, 3)), axis=1)[:, ::-1]
    coco = {"AP": 0.41, "AP50": 0.62, "AP75": 0.44, "per_category": {"short sleeve top": 0.5, category_name: 0.3},
            "subsets": {"scale": {"small": {"AP": 0.2, "AP50": 0.4, "AP75": 0.2}, "large": {"AP": 0.6, "AP50": 0.8, "AP75": 0.6}}},
            "precision": prec.round(3).tolist()}
    files = {
        "detection": dict(coco, task="detection"),
        "segmentation": dict(coco, task="segmentation"),
        "landmarks": {"task": "landmarks", "vis": {"AP": 0.3, "AP50": 0.5, "AP75": 0.3},
                      "vis_and_hide": {"AP": 0.25, "AP50": 0.45, "AP75": 0.2}},
        "retrieval": {"task": "retrieval", "mode": "detected boxes, official assignment", "num_queries": 30,
                      "top1": 0.1, "top5": 0.3, "top10": 0.4, "top15": 0.5, "top20": 0.6, "counts": {"results": 30}},
    }
    for t in tasks:
        (eval_dir / f"{t}.json").write_text(json.dumps(files[t]))


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
            if subprocess.run(install, capture_output=True, timeout=900, env=env).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=300, env=env)
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
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not out_png.exists():
        raise AssertionError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
