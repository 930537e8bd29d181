"""df2kit pairs: every positive commercial-consumer item pair of a split, as JSON lines."""

from __future__ import annotations

import argparse

import numpy as np

from .._table import format_table
from ..formats._stream import count_skipped
from ..formats.pairs import positive_pairs, write_positive_pairs
from ..io.scan import scan_split
from ._common import add_cache, add_json, add_workers, print_json

NAME = "pairs"
HELP = "list every positive shop/user item pair of a split (JSON lines)"
DESCRIPTION = """\
Write every positive commercial-consumer pair of a split: one shop item and one user item
with the same pair_id and the same style > 0 (style 0 items take part in no pair).

OUT gets one JSON object per line, ordered by pair_id, style, shop item, user item:
  {"pair_id", "style", "shop_image_id", "shop_item", "shop_category_id", "shop_bbox",
   "user_image_id", "user_item", "user_category_id", "user_bbox"}
(*_item is the key in the annotation file, e.g. "item2"; boxes are [x1, y1, x2, y2]).
Read it with pandas.read_json(OUT, lines=True). For training batches of shop/user image
couples use the Python API: df2kit.formats.pairs.PairBatchSampler."""
EXAMPLES = """\
df2kit pairs ~/data/DeepFashion2 --split train train_pairs.jsonl
df2kit pairs ~/data/DeepFashion2/validation val_pairs.jsonl --json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("root", metavar="ROOT", help="DeepFashion2 root (holding train/, validation/) or one split folder")
    p.add_argument("out", metavar="OUT", help="the JSON-lines file to write (e.g. train_pairs.jsonl)")
    p.add_argument("--split", default=None, help="split folder under ROOT (train, validation)")
    add_json(p)
    add_workers(p)
    add_cache(p)


def run(args: argparse.Namespace) -> int:
    table = scan_split(args.root, args.split, workers=args.workers, cache=not args.no_cache, progress=args.progress)
    pairs = positive_pairs(table)
    write_positive_pairs(table, pairs, args.out)
    couples = pairs.image_couples()
    ident = np.unique(np.stack([pairs.pair_id, pairs.style], axis=1), axis=0) if len(pairs) else np.zeros((0, 2))
    summary = {
        "split": table.name,
        "out": args.out,
        "positive_pairs": len(pairs),
        "style_identities_with_pairs": len(ident),
        "shop_items": len(np.unique(pairs.shop_item)),
        "user_items": len(np.unique(pairs.user_item)),
        "image_couples": len(couples),
        "skipped_by_reader": count_skipped(table.errors),
    }
    if args.json:
        print_json(summary)
    else:
        rows = [
            ("positive pairs (shop item x user item)", summary["positive_pairs"]),
            ("style identities with a pair", summary["style_identities_with_pairs"]),
            ("shop items / user items in pairs", f"{summary['shop_items']:,} / {summary['user_items']:,}"),
            ("(shop image, user image) couples", summary["image_couples"]),
        ]
        if table.errors:
            rows.append(("broken files/items skipped by the reader", count_skipped(table.errors)))
        print(format_table([f"pairs {table.name} -> {args.out}", "count"], rows))
    return 0
