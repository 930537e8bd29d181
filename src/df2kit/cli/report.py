"""df2kit report: one self-contained HTML page for a whole evaluation."""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "write one self-contained HTML report of an evaluation"
DESCRIPTION = """\
Write one HTML file that needs nothing else to be read (plots and pictures are embedded,
no network, no scripts): the README-style tables of all four tasks with the official
Match R-CNN numbers beside ours, precision-recall curves, AP per category and per subset,
dataset statistics (the README's Figure 3), the best and worst predicted images, and
retrieval strips.

EVAL_DIR holds the <task>.json files that `df2kit evaluate --out EVAL_DIR` writes
(detection, landmarks, segmentation, retrieval; missing tasks are reported as such) and
optionally manifest.json naming the ground-truth split, the images and the results files
(`df2kit demo` writes one). The options below override the manifest."""
EXAMPLES = """\
df2kit report eval/ --out report.html
df2kit report eval/ --gt ~/data/DeepFashion2/validation --results results.json --out report.html
df2kit report demo/eval --samples 12 --strips 10
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("eval_dir", metavar="EVAL_DIR", help="folder with <task>.json files (and manifest.json)")
    p.add_argument("--out", metavar="FILE", help="the HTML file to write (default: EVAL_DIR/report.html)")
    p.add_argument("--gt", metavar="SPLIT_DIR", help="ground-truth split folder (statistics, ranking, hits)")
    p.add_argument("--images", metavar="SPLIT_DIR", help="folder holding image/ (default: --gt)")
    p.add_argument("--results", metavar="FILE", help="detection / landmark / segmentation results JSON")
    p.add_argument("--retrieval-results", metavar="FILE", help="retrieval results JSON")
    p.add_argument("--train", metavar="SPLIT_DIR", help="a second split for the dataset statistics")
    p.add_argument("--title", help="page title")
    p.add_argument("--samples", type=int, default=6, metavar="N", help="best and worst images shown (N each, default 6)")
    p.add_argument("--strips", type=int, default=6, metavar="N", help="retrieval strips shown (default 6)")
    p.add_argument("--thumb", type=int, default=360, metavar="PX", help="picture size, longer side (default 360)")
    p.add_argument("--score-threshold", type=float, default=0.3, metavar="T", help="predictions drawn and ranked (default 0.3)")
    p.add_argument("--json", action="store_true", help="print what went into the report as JSON")


def run(args: argparse.Namespace) -> int:
    import sys

    if args.samples < 0 or args.strips < 0 or args.thumb < 64:
        print("df2kit report: error: --samples and --strips must be >= 0, --thumb >= 64", file=sys.stderr)
        return 2
    from ..report import build_report
    from ._common import print_json

    summary = build_report(
        args.eval_dir, args.out, gt=args.gt, images=args.images, results=args.results,
        retrieval_results=args.retrieval_results, train=args.train, title=args.title, samples=args.samples,
        strips=args.strips, thumb=args.thumb, score_threshold=args.score_threshold, progress=args.progress,
    )
    if args.json:
        print_json(summary.to_dict())
    else:
        print(summary.format())
        print(f"open it: file://{summary.path.resolve()}")
    return 0
