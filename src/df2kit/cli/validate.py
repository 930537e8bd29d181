"""df2kit validate: check a DeepFashion2 root or split."""

from __future__ import annotations

import argparse

from ..io.validate import validate_split
from ._common import add_cache, add_json, add_root, add_workers, print_json, split_dirs

NAME = "validate"
HELP = "check annotation files, fields, images and pairs of a split"
DESCRIPTION = """\
Check a DeepFashion2 root (or one split folder): every annotation file parses, every field
has the right type and range, landmark counts match the category, category_name agrees
with category_id, boxes are non-empty and inside the image, polygons have >= 3 points,
every annotation has its image and every image its annotation, and style > 0 identities
have partners on the other side (shop/user).

Prints a summary (counts per problem kind, first examples with file, item and field).
Exit code 1 when any error is found; warnings alone exit 0."""
EXAMPLES = """\
df2kit validate ~/data/DeepFashion2 --split validation
df2kit validate ~/data/DeepFashion2/train --json > report.json
df2kit validate ROOT --no-images        # annotations only, no image headers
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_root(p)
    add_json(p)
    p.add_argument("--no-images", action="store_true", help="do not read image headers (faster; boxes are not checked against image sizes)")
    p.add_argument("--examples", type=int, default=3, metavar="N", help="examples shown per problem kind (default 3; --json: all with -1)")
    add_workers(p)
    add_cache(p)


def run(args: argparse.Namespace) -> int:
    reports = []
    for d in split_dirs(args.root, args.split, need_annos=False):
        reports.append(
            validate_split(
                d,
                None,
                check_images=not args.no_images,
                workers=args.workers,
                cache=not args.no_cache,
                progress=args.progress,
            )
        )
    if args.json:
        n = None if args.examples < 0 else max(args.examples, 0)
        out = [r.to_dict(n) for r in reports]
        print_json(out[0] if len(out) == 1 else out)
    else:
        print("\n\n".join(r.format(max(args.examples, 0)) for r in reports))
    return 0 if all(r.ok for r in reports) else 1
