"""Options and work of `df2kit evaluate` for detection, landmarks and segmentation (COCOeval semantics).

Prints the README-style tables (AP / AP50 / AP75; for landmarks the "vis" and "vis && hide" rows of Table 4),
the full COCO summary, per-category AP and, with --subsets, the per-subset table of README Tables 3, 5, 7.
``--json`` prints the same as JSON; ``--out DIR`` writes ``DIR/<task>.json`` (with precision-recall curves
and per-category AP) for reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .._atomic import atomic_write_bytes
from ..evaluation import evaluate
from ._common import print_json


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """Add this task family's options to the evaluate parser."""
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes reading a large results file at once (Linux; default 1, which already parses in a "
        "second thread while comparing; more helps on idle machines with more cores)",
    )


def run(args: argparse.Namespace) -> int:
    result = evaluate(
        args.task, args.gt, args.results, subsets=args.subsets, progress=args.progress,
        workers=getattr(args, "workers", None),
    )
    data = result.to_dict()
    if args.out:
        out = Path(args.out) / f"{args.task}.json"
        atomic_write_bytes(out, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    if args.json:
        print_json(data)
    else:
        print(result.format())
        if args.out:
            print(f"\nwrote {Path(args.out) / f'{args.task}.json'}")
    return 0
