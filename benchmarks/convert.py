"""Benchmark: native split -> COCO JSON, df2kit vs a plain single-process loop like the official script.

    .venv/bin/python benchmarks/convert.py                    # full-size train split (191,961 images)
    .venv/bin/python benchmarks/convert.py --images 20000     # a quicker, smaller run

The data is synthetic and made once under --root (default /tmp/df2kit-bench-convert): a train split of
DeepFashion2-format annotation files (about 312k items for the full size, 1-3 items per image, 1-3 polygons
of 12-60 points, landmarks of the item's category) plus tiny but valid JPEG files whose headers give each
image's size (25 sizes encoded once by Pillow, their bytes reused). ``df2kit synth --no-images`` writes no
image files and its image sizes come out of its scene builder, while both converters need the image
headers, so this script makes its own annotation files with known sizes (it is also much faster).

Both converters run in fresh subprocesses, alternating, ``--repeat`` times; the table shows medians of wall
time and of the peak resident memory of the whole process tree (summed over the process and its children,
sampled every 50 ms with psutil: shared pages of forked workers count twice, so ours is over-stated).

* ``df2kit``: ``df2kit.formats.coco.to_coco(split_dir, out)``: one streaming pass with all cores (no scan
  cache involved): workers parse chunks of files, read the image headers and serialize; the main process
  writes in order.
* ``official-like loop``: what the official ``deepfashion2_to_coco.py`` does, written here: for each file,
  ``PIL.Image.open`` for the size, ``json.load``, a 882-float keypoint list per item built with numpy, all
  appended to one dict, then one ``json.dumps`` (the C encoder; the official script's ``json.dump`` uses
  Python's pure-Python encoder and takes about 2x the CPU time, so this baseline is the stronger one). It runs
  under a memory cap (--baseline-cap-gb) so that it cannot starve the machine; if it hits the cap the table
  says so.

Before timing, both converters run on the first 500 images and their outputs are compared field by field
(ids, boxes, areas, keypoints, num_keypoints, segmentation, style, pair_id, image sizes), so the race is
between equal outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _procs import run_sampled  # benchmarks/ is on sys.path when a script here runs

FULL_IMAGES = 191_961
FULL_ITEMS = 312_186


# ---- the synthetic split -------------------------------------------------------------------------------
def _jpeg_pool(sizes: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    import io

    from PIL import Image

    pool = {}
    for w, h in sizes:
        buf = io.BytesIO()
        Image.new("RGB", (w, h), (120, 90, 60)).save(buf, "JPEG", quality=5)
        pool[(w, h)] = buf.getvalue()
    return pool


def _gen_part(args: tuple[str, int, int, int, float]) -> int:
    split_dir, lo, hi, seed, items_per_image = args
    import orjson

    from df2kit.layout import CATEGORIES

    rng = random.Random(seed * 1_000_003 + lo)
    sizes = [(w, h) for w in (480, 600, 640, 750, 800) for h in (480, 600, 640, 800, 1000)]
    pool = _jpeg_pool(sizes)
    annos, image = Path(split_dir) / "annos", Path(split_dir) / "image"
    extra = items_per_image - 1.0
    n_items = 0
    for i in range(lo, hi):
        w, h = sizes[rng.randrange(len(sizes))]
        n = 1 + (rng.random() < extra) + (rng.random() < max(0.0, extra - 0.5) * 0.2)
        pair_id = i // 6 + 1
        obj: dict = {"source": "user" if i % 3 else "shop", "pair_id": pair_id}
        for k in range(1, n + 1):
            c = CATEGORIES[rng.randrange(13)]
            x1, y1 = rng.randint(0, w // 2), rng.randint(0, h // 2)
            x2, y2 = rng.randint(x1 + 20, w), rng.randint(y1 + 20, h)
            lm = []
            for _ in range(c.num_landmarks):
                v = rng.choice((0, 1, 2, 2, 2))
                lm += [rng.randint(x1, x2), rng.randint(y1, y2), v] if v else [0, 0, 0]
            seg = []
            cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                m = rng.randint(12, 60)
                t = np.sort(np.array([rng.random() for _ in range(m)])) * 2 * np.pi
                r = np.array([0.6 + 0.4 * rng.random() for _ in range(m)])
                xs = np.round(cx + rx * r * np.cos(t)).astype(int)
                ys = np.round(cy + ry * r * np.sin(t)).astype(int)
                seg.append(np.stack([xs, ys], 1).ravel().tolist())
            obj[f"item{k}"] = {
                "segmentation": seg,
                "scale": rng.randint(1, 3),
                "viewpoint": rng.randint(1, 3),
                "zoom_in": rng.randint(1, 3),
                "landmarks": lm,
                "style": rng.choice((0, 1, 1, 2)),
                "bounding_box": [x1, y1, x2, y2],
                "category_id": c.id,
                "occlusion": rng.randint(1, 3),
                "category_name": c.name,
            }
            n_items += 1
        stem = f"{i + 1:06d}"
        (annos / f"{stem}.json").write_bytes(orjson.dumps(obj))
        (image / f"{stem}.jpg").write_bytes(pool[(w, h)])
    return n_items


def make_split(root: Path, n_images: int, seed: int = 0) -> Path:
    d = root / "train"
    stamp = root / f".complete-{n_images}-{seed}"
    if stamp.exists():
        return d
    import shutil
    from multiprocessing import Pool

    if root.exists():
        shutil.rmtree(root)
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir(parents=True)
    per = FULL_ITEMS / FULL_IMAGES
    step = 5000
    jobs = [(str(d), lo, min(lo + step, n_images), seed, per) for lo in range(0, n_images, step)]
    t0 = time.perf_counter()
    with Pool(os.cpu_count() or 1) as pool:
        items = sum(pool.imap_unordered(_gen_part, jobs))
    print(f"made {n_images:,} images / {items:,} items in {time.perf_counter() - t0:.0f} s under {d}", flush=True)
    stamp.write_text("ok\n")
    return d


def subset(split_dir: Path, n: int, out: Path) -> Path:
    """A split folder of the first n files (symlinks)."""
    d = out / "train"
    if (d / "annos").exists():
        return d
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir(parents=True)
    for i in range(1, n + 1):
        stem = f"{i:06d}"
        os.symlink(split_dir / "annos" / f"{stem}.json", d / "annos" / f"{stem}.json")
        os.symlink(split_dir / "image" / f"{stem}.jpg", d / "image" / f"{stem}.jpg")
    return d


# ---- the two converters --------------------------------------------------------------------------------
def run_ours(split_dir: str, out: str) -> None:
    from df2kit.formats.coco import to_coco

    to_coco(split_dir, out)


def run_baseline(split_dir: str, out: str) -> None:
    """One process, json.load per file, one dict for everything, json.dump at the end (official style)."""
    from PIL import Image

    from df2kit.layout import CATEGORIES

    offset = {c.id: c.offset for c in CATEGORIES}
    count = {c.id: c.num_landmarks for c in CATEGORIES}
    dataset: dict = {"info": {}, "licenses": [], "images": [], "annotations": [], "categories": []}
    for c in CATEGORIES:
        dataset["categories"].append(
            {"id": c.id, "name": c.coco_name, "supercategory": "clothes",
             "keypoints": [str(i) for i in range(1, 295)], "skeleton": []}
        )
    annos = os.path.join(split_dir, "annos")
    ann_id = 0
    for name in sorted(os.listdir(annos)):
        stem = name[:-5]
        image = Image.open(os.path.join(split_dir, "image", stem + ".jpg"))
        width, height = image.size
        with open(os.path.join(annos, name)) as f:
            temp = json.load(f)
        dataset["images"].append(
            {"coco_url": "", "date_captured": "", "file_name": stem + ".jpg", "flickr_url": "",
             "id": int(stem), "license": 0, "width": width, "height": height}
        )
        for key in temp:
            if key in ("source", "pair_id"):
                continue
            it = temp[key]
            points = np.zeros(294 * 3)
            ann_id += 1
            box = it["bounding_box"]
            w, h = box[2] - box[0], box[3] - box[1]
            cat = it["category_id"]
            lm = it["landmarks"]
            xs, ys, vs = np.array(lm[0::3]), np.array(lm[1::3]), np.array(lm[2::3])
            off = offset[cat]
            for n in range(count[cat]):
                points[3 * (off + n)] = xs[n]
                points[3 * (off + n) + 1] = ys[n]
                points[3 * (off + n) + 2] = vs[n]
            dataset["annotations"].append(
                {"area": w * h, "bbox": [box[0], box[1], w, h], "category_id": cat, "id": ann_id,
                 "pair_id": temp["pair_id"], "image_id": int(stem), "iscrowd": 0, "style": it["style"],
                 "num_keypoints": int(np.count_nonzero(vs > 0)), "keypoints": points.tolist(),
                 "segmentation": it["segmentation"]}
            )
    with open(out, "w") as f:
        f.write(json.dumps(dataset))  # json.dumps: the C encoder (json.dump, as the official script, is pure Python)


# ---- measuring -----------------------------------------------------------------------------------------
def measure(which: str, split_dir: Path, out: Path, cap_gb: float) -> tuple[float, float, str]:
    """(seconds, peak tree RSS in MB, status) of one converter run in a fresh interpreter."""
    def limit() -> None:
        if which == "baseline" and cap_gb > 0:
            cap = int(cap_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    if out.exists():
        out.unlink()
    cmd = [sys.executable, __file__, "_run", which, str(split_dir), str(out)]
    secs, peak_mb, code, err = run_sampled(cmd, preexec_fn=limit)
    status = "ok" if code == 0 else ("out of memory (cap)" if "MemoryError" in err else f"failed: {err.strip().splitlines()[-1:]}")
    return secs, peak_mb, status


def check_equal(ours: Path, base: Path) -> None:
    a, b = json.loads(ours.read_text()), json.loads(base.read_text())
    ia = {i["id"]: (i["file_name"], i["width"], i["height"]) for i in a["images"]}
    ib = {i["id"]: (i["file_name"], i["width"], i["height"]) for i in b["images"]}
    assert ia == ib, "image entries differ"
    assert len(a["annotations"]) == len(b["annotations"])
    for x, y in zip(a["annotations"], b["annotations"]):
        for k in ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "num_keypoints", "style", "pair_id", "segmentation"):
            assert x[k] == y[k], (k, x["id"])
        assert np.array_equal(np.array(x["keypoints"], float), np.array(y["keypoints"], float)), ("keypoints", x["id"])
    assert [c["id"] for c in a["categories"]] == [c["id"] for c in b["categories"]]
    print(f"outputs agree on {len(a['images'])} images / {len(a['annotations'])} annotations", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        _, _, which, split_dir, out = sys.argv
        (run_ours if which == "ours" else run_baseline)(split_dir, out)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="/tmp/df2kit-bench-convert")
    ap.add_argument("--images", type=int, default=FULL_IMAGES)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--baseline-repeat", type=int, default=None, help="runs of the baseline (default: --repeat; it is slow and big)"
    )
    ap.add_argument(
        "--baseline-cap-gb",
        type=float,
        default=18.0,
        help="address-space cap of the baseline, lowered to the memory available minus 3 GB (0: none)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the output files")
    args = ap.parse_args()
    root = Path(args.root)
    split_dir = make_split(root, args.images)
    out_dir = root / "out"
    out_dir.mkdir(exist_ok=True)
    small = subset(split_dir, min(500, args.images), out_dir / "subset")
    run_ours(str(small), str(out_dir / "check_ours.json"))
    run_baseline(str(small), str(out_dir / "check_base.json"))
    check_equal(out_dir / "check_ours.json", out_dir / "check_base.json")

    if args.baseline_cap_gb > 0:
        import psutil

        avail = psutil.virtual_memory().available / 2**30
        args.baseline_cap_gb = max(1.0, min(args.baseline_cap_gb, avail - 3.0))
        print(f"baseline address-space cap: {args.baseline_cap_gb:.1f} GB", flush=True)
    res: dict[str, list[tuple[float, float, str]]] = {"df2kit": [], "official-like loop": []}
    base_runs = args.repeat if args.baseline_repeat is None else args.baseline_repeat
    for r in range(max(args.repeat, base_runs)):
        order = [("df2kit", "ours"), ("official-like loop", "baseline")]
        order = [(label, which) for label, which in order if r < (args.repeat if which == "ours" else base_runs)]
        for label, which in order if r % 2 == 0 else order[::-1]:
            m = measure(which, split_dir, out_dir / f"{which}.json", args.baseline_cap_gb)
            res[label].append(m)
            print(f"run {r + 1}: {label:<20} {m[0]:8.1f} s  {m[1]:8.0f} MB  {m[2]}", flush=True)
    med = {k: (statistics.median(s for s, _, _ in v), statistics.median(p for _, p, _ in v), v[-1][2]) for k, v in res.items()}
    base_s = med["official-like loop"][0]
    print()
    runs = f"median of {args.repeat} runs" + (f" (baseline: {base_runs})" if base_runs != args.repeat else "")
    print(f"native -> COCO, train split of {args.images:,} images, {os.cpu_count()} cores, {runs}")
    print(f"{'converter':<22}{'seconds':>10}{'peak MB':>10}{'speed-up':>10}  status")
    for k in ("official-like loop", "df2kit"):
        s, p, st = med[k]
        print(f"{k:<22}{s:>10.1f}{p:>10.0f}{base_s / s:>9.2f}x  {st}")
    size = (out_dir / "ours.json").stat().st_size if (out_dir / "ours.json").exists() else 0
    print(f"output size (df2kit): {size / 2**20:,.0f} MB")
    if not args.keep:
        for f in ("ours.json", "baseline.json"):
            (out_dir / f).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
