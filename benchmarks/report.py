"""The report with hundreds of pictures: df2kit's page (downscaled JPEG thumbnails, lazy decoding) vs the plain
way (the same pictures drawn at full size and embedded as PNG), in one run.

    python benchmarks/report.py                    # 200 pictures (100 best + 100 worst images)
    python benchmarks/report.py --pictures 60      # quicker

A synthetic validation split (df2kit synth, 640 px) and detection/landmark results made from its ground truth
with noise are written once into --data (default /tmp/df2kit-bench/report). For each page: the HTML size, the
time to build it, and the time headless Chromium takes to open it and screenshot the first screen (median of
--repeat runs, minus the same for an empty page). Needs Debian's chromium (/usr/bin/chromium) for the load
times; without it only sizes and build times are printed.
Target (issue 8): the report opens fast with hundreds of pictures.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def _data(root: Path, n_images: int) -> tuple[Path, Path]:
    import numpy as np

    from df2kit.io import scan_split
    from df2kit.synth import synthesize

    root = root / f"n{n_images}"
    split = root / "validation"
    results = root / "results.json"
    stamp = root / ".made"
    if stamp.is_file():
        return split, results
    synthesize(root, validation=n_images, seed=0, size=640)
    t = scan_split(split, None)
    rng = np.random.default_rng(0)
    res = []
    for j in range(t.num_items):
        cat = int(t.category_id[j]) if rng.random() > 0.2 else int(rng.integers(1, 14))
        box = t.bbox_xywh[j] + rng.normal(0, 8, 4)
        box[2:] = np.maximum(box[2:], 2)
        res.append({"image_id": int(t.image_id[t.item_image[j]]), "category_id": cat, "bbox": box.tolist(),
                    "score": float(rng.uniform(0.3, 1.0)), "keypoints": t.landmarks_294([j])[0].ravel().tolist()})
    results.write_text(json.dumps(res))
    stamp.write_text("ok")
    return split, results


def _naive_page(split: Path, results: Path, ids: list[int], out: Path) -> None:
    """The plain way: full-size pictures, PNG, one after the other."""
    from df2kit.io import read_annotation
    from df2kit.viz import compare, entries_by_image, load_image

    by_image = entries_by_image(json.loads(results.read_text()))
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>naive</title></head><body>"]
    for i in ids:
        ann = read_annotation(split / "annos" / f"{i:06d}.json")
        pic = compare(load_image(split / "image" / f"{i:06d}.jpg"), ann, by_image.get(i, []))
        buf = io.BytesIO()
        pic.save(buf, format="PNG")
        parts.append(f"<figure><img src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>"
                     f"<figcaption>{i}</figcaption></figure>")
    parts.append("</body></html>")
    out.write_text("".join(parts))


_PROBE = ("<script>addEventListener('load',()=>setTimeout(()=>console.log('DF2LOAD '+"
          "performance.getEntriesByType('navigation')[0].loadEventEnd),0))</script>")


def _load_seconds(page: Path, repeat: int) -> float | None:
    """Seconds from navigation start to the end of the load event (median); a probe script is added to a copy
    of the page (without its Content-Security-Policy, which forbids scripts)."""
    if not os.path.exists(CHROMIUM):
        return None
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    probe = page.with_name(page.stem + ".probe.html")
    probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    loads = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as prof:
            cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={prof}", "--window-size=1280,1000", f"--screenshot={prof}/s.png",
                   "--enable-logging=stderr", "--v=0", probe.resolve().as_uri()]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stderr
        m = re.search(r"DF2LOAD ([0-9.]+)", out)
        if not m:
            raise RuntimeError(f"no load time reported by Chromium for {page}: {out[-1000:]}")
        loads.append(float(m.group(1)) / 1000)
    return statistics.median(loads)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictures", type=int, default=200, help="pictures in the page (best + worst images)")
    ap.add_argument("--data", default="/tmp/df2kit-bench/report")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from df2kit.report import Manifest, build_report, write_manifest

    n_images = max(args.pictures + 10, 40)
    root = Path(args.data)
    split, results = _data(root, n_images)
    work = Path(tempfile.mkdtemp(prefix="df2kit-report-bench-"))
    eval_dir = work / "eval"
    eval_dir.mkdir()
    write_manifest(eval_dir, Manifest(gt=split, results=results, title="benchmark"))

    ours = work / "ours.html"
    t0 = time.perf_counter()
    summary = build_report(eval_dir, ours, samples=args.pictures // 2, strips=0)
    build_ours = time.perf_counter() - t0
    ids = [int(m) for m in re.findall(r"<figcaption>(\d+): quality", ours.read_text())]
    naive = work / "naive.html"
    t0 = time.perf_counter()
    _naive_page(split, results, ids, naive)
    build_naive = time.perf_counter() - t0

    load_ours = _load_seconds(ours, args.repeat)
    load_naive = _load_seconds(naive, args.repeat)

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    rows = [
        ("df2kit report (JPEG thumbnails, lazy)", ours, build_ours, load_ours),
        ("plain: full-size PNG pictures", naive, build_naive, load_naive),
    ]
    print(f"{len(ids)} pictures of a {n_images}-image synthetic split (640 px) and {summary.plots} plot(s); "
          f"open = navigation start to end of the load event in headless Chromium, median of {args.repeat}")
    print(f"{'page':40s} {'MB':>7s} {'build s':>8s} {'open s':>8s}")
    for name, page, b, ld in rows:
        print(f"{name:40s} {page.stat().st_size / 1e6:7.1f} {b:8.1f} {fmt(ld):>8s}")
    ratio = [naive.stat().st_size / ours.stat().st_size, build_naive / build_ours]
    if load_ours and load_naive:
        ratio.append(load_naive / load_ours)
    print(f"{'ratio plain / df2kit':40s} {ratio[0]:6.1f}x {ratio[1]:7.1f}x" + (f" {ratio[2]:7.1f}x" if len(ratio) > 2 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
