"""Scale: seconds and peak memory of scan, convert and evaluate at the full train size and at 3x.

    python benchmarks/scale.py                      # 192,000 and 576,000 annotation files
    python benchmarks/scale.py --sizes 20000 60000  # quicker
    python benchmarks/scale.py --synth-all          # every file from the synthetic generator (hours on 2 cores)

Data: a train split of synthetic DeepFashion2 annotation files (``df2kit.synth.synthesize(root,
train=N, images=False)``). The generator renders each scene's geometry and takes about 12 ms of CPU per file,
so by default it writes a base of ``--base`` files once and the split is tiled from it: copy ``k`` of file
``i`` becomes stem ``k * base + i`` with its ``pair_id`` shifted by ``k * (largest pair id)`` (the content is
the generator's; pairs stay within a copy). The converter needs image sizes from image headers, and
``images=False`` writes none, so every image is a symlink to one 512 x 512 JPEG (the generator's long side).

Each command runs in its own fresh process; peak memory is the largest sum of resident memory over the
process and all its children (psutil, sampled every 50 ms; shared pages of forked workers count twice, so
multi-process commands are over-stated). The commands:

* ``scan (cold)``: ``scan_split(root, "train")`` with an empty scan cache (all cores);
* ``scan (cached)``: the same again, answered from the cache written by the cold scan;
* ``convert coco``: ``df2kit -q convert ROOT --split train --to coco OUT.json``;
* ``evaluate det``: ``df2kit -q evaluate --task detection ROOT/train RESULTS.json`` on a detection results
  file of one jittered box per ground-truth item plus one false positive per 4 images (written beforehand).

Target (issue 9): memory grows no faster than the data (3x/1x peak ratio <= 3) and stays under 4 GB at 1x.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _procs import run_sampled  # benchmarks/ is on sys.path when a script here runs

FULL = 192_000
_PAIR = re.compile(rb'"pair_id":\s*(\d+)')


# ---- data ----------------------------------------------------------------------------------------------
def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (512, 512), (120, 90, 60)).save(buf, "JPEG", quality=5)
    return buf.getvalue()


def make_base(root: Path, n: int, seed: int = 0) -> Path:
    """The generator's own files: ``root/base-N/train/annos`` (made once)."""
    from df2kit.synth import synthesize

    base = root / f"base-{n}-s{seed}"
    done = base / "DONE"
    if not done.exists():
        shutil.rmtree(base, ignore_errors=True)
        t0 = time.perf_counter()
        synthesize(base, train=n, images=False, seed=seed, progress=True)
        done.write_text(f"{time.perf_counter() - t0:.1f}\n")
    return base / "train"


def make_split(root: Path, n: int, base_n: int, synth_all: bool) -> Path:
    """``root/n-N/train`` with ``n`` annotation files (tiled from the base unless ``synth_all``), and images."""
    top = root / (f"n-{n}" + ("-synth" if synth_all else ""))
    split = top / "train"
    done = top / "DONE"
    if done.exists():
        return split
    shutil.rmtree(top, ignore_errors=True)
    if synth_all:
        from df2kit.synth import synthesize

        synthesize(top, train=n, images=False, progress=True)
    else:
        base = make_base(root, base_n)
        names = sorted(os.listdir(base / "annos"))
        raw = [(base / "annos" / nm).read_bytes() for nm in names]
        max_pair = max(int(_PAIR.search(r).group(1)) for r in raw)  # type: ignore[union-attr]
        annos = split / "annos"
        annos.mkdir(parents=True)
        for k in range(-(-n // len(raw))):
            shift = k * max_pair
            for i, r in enumerate(raw):
                stem = k * len(raw) + i + 1
                if stem > n:
                    break
                if shift:
                    m = _PAIR.search(r)
                    r = r[: m.start(1)] + str(int(m.group(1)) + shift).encode() + r[m.end(1) :]  # type: ignore[union-attr]
                (annos / f"{stem:06d}.json").write_bytes(r)
    image = split / "image"
    image.mkdir(exist_ok=True)
    jpg = top / "one.jpg"
    jpg.write_bytes(_jpeg())
    for nm in os.listdir(split / "annos"):
        os.symlink(jpg, image / (nm[:-5] + ".jpg"))
    done.write_text("ok\n")
    return split


def make_results(split: Path, out: Path, seed: int = 0) -> int:
    """Detection results for ``split``: each GT box jittered (score in 0.3..1) plus a false positive per 4 images."""
    import numpy as np
    import orjson

    from df2kit.io import scan_split

    if out.exists():
        return -1
    t = scan_split(split, None, cache=False)
    rng = np.random.default_rng(seed)
    b = t.bbox_xyxy.astype(np.float64)
    wh = b[:, 2:] - b[:, :2]
    xy = b[:, :2] + rng.normal(0, 0.05, size=wh.shape) * wh
    wh = np.maximum(wh * rng.uniform(0.85, 1.15, size=wh.shape), 1.0)
    img = t.image_id[t.item_image]
    entries = [
        {"image_id": int(i), "category_id": int(c), "bbox": [round(float(v), 2) for v in (*p, *s)],
         "score": round(float(sc), 4)}
        for i, c, p, s, sc in zip(img, t.category_id, xy, wh, rng.uniform(0.3, 1.0, size=len(img)))
    ]
    fp = rng.choice(t.image_id, size=len(t) // 4, replace=False)
    entries += [
        {"image_id": int(i), "category_id": int(rng.integers(1, 14)), "bbox": [10.0, 10.0, 80.0, 120.0],
         "score": round(float(rng.uniform(0.05, 0.6)), 4)}
        for i in fp
    ]
    tmp = out.with_suffix(".part")
    tmp.write_bytes(orjson.dumps(entries))
    os.replace(tmp, out)
    return len(entries)


# ---- measuring -----------------------------------------------------------------------------------------
def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(seconds, peak MB of the process tree, exit code, last stderr line) of one command."""
    secs, peak_mb, code, err = run_sampled(argv, env=env)
    lines = err.strip().splitlines()
    return secs, peak_mb, code, lines[-1] if lines else ""


SCAN = "import sys; from df2kit.io import scan_split; t = scan_split(sys.argv[1], None); print(len(t), t.num_items)"


COMMANDS = ("scan (cold)", "scan (cached)", "convert coco", "evaluate det")


def run_commands(
    split: Path, results: Path, work: Path, cache: Path, only: tuple[str, ...] = COMMANDS
) -> dict[str, tuple[float, float, int, str]]:
    """Measure the commands; the scan cache (``cache``) is emptied before the cold scan and kept after, so
    ``evaluate`` reads its ground truth from the cache as a second run would."""
    env = dict(os.environ, DF2KIT_CACHE_DIR=str(cache))
    py = sys.executable
    out_json = work / "coco.json"
    argv = {
        "scan (cold)": [py, "-c", SCAN, str(split)],
        "scan (cached)": [py, "-c", SCAN, str(split)],
        "convert coco": [py, "-m", "df2kit", "-q", "convert", str(split), "--to", "coco", str(out_json)],
        "evaluate det": [py, "-m", "df2kit", "-q", "evaluate", "--task", "detection", str(split), str(results)],
    }
    out: dict[str, tuple[float, float, int, str]] = {}
    for name in COMMANDS:
        if name not in only:
            continue
        if name == "scan (cold)":
            shutil.rmtree(cache, ignore_errors=True)
        out[name] = measure(argv[name], env)
        out_json.unlink(missing_ok=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[FULL, 3 * FULL], help="annotation files per split")
    ap.add_argument("--base", type=int, default=6000, help="files made by the generator and tiled (default 6000)")
    ap.add_argument("--synth-all", action="store_true", help="make every file with the generator (slow)")
    ap.add_argument("--root", type=Path, default=Path("/tmp/df2kit-bench-scale"), help="where the data is kept")
    ap.add_argument("--data-only", action="store_true", help="make the data and results files, measure nothing")
    ap.add_argument("--only", nargs="+", choices=COMMANDS, metavar="COMMAND",
                    help="measure only these (quoted names of the table); the scan cache of an earlier run is kept")
    a = ap.parse_args()
    a.root.mkdir(parents=True, exist_ok=True)
    rows = {}
    for n in a.sizes:
        t0 = time.perf_counter()
        split = make_split(a.root, n, a.base, a.synth_all)
        res = split.parent / "detections.json"
        make_results(split, res)
        print(f"data for {n:,} files ready ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        if a.data_only:
            continue
        with tempfile.TemporaryDirectory(dir=a.root) as work:
            rows[n] = run_commands(split, res, Path(work), split.parent / "cache", tuple(a.only or COMMANDS))
        for cmd, (s, mb, rc, last) in rows[n].items():
            flag = "" if rc == 0 else f"  (exit {rc}: {last})"
            print(f"  {cmd:<14} {n:>9,} files  {s:8.1f} s  {mb:8.0f} MB{flag}", file=sys.stderr, flush=True)
    if not rows:
        return
    sizes = sorted(rows)
    lo = sizes[0]
    print()
    print(f"{'command':<15} {'files':>9} {'seconds':>9} {'peak MB':>9} {'x data':>7} {'x seconds':>10} {'x peak MB':>10}")
    for cmd in rows[lo]:
        for n in sizes:
            s, mb, rc, _ = rows[n][cmd]
            ls, lmb = rows[lo][cmd][0], rows[lo][cmd][1]
            ratio = (f"{n / lo:>7.1f} {s / ls:>10.2f} {mb / lmb:>10.2f}") if n != lo else f"{'':>7} {'':>10} {'':>10}"
            bad = "" if rc == 0 else f"  FAILED (exit {rc})"
            print(f"{cmd:<15} {n:>9,} {s:>9.1f} {mb:>9.0f} {ratio}{bad}")
    top = rows[lo]
    ok_mem = all(v[1] < 4096 for v in rows[FULL].values()) if FULL in rows else None
    grow = [rows[sizes[-1]][c][1] / top[c][1] for c in top] if len(sizes) > 1 else []
    ratio_data = sizes[-1] / lo
    print()
    if ok_mem is not None:
        print(f"target: every command under 4 GB at {FULL:,} files: {'yes' if ok_mem else 'NO'}")
    if grow:
        print(f"target: peak memory grows no faster than the data ({ratio_data:.1f}x): "
              f"{'yes' if max(grow) <= ratio_data else 'NO'} (largest growth {max(grow):.2f}x)")


if __name__ == "__main__":
    main()
