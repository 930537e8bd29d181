"""Scan a full-size split: a plain json.load loop vs df2kit's cold scan vs df2kit's cached scan.

    python benchmarks/scan.py                 # 192,000 annotation files shaped like the real train split
    python benchmarks/scan.py --files 20000   # quicker

The split is annotation-only, written once into --data (default /tmp/df2kit-bench/scan) by the synthetic
generator when it is installed (``df2kit synth --no-images``), else by a small generator below with the real
split's shape (1.63 items per image, the category mix of the README's Figure 3, 1-2 polygons of 12-60
points). Each measurement runs in a fresh process (peak memory = that process plus its workers) after the
files are in the page cache; medians of --repeat runs are printed.
Targets (issue 2): cold scan >= 3x the plain loop on 2 cores; cached scan of 192k files < 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATEGORY_WEIGHTS = [190, 95, 1.5, 37, 42, 7, 92, 147, 83, 47, 23, 49, 19]  # thousands of items, Figure 3


def _write_split(anno_dir: Path, n: int, seed: int = 0) -> None:
    import orjson

    from df2kit.layout import CATEGORIES

    rng = random.Random(seed)
    anno_dir.mkdir(parents=True, exist_ok=True)
    pair = 0
    for i in range(1, n + 1):
        if i % 5 == 1:
            pair += 1
        d: dict = {}
        n_items = 1 if rng.random() < 0.45 else (2 if rng.random() < 0.85 else 3)
        for k in rng.sample(range(1, n_items + 1), n_items):
            c = rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS)[0]
            x1, y1 = rng.randint(0, 300), rng.randint(0, 300)
            x2, y2 = x1 + rng.randint(20, 400), y1 + rng.randint(20, 500)
            lm = []
            for _ in range(c.num_landmarks):
                v = rng.choice((0, 1, 2, 2, 2))
                lm += [0, 0, 0] if v == 0 else [rng.randint(x1, x2), rng.randint(y1, y2), v]
            seg = []
            for _ in range(rng.choice((1, 1, 1, 2))):
                seg.append([round(rng.uniform(x1, x2) if j % 2 == 0 else rng.uniform(y1, y2), 2) for j in range(2 * rng.randint(12, 60))])
            d[f"item{k}"] = {
                "segmentation": seg, "scale": rng.randint(1, 3), "viewpoint": rng.randint(1, 3),
                "zoom_in": rng.randint(1, 3), "landmarks": lm, "style": rng.randint(0, 2),
                "bounding_box": [x1, y1, x2, y2], "category_id": c.id, "occlusion": rng.randint(1, 3),
                "category_name": c.name,
            }
        d["source"] = "user" if i % 5 < 3 else "shop"
        d["pair_id"] = pair
        (anno_dir / f"{i:06d}.json").write_bytes(orjson.dumps(d))


def _make_data(root: Path, n: int) -> Path:
    split = root / f"train-{n}"
    anno = split / "annos"
    if anno.is_dir() and sum(1 for _ in os.scandir(anno)) == n:
        return split
    shutil.rmtree(split, ignore_errors=True)
    t = time.perf_counter()
    if shutil.which("df2kit") and subprocess.run(["df2kit", "synth", "--help"], capture_output=True).returncode == 0:
        tmp = root / f"synth-{n}"
        subprocess.run(["df2kit", "-q", "synth", str(tmp), "--train", str(n), "--no-images"], check=True)
        (tmp / "train").rename(split)
        shutil.rmtree(tmp, ignore_errors=True)
        how = "df2kit synth --no-images"
    else:
        _write_split(anno, n)
        how = "the benchmark's own generator"
    print(f"wrote {n:,} annotation files with {how} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return split


# ---- one measurement per process ----------------------------------------------------------------------
def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + kids) / 1024.0


def _measure(kind: str, split: str, cache: str) -> None:
    anno = Path(split) / "annos"
    t = time.perf_counter()
    if kind == "plain":
        n = 0
        for name in sorted(os.listdir(anno)):
            with open(anno / name) as f:
                json.load(f)
            n += 1
    else:
        from df2kit.io import scan_split

        table = scan_split(split, None, cache=cache, progress=False)
        n = table.num_files
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "files": n, "peak_mb": _peak_mb()}))


def _run(kind: str, split: Path, cache: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_measure", kind, "--data", str(split), "--_cache", str(cache)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=192_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "df2kit-bench" / "scan"))
    ap.add_argument("--_measure", help=argparse.SUPPRESS)
    ap.add_argument("--_cache", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._measure:
        _measure(a._measure, a.data, a._cache)
        return
    split = _make_data(Path(a.data), a.files)
    cache_root = Path(tempfile.mkdtemp(prefix="df2kit-scan-cache-"))
    try:
        _run("plain", split, cache_root)  # warm the page cache
        rows: dict[str, list[dict]] = {"plain json.load loop": [], "df2kit cold scan": [], "df2kit cached scan": []}
        for r in range(a.repeat):
            cache = cache_root / f"c{r}"
            rows["plain json.load loop"].append(_run("plain", split, cache))
            rows["df2kit cold scan"].append(_run("cold", split, cache))
            rows["df2kit cached scan"].append(_run("cached", split, cache))
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    base = statistics.median(x["seconds"] for x in rows["plain json.load loop"])
    print(f"\nscan of {a.files:,} annotation files, {os.cpu_count()} cores, median of {a.repeat} runs")
    print(f"{'method':<22} {'seconds':>8} {'files/s':>9} {'peak MB':>8} {'vs plain':>9}")
    for name, runs in rows.items():
        s = statistics.median(x["seconds"] for x in runs)
        mb = statistics.median(x["peak_mb"] for x in runs)
        print(f"{name:<22} {s:>8.2f} {a.files / s:>9,.0f} {mb:>8.0f} {base / s:>8.1f}x")


if __name__ == "__main__":
    main()
