"""Speed and memory of scoring DeepFashion2 boxes, masks and landmarks: pycocotools vs faster-coco-eval vs df2kit.

A validation-sized case is generated here (synthetic, deterministic): 32,153 images with 51,490 items
(garment-like polygons, 294-layout landmarks), and three results files as a Match R-CNN-style model would
write them: about 100 scored boxes per image, the same 100 with RLE masks, and about 5 landmark results per
image with 882 numbers each. Every tool scores each task with the DeepFashion2 parameters, load time
included (the ground-truth file and the results file), in its own process; the table gives seconds (median
of --repeat runs), peak memory of the process and the APs side by side, and the ratios.

    python benchmarks/evaluate.py                 # full size (generates ~3 GB of files once, in --data)
    python benchmarks/evaluate.py --scale 0.05    # quick
    python benchmarks/evaluate.py --tasks detection --tools df2kit,pycocotools --repeat 3

Needs the bench extra: pip install -e ".[bench]" (pycocotools, faster-coco-eval).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

TASKS = ("detection", "segmentation", "landmarks")
TOOLS = ("pycocotools", "faster-coco-eval", "df2kit")
IOU_TYPE = {"detection": "bbox", "segmentation": "segm", "landmarks": "keypoints"}
RESULT_FILE = {"detection": "boxes.json", "segmentation": "masks.json", "landmarks": "landmarks.json"}
FULL_IMAGES = 32153
FULL_ITEMS = 51490


# ---- the synthetic case ---------------------------------------------------------------------------------
def generate(out: Path, scale: float, seed: int) -> None:
    """Write gt.json and the three results files into ``out``."""
    from df2kit.layout import CATEGORIES, NUM_LANDMARKS
    from df2kit.structures.masks import _rasterize, counts_to_strings

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_img = max(10, round(FULL_IMAGES * scale))
    n_items = max(n_img, round(FULL_ITEMS * scale))
    ids = np.sort(rng.choice(np.arange(1, 3 * n_img), n_img, replace=False))  # ids with gaps
    H = rng.integers(400, 801, n_img)
    W = rng.integers(300, 701, n_img)
    # items per image: 1 + the extra items spread at random
    per = np.ones(n_img, dtype=np.int64)
    np.add.at(per, rng.integers(0, n_img, n_items - n_img), 1)
    item_img = np.repeat(np.arange(n_img), per)
    freq = np.array([12, 6, 1, 3, 3, 3, 4, 6, 5, 2, 1, 3, 2], dtype=float)
    cat = rng.choice(np.arange(1, 14), n_items, p=freq / freq.sum())
    # garment-like outline: a star-shaped polygon of 16..40 vertices
    ih, iw = H[item_img].astype(float), W[item_img].astype(float)
    bw = iw * rng.uniform(0.25, 0.9, n_items)
    bh = ih * rng.uniform(0.25, 0.9, n_items)
    cx = rng.uniform(bw / 2, iw - bw / 2)
    cy = rng.uniform(bh / 2, ih - bh / 2)
    nv = rng.integers(16, 41, n_items)
    polys = []
    for i in range(n_items):
        ang = np.sort(rng.uniform(0, 2 * np.pi, nv[i]))
        rad = rng.uniform(0.65, 1.0, nv[i])
        px = np.clip(cx[i] + bw[i] / 2 * rad * np.cos(ang), 0, iw[i] - 1)
        py = np.clip(cy[i] + bh[i] / 2 * rad * np.sin(ang), 0, ih[i] - 1)
        polys.append(np.round(np.stack([px, py], 1), 1))
    boxes = np.array([[p[:, 0].min(), p[:, 1].min(), np.ptp(p[:, 0]), np.ptp(p[:, 1])] for p in polys])
    images = [{"id": int(ids[r]), "file_name": f"{ids[r]:06d}.jpg", "height": int(H[r]), "width": int(W[r])}
              for r in range(n_img)]
    anns = []
    gt_kp = np.zeros((n_items, NUM_LANDMARKS, 3))
    for i in range(n_items):
        c = CATEGORIES[cat[i] - 1]
        k = c.num_landmarks
        x, y, w, h = boxes[i]
        lm = np.stack([rng.uniform(x, x + w, k), rng.uniform(y, y + h, k),
                       rng.choice([2, 1, 0], k, p=[0.7, 0.2, 0.1])], 1)
        if rng.random() < 0.03:
            lm[:, 2] = 0
        lm[lm[:, 2] == 0, :2] = 0
        lm[:, :2] = np.round(lm[:, :2], 1)
        gt_kp[i, c.landmark_slice] = lm
        anns.append({
            "id": i + 1, "image_id": int(ids[item_img[i]]), "category_id": int(cat[i]),
            "bbox": [round(float(v), 2) for v in boxes[i]], "area": float(np.round(w, 2) * np.round(h, 2)),
            "iscrowd": 0, "segmentation": [polys[i].ravel().tolist()],
            "keypoints": gt_kp[i].ravel().tolist(), "num_keypoints": int((lm[:, 2] > 0).sum()),
            "scale": int(rng.integers(1, 4)), "occlusion": int(rng.integers(1, 4)),
            "zoom_in": int(rng.integers(1, 4)), "viewpoint": int(rng.integers(1, 4)),
        })
    for a in anns:  # the official area rule: the box area
        a["area"] = a["bbox"][2] * a["bbox"][3]
    cats = [{"id": c.id, "name": c.coco_name, "supercategory": "clothes"} for c in CATEGORIES]
    (out / "gt.json").write_bytes(orjson.dumps({"images": images, "annotations": anns, "categories": cats}))

    # ---- detections: ~100 per image, a few near each item, the rest background -------------------------
    near_per = rng.integers(3, 7, n_items)
    near_item = np.repeat(np.arange(n_items), near_per)
    nn = len(near_item)
    jit = rng.uniform(0.02, 0.25, nn)[:, None] * rng.standard_normal((nn, 4))
    b = boxes[near_item]
    nb = np.column_stack([b[:, 0] + jit[:, 0] * b[:, 2], b[:, 1] + jit[:, 1] * b[:, 3],
                          b[:, 2] * (1 + jit[:, 2]), b[:, 3] * (1 + jit[:, 3])])
    nb[:, 2:] = np.maximum(nb[:, 2:], 2)
    near_cat = np.where(rng.random(nn) < 0.7, cat[near_item], rng.integers(1, 14, nn))
    near_score = rng.beta(5, 2, nn)
    near_img = item_img[near_item]
    n_near_img = np.bincount(near_img, minlength=n_img)
    n_bg = np.maximum(100 - n_near_img, 0)
    bg_img = np.repeat(np.arange(n_img), n_bg)
    nbg = len(bg_img)
    bw2 = W[bg_img] * rng.uniform(0.05, 0.8, nbg)
    bh2 = H[bg_img] * rng.uniform(0.05, 0.8, nbg)
    bx = rng.uniform(0, W[bg_img] - bw2)
    by = rng.uniform(0, H[bg_img] - bh2)
    bgb = np.column_stack([bx, by, bw2, bh2])
    dt_img = np.concatenate([near_img, bg_img])
    dt_box = np.round(np.concatenate([nb, bgb]), 2)
    dt_cat = np.concatenate([near_cat, rng.integers(1, 14, nbg)])
    dt_score = np.round(np.concatenate([near_score, rng.beta(1, 6, nbg)]), 5)
    dt_near = np.concatenate([near_item, np.full(nbg, -1)])
    order = np.lexsort((-dt_score, dt_img))  # per image, best first, as detectors write them
    dt_img, dt_box, dt_cat, dt_score, dt_near = (a[order] for a in (dt_img, dt_box, dt_cat, dt_score, dt_near))
    ndt = len(dt_img)

    def write_list(path: Path, make, n: int, step: int) -> None:
        with open(path, "wb") as f:
            f.write(b"[")
            for s in range(0, n, step):
                chunk = orjson.dumps(make(s, min(n, s + step)))
                f.write((b"," if s else b"") + chunk[1:-1])
            f.write(b"]")

    img_ids = ids[dt_img]
    write_list(out / RESULT_FILE["detection"], lambda a, z: [
        {"image_id": int(img_ids[i]), "category_id": int(dt_cat[i]), "bbox": dt_box[i].tolist(),
         "score": float(dt_score[i])} for i in range(a, z)], ndt, 200000)

    # ---- masks for the same detections: the item's outline moved with the box, or an ellipse -----------
    poly_n = np.array([len(p) for p in polys])
    poly_pts = np.concatenate(polys)
    poly_first = np.concatenate([[0], np.cumsum(poly_n)[:-1]])
    ell = np.linspace(0, 2 * np.pi, 17)[:-1]

    def masks(a: int, z: int) -> list[dict]:
        near = dt_near[a:z]
        box = dt_box[a:z]
        n_pts = np.where(near >= 0, poly_n[np.maximum(near, 0)], len(ell))
        owner = np.repeat(np.arange(z - a), n_pts)
        local = np.arange(int(n_pts.sum())) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
        nr = near[owner]
        src = poly_pts[np.where(nr >= 0, poly_first[np.maximum(nr, 0)] + local, 0)]
        ob = boxes[np.maximum(nr, 0)]
        bx = box[owner]
        sx = (src[:, 0] - ob[:, 0]) / np.maximum(ob[:, 2], 1e-6)
        sy = (src[:, 1] - ob[:, 1]) / np.maximum(ob[:, 3], 1e-6)
        t = ell[np.minimum(local, len(ell) - 1)]
        ux = np.where(nr >= 0, sx, (1 + np.cos(t)) / 2)
        uy = np.where(nr >= 0, sy, (1 + np.sin(t)) / 2)
        pts = np.column_stack([bx[:, 0] + ux * bx[:, 2], bx[:, 1] + uy * bx[:, 3]])
        hh, ww = H[dt_img[a:z]], W[dt_img[a:z]]
        counts, offs = _rasterize(pts, n_pts, np.arange(z - a), hh, ww)
        strings = counts_to_strings(counts, offs)
        return [{"image_id": int(img_ids[i]), "category_id": int(dt_cat[i]), "bbox": dt_box[i].tolist(),
                 "score": float(dt_score[i]), "segmentation": {"size": [int(hh[i - a]), int(ww[i - a])],
                                                              "counts": strings[i - a]}}
                for i in range(a, z)]

    write_list(out / RESULT_FILE["segmentation"], masks, ndt, 50000)

    # ---- landmarks: ~5 per image: the near detections of best score, landmarks with noise ---------------
    first_near = np.flatnonzero(dt_near >= 0)
    keep = first_near[np.argsort(-dt_score[first_near], kind="stable")][: 5 * n_img]
    keep = np.sort(keep)

    def landmarks(a: int, z: int) -> list[dict]:
        res = []
        for i in keep[a:z]:
            j = dt_near[i]
            c = CATEGORIES[dt_cat[i] - 1]
            kp = np.zeros((NUM_LANDMARKS, 3))
            x, y, w, h = dt_box[i]
            if dt_cat[i] == cat[j]:
                src = gt_kp[j, c.landmark_slice].copy()
                lab = src[:, 2] > 0
                src[~lab, 0] = rng.uniform(x, x + w, (~lab).sum())
                src[~lab, 1] = rng.uniform(y, y + h, (~lab).sum())
                src[:, :2] += rng.normal(0, 0.04, (len(src), 2)) * [w, h]
            else:
                src = np.column_stack([rng.uniform(x, x + w, c.num_landmarks), rng.uniform(y, y + h, c.num_landmarks),
                                       np.zeros(c.num_landmarks)])
            src[:, 2] = 2
            kp[c.landmark_slice] = np.round(src, 2)
            res.append({"image_id": int(img_ids[i]), "category_id": int(dt_cat[i]),
                        "keypoints": kp.ravel().tolist(), "score": float(dt_score[i])})
        return res

    write_list(out / RESULT_FILE["landmarks"], landmarks, len(keep), 20000)
    (out / "case.json").write_text(json.dumps({"scale": scale, "seed": seed, "images": n_img, "items": n_items,
                                               "detections": int(ndt), "landmark_results": len(keep)}))


# ---- one tool, one task, in its own process ------------------------------------------------------------
class _PeakMemory:
    """Peak memory of this process and its children (df2kit reads large files in forked processes): the
    largest sum of their proportional set sizes (shared pages split between the processes that share them),
    sampled every 50 ms, and at least this process's own high-water mark."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._me = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _sample(self) -> None:
        total = 0.0
        for p in [self._me, *self._me.children(recursive=True)]:
            try:
                total += p.memory_full_info().pss
            except Exception:  # noqa: BLE001, S110 - a child that just ended
                pass
        self.peak = max(self.peak, total / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return max(self.peak, _peak_mb())


def worker(tool: str, task: str, gt: str, res: str, workers: int | None = None) -> dict:
    from df2kit.layout import SIGMAS_294

    iou_type = IOU_TYPE[task]
    mem = _PeakMemory()
    t0 = time.perf_counter()
    if tool == "df2kit":
        from df2kit.evaluation import Evaluator

        ev = Evaluator(gt, (task,), workers=workers)  # what evaluate(task, gt, res) does, timed in two parts
        ev.add_file(res)
        t1 = time.perf_counter()
        r = ev.compute()[task]
        sc = r.variant("vis_hide") if task == "landmarks" else r.scores[0]
        stats = [sc.ap, sc.ap50, sc.ap75]
        if task == "landmarks":
            stats += [r.variant("vis").ap]
    else:
        if tool == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
        else:
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as COCOeval
        with contextlib.redirect_stdout(io.StringIO()):
            G = COCO(gt)
            D = G.loadRes(res)
            t1 = time.perf_counter()
            if tool == "pycocotools":
                E = COCOeval(G, D, iou_type)
                if iou_type == "keypoints":
                    E.params.kpt_oks_sigmas = np.asarray(SIGMAS_294)
            else:
                kw = {"kpt_oks_sigmas": list(SIGMAS_294)} if iou_type == "keypoints" else {}
                E = COCOeval(G, D, iou_type, **kw)
            E.evaluate()
            E.accumulate()
            E.summarize()
        stats = [float(E.stats[0]), float(E.stats[1]), float(E.stats[2])]
    t2 = time.perf_counter()
    peak = mem.stop()
    return {"load": t1 - t0, "score": t2 - t1, "total": t2 - t0, "peak_mb": peak, "stats": stats}


def _peak_mb() -> float:
    """Peak resident memory of this process in MiB (VmHWM: unlike ru_maxrss it does not inherit the parent's
    peak across fork + exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(tool: str, task: str, data: Path, workers: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", tool, task, str(data / "gt.json"), str(data / RESULT_FILE[task])]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the validation size (default 1)")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool and task; seconds are medians")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="folder for the generated files (default: a temp folder per scale/seed)")
    ap.add_argument("--json", help="also write the measurements here")
    ap.add_argument("--workers", type=int, help="df2kit's reading processes (default: its own default)")
    ap.add_argument("--worker", nargs=4, metavar=("TOOL", "TASK", "GT", "RESULTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, workers=args.workers)))
        return
    data = Path(args.data or f"/tmp/df2kit-bench-evaluate-s{args.scale:g}-seed{args.seed}")
    if not (data / "case.json").exists():
        t = time.perf_counter()
        print(f"generating the case in {data} ...", file=sys.stderr)
        generate(data, args.scale, args.seed)
        print(f"generated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    case = json.loads((data / "case.json").read_text())
    sizes = {t: (data / RESULT_FILE[t]).stat().st_size / 2**20 for t in TASKS}
    print(f"case: {case['images']:,} images, {case['items']:,} items, {case['detections']:,} box/mask results, "
          f"{case['landmark_results']:,} landmark results (files: boxes {sizes['detection']:.0f} MB, masks "
          f"{sizes['segmentation']:.0f} MB, landmarks {sizes['landmarks']:.0f} MB); {os.cpu_count()} CPUs")
    tools = [t for t in TOOLS if t in args.tools.split(",")]
    rows = []
    meas: dict = {}
    for task in [t for t in TASKS if t in args.tasks.split(",")]:
        for tool in tools:
            w = args.workers if tool == "df2kit" else None
            runs = [run_worker(tool, task, data, w) for _ in range(args.repeat)]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                meas[(task, tool)] = {"error": runs[0]["error"]}
                continue
            m = {k: statistics.median(r[k] for r in ok) for k in ("load", "score", "total")}
            m["peak_mb"] = max(r["peak_mb"] for r in ok)
            m["stats"] = ok[0]["stats"]
            m["runs"] = [r["total"] for r in ok]
            meas[(task, tool)] = m
        base = meas.get((task, "pycocotools"), {})
        fce = meas.get((task, "faster-coco-eval"), {})
        for tool in tools:
            m = meas[(task, tool)]
            if "error" in m:
                rows.append([task, tool, "error: " + m["error"][:60]])
                continue
            ap_s = " / ".join(f"{v:.4f}" for v in m["stats"][:3])
            x_py = f"{base['total'] / m['total']:.1f}x" if "total" in base else "-"
            x_f = f"{fce['total'] / m['total']:.1f}x" if "total" in fce else "-"
            rows.append([task, tool, f"{m['total']:.1f} ({m['load']:.1f} + {m['score']:.1f})", f"{m['peak_mb']:,.0f}",
                         ap_s, x_py, x_f])
    head = ["task", "tool", "seconds (load + score)", "peak MB", "AP / AP50 / AP75",
            "vs pycocotools", "vs faster-coco-eval"]
    widths = [max(len(str(r[i])) for r in rows + [head]) if i < 3 or all(len(r) > i for r in rows) else len(head[i])
              for i in range(len(head))]
    line = lambda r: "  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print(f"(median of {args.repeat} run(s) each; peak MB: the process and its children; df2kit's load includes "
          "comparing each block of results with the ground truth as it is read; the landmarks AP is of the "
          "vis && hide ground truth)")
    if args.json:
        Path(args.json).write_text(json.dumps({f"{k[0]}/{k[1]}": v for k, v in meas.items()}, indent=1))


if __name__ == "__main__":
    main()
