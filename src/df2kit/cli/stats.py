"""df2kit stats: the README's Table 1 and Figure 3 numbers for a split."""

from __future__ import annotations

import argparse

from ..io.scan import scan_split
from ..stats import split_stats
from ._common import add_cache, add_json, add_root, add_workers, print_json, split_dirs

NAME = "stats"
HELP = "count images, items, categories, attributes, pairs and landmarks"
DESCRIPTION = """\
The numbers of the DeepFashion2 README's Table 1 and Figure 3 for each split: images and
items (shop/user), items per category, scale / occlusion / zoom_in / viewpoint shares,
pair_ids, style identities, positive commercial-consumer pairs (one shop item and one
user item with the same pair_id and the same style > 0), retrieval query and gallery
sizes, and visible / occluded / missing landmarks. Broken files are skipped and
counted (run `df2kit validate` for details)."""
EXAMPLES = """\
df2kit stats ~/data/DeepFashion2 --split train
df2kit stats ~/data/DeepFashion2 --json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_root(p)
    add_json(p)
    add_workers(p)
    add_cache(p)


def run(args: argparse.Namespace) -> int:
    results = []
    for d in split_dirs(args.root, args.split, need_annos=True):
        table = scan_split(d, None, workers=args.workers, cache=not args.no_cache, progress=args.progress)
        results.append((split_stats(table), len(table.errors)))
    if args.json:
        out = [dict(s.to_dict(), skipped_problems=n) for s, n in results]
        print_json(out[0] if len(out) == 1 else out)
    else:
        blocks = []
        for s, n in results:
            b = s.format()
            if n:
                b += f"\n\n({n:,} broken files or items skipped; run `df2kit validate` to see them)"
            blocks.append(b)
        print("\n\n".join(blocks))
    return 0
