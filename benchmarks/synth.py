"""Speed of the synthetic generator: 512 px images per second and annotation-only files per second, one core.

    python benchmarks/synth.py                 # medians of 3 runs
    python benchmarks/synth.py --two-cores     # also: a 2,000-image training split on 2 worker processes

There is no other tool that draws DeepFashion2-format data to compare with, so each row is set against the
floor of the same job: encoding and writing files of the same kind and size from data already in memory
(one JPEG at the same size and one annotation file per image). The ratio says how many times that floor the
generator takes; the issue's target is 50 images/s per core at 512 px.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from df2kit._atomic import atomic_write_bytes
from df2kit._table import format_table
from df2kit.io.native import annotation_to_bytes
from df2kit.synth import generate_image, synthesize


def _median_rate(fn, n: int, repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median rates over the runs: per CPU-second of this process (one core), and per wall-clock second."""
    cpu, wall = [], []
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            t, c = time.perf_counter(), time.process_time()
            fn(Path(d), r)
            cpu.append(n / (time.process_time() - c))
            wall.append(n / (time.perf_counter() - t))
    return statistics.median(cpu), statistics.median(wall)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=300, help="images per timed run (default 300)")
    ap.add_argument("--annotations", type=int, default=3000, help="annotation-only files per timed run (default 3000)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--two-cores", action="store_true", help="also time 2,000 images on 2 worker processes")
    args = ap.parse_args(argv)

    img, ann = generate_image(seed=1, size=args.size)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    jpeg, js = buf.getvalue(), annotation_to_bytes(ann)

    def floor_images(d: Path, r: int) -> None:
        for i in range(args.images):
            atomic_write_bytes(d / f"{i:06d}.jpg", jpeg)
            atomic_write_bytes(d / f"{i:06d}.json", js)

    def floor_annos(d: Path, r: int) -> None:
        for i in range(args.annotations):
            atomic_write_bytes(d / f"{i:06d}.json", js)

    def ours_images(d: Path, r: int) -> None:
        synthesize(d, train=args.images, seed=r, size=args.size, workers=1)

    def ours_annos(d: Path, r: int) -> None:
        synthesize(d, train=args.annotations, seed=r, size=args.size, images=False, workers=1)

    rows = []
    jobs = (
        (f"images + annotations, {args.size} px", ours_images, floor_images, args.images, 50.0),
        ("annotations only", ours_annos, floor_annos, args.annotations, None),
    )
    for name, ours_fn, floor_fn, n, target in jobs:
        ours_cpu, ours_wall = _median_rate(ours_fn, n, args.repeats)
        floor_cpu, _ = _median_rate(floor_fn, n, args.repeats)
        rows.append(
            (
                name,
                f"{ours_cpu:,.0f}/s",
                f"{ours_wall:,.0f}/s",
                f"{floor_cpu:,.0f}/s",
                f"{floor_cpu / ours_cpu:.1f}x",
                f"{target:.0f}/s" if target else "-",
                f"{ours_cpu / target:.2f}" if target else "-",
            )
        )
    print(
        f"df2kit synth on one core, medians of {args.repeats} runs ({args.images} images / {args.annotations} annotation files per run)"
    )
    print("rates per CPU-second of the process (the machine may be shared: wall-clock rates are shown beside)")
    print(
        format_table(
            ["job", "synth", "synth (wall)", "write-only floor", "synth / floor", "target", "synth / target"], rows
        )
    )
    if args.two_cores:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            synthesize(d, train=2000, size=args.size, workers=2)
            dt = time.perf_counter() - t
        print(f"\n2,000 training images at {args.size} px on 2 worker processes: {dt:.1f} s (target: under 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
