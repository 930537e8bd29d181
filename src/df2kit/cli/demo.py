"""df2kit demo: the whole job on synthetic data, ending with an HTML report."""

from __future__ import annotations

import argparse

from ..demo import FULL, PROCESS_CHOICES, QUICK  # light: the demo module imports torch only when it runs
from ._common import whole_number

NAME = "demo"
HELP = "synthesise data, train the small baseline, predict, score, write the report"
DESCRIPTION = f"""\
The whole job on synthetic DeepFashion2-format data, in one command:
  1. synthesise a small train and validation set (df2kit synth),
  2. train the small Match R-CNN baseline (df2kit train; a GPU when there is one),
  3. predict on validation (df2kit predict: all four tasks' result files),
  4. score detection, landmarks, segmentation and retrieval (df2kit evaluate),
  5. write one self-contained HTML report (df2kit report) and print where to open it.
Under 10 minutes on 2 CPU cores ({FULL.train_images} training images, {FULL.epochs} epochs, {FULL.validation_images} validation images; the
small preset at 96 px with its FPN on ResNet-18's stride-4 and stride-8 stages, for a CPU; training
in two processes of one thread, which is faster than one process of two threads); --quick (fewer,
smaller images, {QUICK.epochs} epoch) under 2 minutes. From scratch, no pretrained weights, the
default scored box AP50 0.54 in 8 minutes on the 2 cores here (README, model section).
--train-images and --epochs make it longer and the model better.
Everything lands in --out DIR (data/, run/, predictions/, eval/, report.html); running
again into the same folder reuses its synthetic data (other sizes replace it). Needs the
model extra:
pip install 'df2kit[model]'."""
EXAMPLES = """\
df2kit demo
df2kit demo --quick --out /tmp/df2kit-demo
df2kit demo --device cpu
df2kit demo --threads 1                  # on a machine busy with other work: one thread is faster
df2kit demo --processes 1                # train in one process (of one thread per core)
df2kit demo --epochs 20 --out demo-long   # twice the training
"""


_POSITIVE = whole_number(1)
_THREADS = whole_number(0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="df2kit-demo", help="folder for everything (default: ./df2kit-demo)")
    p.add_argument("--quick", action="store_true", help="a smaller run (under 2 minutes on 2 CPU cores)")
    p.add_argument("--train-images", type=_POSITIVE, metavar="N", help=f"synthetic training images (default {FULL.train_images}; --quick {QUICK.train_images})")
    p.add_argument("--validation-images", type=_POSITIVE, metavar="N", help=f"synthetic validation images (default {FULL.validation_images}; --quick {QUICK.validation_images})")
    p.add_argument("--epochs", type=_POSITIVE, metavar="N", help=f"training epochs (default {FULL.epochs}; --quick {QUICK.epochs})")
    p.add_argument("--device", default="auto", help="'auto' (a GPU when there is one), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--threads", type=_THREADS, default=0, metavar="N",
                   help="CPU threads of each training process and of prediction (default 0: the cores shared "
                        "out among the training processes, one per core to predict; on a machine busy with other "
                        "work 1 can be several times faster)")
    p.add_argument("--processes", type=int, choices=(0, *PROCESS_CHOICES), default=0, metavar="N",
                   help="training processes, 1 or 2 (default 0: two on a CPU of 2 cores or more, one thread each, "
                        "which trains this small model faster than one process of two threads; one on a GPU)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ..demo import FULL, QUICK, run_demo
    from ._common import print_json

    sizes = {"train_images": args.train_images, "validation_images": args.validation_images, "epochs": args.epochs}
    plan = dataclasses.replace(QUICK if args.quick else FULL, **{k: v for k, v in sizes.items() if v is not None})
    summary = run_demo(args.out, plan=plan, device=args.device, threads=args.threads,
                       processes=args.processes, progress=args.progress)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(summary.format())
        print(f"open it: file://{summary.report.resolve()}")
    return 0
