"""df2kit synth: write a synthetic DeepFashion2 root."""

from __future__ import annotations

import argparse

from ._common import add_json, add_workers, print_json, whole_number

NAME = "synth"
HELP = "write synthetic DeepFashion2-format shop and consumer images"
DESCRIPTION = """\
Write a synthetic DeepFashion2 root in the dataset's exact format: OUT/train, OUT/validation
(image/NNNNNN.jpg + annos/NNNNNN.json) and OUT/test (images only). All 13 categories with the
dataset's frequencies, landmarks where the definition figure puts them, masks, outfits, shop
and consumer images grouped by pair_id with styled identities for retrieval, and the scale /
occlusion / zoom-in / viewpoint attributes measured from what was drawn.

The output is the same for a seed whatever --workers is, and passes `df2kit validate` with no
error (--quirks adds warnings only). --no-images writes annotations only, the same ones: fast,
for scale tests of the readers (`df2kit stats`); validate expects the images too."""
EXAMPLES = """\
df2kit synth out/df2-synth --train 2000 --validation 500 --test 200
df2kit synth out/big --train 300000 --no-images --seed 1
df2kit synth out/odd --validation 300 --quirks      # gaps, closed/degenerate polygons, ...
"""


_count = whole_number(0)


def _size(text: str) -> int:
    v = _count(text)
    if not 32 <= v <= 4096:
        raise argparse.ArgumentTypeError(f"expected 32..4096 pixels, got {v}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", metavar="OUT", help="root folder to write (train/, validation/, test/ are created)")
    p.add_argument("--train", type=_count, default=0, metavar="N", help="training images (default 0)")
    p.add_argument("--validation", type=_count, default=0, metavar="N", help="validation images (default 0)")
    p.add_argument("--test", type=_count, default=0, metavar="N", help="test images, no annotations (default 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--size", type=_size, default=512, metavar="PX", help="long side of every image in pixels (default 512)"
    )
    p.add_argument("--no-images", action="store_true", help="write annotations only")
    p.add_argument(
        "--quirks", action="store_true", help="add the real files' oddities (all of them give warnings only)"
    )
    add_workers(p)
    add_json(p)


def run(args: argparse.Namespace) -> int:
    from ..synth import synthesize

    if args.train + args.validation + args.test == 0:
        print("df2kit synth: nothing to do: give --train, --validation and/or --test counts")
        return 2
    summary = synthesize(
        args.out,
        train=args.train,
        validation=args.validation,
        test=args.test,
        seed=args.seed,
        size=args.size,
        images=not args.no_images,
        quirks=args.quirks,
        workers=args.workers,
        progress=args.progress,
    )
    if args.json:
        print_json(summary.to_dict())
    else:
        print(summary.format())
    return 0
