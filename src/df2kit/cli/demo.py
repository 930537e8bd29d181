"""df2kit demo: the whole job on synthetic data, ending with an HTML report."""

from __future__ import annotations

import argparse

NAME = "demo"
HELP = "synthesise data, train the small baseline, predict, score, write the report"
DESCRIPTION = """\
The whole job on synthetic DeepFashion2-format data, in one command:
  1. synthesise a small train and validation set (df2kit synth),
  2. train the small Match R-CNN baseline (df2kit train; a GPU when there is one),
  3. predict on validation (df2kit predict: all four tasks' result files),
  4. score detection, landmarks, segmentation and retrieval (df2kit evaluate),
  5. write one self-contained HTML report (df2kit report) and print where to open it.
Under 10 minutes on 2 CPU cores; --quick (fewer, smaller images, 2 epochs) under 2 minutes.
Everything lands in --out DIR (data/, run/, predictions/, eval/, report.html); running
again into the same folder reuses its synthetic data. Needs the model extra:
pip install 'df2kit[model]'."""
EXAMPLES = """\
df2kit demo
df2kit demo --quick --out /tmp/df2kit-demo
df2kit demo --device cpu
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="df2kit-demo", help="folder for everything (default: ./df2kit-demo)")
    p.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes on 2 CPU cores)")
    p.add_argument("--device", default="auto", help="'auto' (a GPU when there is one), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ._common import print_json

    summary = run_demo(args.out, quick=args.quick, device=args.device, progress=args.progress)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(summary.format())
        print(f"open it: file://{summary.report.resolve()}")
    return 0
