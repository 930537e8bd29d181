"""Options and work of `df2kit evaluate --task retrieval` (the shared options live in cli/evaluate.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from .._atomic import atomic_write_bytes
from ..evaluation.retrieval import SUBSET_CHOICES, evaluate_retrieval
from ._common import print_json


def _unit_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in 0..1, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in 0..1, got {text}")
    return v


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """Add the retrieval options to the evaluate parser."""
    group.add_argument(
        "--min-iou", type=_unit_float, default=None, metavar="IOU",
        help="assign a detection to a query item only at this box IoU or more (official: no minimum)",
    )
    group.add_argument(
        "--gt-boxes", action="store_true",
        help="queries are the ground-truth boxes (README Table 9's GT-box rows): one entry per GT query box",
    )
    group.add_argument(
        "--subset", choices=SUBSET_CHOICES, default=None,
        help="many-matches: only query items with more than 5 identical shop items (README Table 9)",
    )


def run(args: argparse.Namespace) -> int:
    if args.gt_boxes and args.min_iou is not None:
        print("df2kit evaluate: error: --min-iou has no meaning with --gt-boxes", file=sys.stderr)
        return 2
    result = evaluate_retrieval(
        args.gt,
        args.results,
        min_iou=args.min_iou,
        gt_boxes=args.gt_boxes,
        subset=args.subset,
        subsets=args.subsets,
        progress=getattr(args, "progress", False),
    )
    d = result.to_dict()
    if args.out:
        atomic_write_bytes(Path(args.out) / "retrieval.json", orjson.dumps(d, option=orjson.OPT_INDENT_2))
    if args.json:
        print_json(d)
    else:
        print(result.format())
    return 0
