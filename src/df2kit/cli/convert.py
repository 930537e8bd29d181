"""df2kit convert: native DeepFashion2 <-> COCO, and native -> YOLO and retrieval ground truth."""

from __future__ import annotations

import argparse
import sys

from .._table import format_table
from ..formats._stream import count_skipped
from ._common import add_json, add_workers, print_json

NAME = "convert"
HELP = "convert a split to COCO, YOLO or retrieval ground truth (and COCO back)"
DESCRIPTION = """\
Convert one split of native DeepFashion2 annotations for the tools people train with.

  --to coco OUT.json      one COCO file, official-compatible by default (the rules of the
                          official converter: bbox xywh, area = box area, 882 keypoints with
                          zeros outside the category, ids from 1), plus what the official file
                          lacks: landmark names and skeletons, source and the four attributes
                          on each annotation. Degenerate polygons are repaired (never an item
                          dropped) and every repair is counted.
  --to yolo OUT_DIR       an Ultralytics dataset: images/<split> (symlinks or copies),
                          labels/<split>, dataset.yaml. --task detect | segment | pose.
                          Convert train and validation in turn into the same OUT_DIR.
  --to retrieval OUT_DIR  query_gt.json and gallery_gt.json: the consumer-to-shop retrieval
                          ground truth the official scorer reads (no longer published).
  --from coco IN.json OUT_ROOT
                          back to native files OUT_ROOT/annos/*.json (lossless for df2kit's
                          files; for official files the fields they drop are filled in and
                          counted).

Image sizes are read from the image headers (no decoding). A folder is converted in one
streaming pass over all cores; memory does not grow with the split."""
EXAMPLES = """\
df2kit convert ~/data/DeepFashion2 --split validation --to coco val_coco.json
df2kit convert ~/data/DeepFashion2 --split validation --to coco val_vis.json --vis-only
df2kit convert ~/data/DeepFashion2 --split train --to yolo df2_yolo --task pose
df2kit convert ~/data/DeepFashion2 --split validation --to yolo df2_yolo --task pose
df2kit convert ~/data/DeepFashion2 --split validation --to retrieval retrieval_gt/
df2kit convert --from coco val_coco.json restored/validation --images ~/data/DeepFashion2/validation/image
"""

_COCO_ONLY = ("area", "keypoints")
_YOLO_ONLY = ("task", "copy_images")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="DeepFashion2 root or split folder (with --to), or a COCO file (with --from)")
    p.add_argument("dest", metavar="DEST", help="output file (coco) or folder (yolo, retrieval, --from coco)")
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", choices=("coco", "yolo", "retrieval"), help="target format")
    way.add_argument("--from", dest="from_", choices=("coco",), metavar="{coco}", help="convert a COCO file back to native files")
    p.add_argument("--split", default=None, help="split folder under ROOT (train, validation)")
    g = p.add_argument_group("--to coco")
    g.add_argument("--area", choices=("box", "mask"), default=None, help="annotation area: box w*h (official, default) or the polygons' area")
    g.add_argument(
        "--keypoints",
        choices=("global", "per-category"),
        default=None,
        help="882 global numbers with zeros outside the category (official, default) or each category's own K landmarks",
    )
    g.add_argument("--vis-only", action="store_true", help="occluded landmarks become v = 0 (the 'vis' landmark ground truth; also for --task pose)")
    y = p.add_argument_group("--to yolo")
    y.add_argument("--task", choices=("detect", "segment", "pose"), default=None, help="label kind (default detect)")
    y.add_argument("--copy-images", action="store_true", help="copy the images instead of symlinking them")
    f = p.add_argument_group("--from coco")
    f.add_argument("--source", dest="fill_source", choices=("shop", "user"), default=None, help="source for images whose COCO entry has none (official files drop it)")
    f.add_argument("--images", metavar="DIR", default=None, help="folder of the images: link them into OUT_ROOT/image/ (copy with --copy-images)")
    f.add_argument("--overwrite", action="store_true", help="replace annotation files already in OUT_ROOT/annos/")
    add_json(p)
    add_workers(p)


def _usage(msg: str) -> int:
    print(f"df2kit convert: error: {msg}", file=sys.stderr)
    return 2


def _check_options(args: argparse.Namespace) -> str | None:
    target = args.to or f"from-{args.from_}"
    allowed = {"coco": {"area", "keypoints", "vis_only"}, "yolo": {"task", "copy_images", "vis_only"}, "retrieval": set()}
    allowed["from-coco"] = {"fill_source", "images", "overwrite", "copy_images"}
    opts = {
        "area": args.area is not None,
        "keypoints": args.keypoints is not None,
        "vis_only": args.vis_only,
        "task": args.task is not None,
        "copy_images": args.copy_images,
        "fill_source": args.fill_source is not None,
        "images": args.images is not None,
        "overwrite": args.overwrite,
    }
    flag = {"fill_source": "--source", "vis_only": "--vis-only", "copy_images": "--copy-images"}
    for k, given in opts.items():
        if given and k not in allowed[target]:
            name = flag.get(k, "--" + k.replace("_", "-"))
            return f"{name} does not apply to {'--to ' + args.to if args.to else '--from coco'}"
    if args.from_ and args.split:
        return "--split does not apply to --from coco (DEST is the split folder to write)"
    if args.vis_only and args.to == "yolo" and (args.task or "detect") != "pose":
        return "--vis-only applies to --task pose only"
    return None


def run(args: argparse.Namespace) -> int:
    problem = _check_options(args)
    if problem:
        return _usage(problem)
    if args.from_:
        from ..formats.coco import from_coco

        s = from_coco(
            args.source,
            args.dest,
            source=args.fill_source,
            images=args.images,
            image_mode="copy" if args.copy_images else "symlink",
            overwrite=args.overwrite,
            progress=args.progress,
        )
        print_json(s.to_dict()) if args.json else print(s.format())
        return 0
    if args.to == "coco":
        from ..formats.coco import to_coco

        c = to_coco(
            args.source,
            args.dest,
            split=args.split,
            area=args.area or "box",
            keypoints=args.keypoints or "global",
            vis_only=args.vis_only,
            workers=args.workers,
            progress=args.progress,
        )
        print_json(c.to_dict()) if args.json else print(c.format())
        return 0
    if args.to == "yolo":
        from ..formats.yolo import to_yolo

        y = to_yolo(
            args.source,
            args.dest,
            split=args.split,
            task=args.task or "detect",
            image_mode="copy" if args.copy_images else "symlink",
            vis_only=args.vis_only,
            workers=args.workers,
            progress=args.progress,
        )
        print_json(y.to_dict()) if args.json else print(y.format())
        return 0
    from ..formats.retrieval import retrieval_ground_truth, write_retrieval_ground_truth
    from ..io.scan import scan_split

    table = scan_split(args.source, args.split, workers=args.workers, progress=args.progress)
    gt = retrieval_ground_truth(table)
    qp, gp = write_retrieval_ground_truth(gt, args.dest)
    summary = {
        "split": table.name,
        "query_file": str(qp),
        "gallery_file": str(gp),
        "queries": gt.num_queries,
        "scored_queries": gt.num_scored_queries,
        "gallery_items": gt.num_gallery,
        "skipped_by_reader": count_skipped(table.errors),
    }
    if args.json:
        print_json(summary)
    else:
        rows = [
            ("query items (every item of user images)", gt.num_queries),
            ("  scored queries (style > 0)", gt.num_scored_queries),
            ("gallery items (shop items, style > 0)", gt.num_gallery),
        ]
        if table.errors:
            rows.append(("broken files/items skipped by the reader", count_skipped(table.errors)))
        print(format_table([f"retrieval {table.name} -> {args.dest}", "count"], rows))
    return 0
