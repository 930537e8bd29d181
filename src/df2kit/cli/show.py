"""df2kit show: draw ground truth, predictions or retrieval results of some images into picture files."""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DatasetError, ResultsError
from ..io.scan import SPLITS, resolve_split

NAME = "show"
HELP = "draw annotations, predictions or retrieval results as pictures"
DESCRIPTION = """\
Draw pictures of a few images into --out DIR (one file per image, plus a grid with --grid).

SOURCE is either a dataset (a DeepFashion2 root or one split folder: the ground truth is
drawn: boxes with category names, translucent masks, landmarks with their category's
skeleton, visible points as dots and occluded points as rings, shop/user and pair_id in
the caption), or a results file, drawn on the images of the split given with --images:
- detection / landmark / segmentation results: ground truth (when the split has annos/)
  and predictions side by side; predicted boxes are dashed and carry their score;
- retrieval results: one strip per detected query item: the consumer item and its top-k
  shop results, hits framed green and misses red (hits need the split's annos/).

IMAGE_ID: file-stem integers (12 or 000012). None given: --sample N images are picked
(with --seed) among those of the split or of the results file."""
EXAMPLES = """\
df2kit show ~/data/DeepFashion2 12 57 --split validation --out pics/
df2kit show ~/data/DeepFashion2/validation --sample 12 --grid --out pics/
df2kit show results.json 12 57 --images ~/data/DeepFashion2/validation --score-threshold 0.5
df2kit show retrieval_results.json 12 --images ~/data/DeepFashion2/validation -k 5
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="ROOT|RESULTS", help="a DeepFashion2 root or split folder, or a results JSON file")
    p.add_argument("image_ids", metavar="IMAGE_ID", nargs="*", help="images to draw (file-stem integers)")
    p.add_argument("--split", help="split folder under ROOT (default: ROOT itself if it is a split, else the first split holding each image)")
    p.add_argument("--images", metavar="SPLIT_DIR", help="with a results file: the split folder holding image/ (and annos/ for the ground truth)")
    p.add_argument("--out", metavar="DIR", default="df2kit-show", help="folder for the pictures (default: ./df2kit-show)")
    p.add_argument("--grid", action="store_true", help="also write all pictures as one grid (grid.jpg)")
    p.add_argument("--columns", type=int, default=None, metavar="N", help="grid columns (default: about square)")
    p.add_argument("--sample", type=int, default=9, metavar="N", help="images to pick when no IMAGE_ID is given (default 9)")
    p.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    p.add_argument("--score-threshold", type=float, default=0.3, metavar="T", help="draw predictions with score >= T (default 0.3)")
    p.add_argument("-k", type=int, default=5, help="retrieval results shown per query (default 5)")
    p.add_argument("--strips", type=int, default=5, metavar="N",
                   help="retrieval: strips per query image, highest query_score first (default 5)")
    p.add_argument("--max-size", type=int, default=None, metavar="PX", help="shrink pictures so the longer side is at most PX")
    p.add_argument("--format", choices=("jpg", "png"), default="jpg", help="picture file format (default jpg)")
    for what in ("boxes", "masks", "landmarks", "labels"):
        p.add_argument(f"--no-{what}", action="store_true", help=f"do not draw {what}")


def _usage(msg: str) -> int:
    print(f"df2kit show: error: {msg}", file=sys.stderr)
    return 2


def _parse_ids(raw: Sequence[str]) -> list[int] | None:
    out = []
    for r in raw:
        if not r.isdigit():
            return None
        out.append(int(r))
    return out


def _pick(ids: Sequence[int], n: int, seed: int) -> list[int]:
    ids = sorted(set(ids))
    if len(ids) <= n:
        return ids
    return sorted(random.Random(seed).sample(ids, n))


def _save(img: Any, out_dir: Path, name: str, fmt: str) -> Path:
    from .._atomic import atomic_open

    path = out_dir / f"{name}.{fmt}"
    with atomic_open(path, "wb") as f:
        if fmt == "jpg":
            img.save(f, format="JPEG", quality=90)
        else:
            img.save(f, format="PNG", optimize=True)
    return path


def _draw_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "boxes": not args.no_boxes,
        "masks": not args.no_masks,
        "landmarks": not args.no_landmarks,
        "labels": not args.no_labels,
        "max_size": args.max_size,
    }


def _dataset_splits(source: Path, split: str | None) -> list[Path]:
    if split is not None:
        return [resolve_split(source, split)]
    if (source / "annos").is_dir() or (source / "image").is_dir():
        return [source]
    found = [source / s for s in SPLITS if (source / s).is_dir()]
    if not found:
        resolve_split(source, None)  # raises a precise DatasetError
    return found


def run(args: argparse.Namespace) -> int:
    ids = _parse_ids(args.image_ids)
    if ids is None:
        return _usage(f"expected image ids made of digits (like 12 or 000012), got {' '.join(args.image_ids)}")
    if args.sample < 1 or args.k < 1 or args.strips < 1 or (args.columns is not None and args.columns < 1):
        return _usage("--sample, -k, --strips and --columns must be at least 1")
    source = Path(args.source)
    if not source.exists():
        raise DatasetError("no such file or folder", path=str(source))
    if source.is_dir():
        if args.images:
            return _usage("--images is for a results file; ROOT already holds the images")
        pictures = _show_dataset(source, ids, args)
    else:
        if not args.images:
            return _usage("a results file needs --images SPLIT_DIR (the split folder holding image/ and annos/)")
        images_dir = resolve_split(Path(args.images), args.split)
        pictures = _show_results(source, images_dir, ids, args)
    out_dir = Path(args.out)
    written = [_save(img, out_dir, name, args.format) for name, img in pictures]
    if args.grid and pictures:
        from ..viz import image_grid

        cols = args.columns or max(1, math.ceil(math.sqrt(len(pictures))))
        widest = max(img.size[0] for _, img in pictures)
        tallest = max(img.size[1] for _, img in pictures)
        cell_w = min(widest, 480 if len(pictures) > 1 else widest)
        cell = (cell_w, max(1, round(tallest * cell_w / widest)))
        written.append(_save(image_grid([img for _, img in pictures], columns=cols, cell=cell), out_dir, "grid", args.format))
    for p in written:
        print(p)
    return 0


def _show_dataset(source: Path, ids: list[int], args: argparse.Namespace) -> list[tuple[str, Any]]:
    from ..viz import draw_annotation, load_image
    from ..viz._draw import add_caption, fit_scale, resized
    from ..viz._files import SplitFiles

    splits = [SplitFiles(d) for d in _dataset_splits(source, args.split)]
    if not ids:
        ids = _pick(splits[0].image_ids(), args.sample, args.seed)
        if not ids:
            raise DatasetError("the split has no images", path=str(splits[0].split_dir))
    out = []
    for image_id in ids:
        sf = next((s for s in splits if s.has_image(image_id) or (s.has_annotations and _has_anno(s, image_id))), None)
        if sf is None:
            where = ", ".join(str(s.split_dir) for s in splits)
            raise DatasetError(f"no image with id {image_id} in {where}", path=str(source))
        ann = sf.annotation(image_id)
        img = load_image(sf.image_path(image_id))
        if ann is None:
            img = resized(img, fit_scale(*img.size, args.max_size))
            pic = add_caption(img, f"{image_id:06d}   (no annotation: {sf.split_dir.name} has no annos/)")
        else:
            pic = draw_annotation(img, ann, **_draw_kwargs(args))
        out.append((f"{image_id:06d}", pic))
    return out


def _has_anno(sf: Any, image_id: int) -> bool:
    try:
        return sf.annotation_path(image_id) is not None
    except DatasetError:
        return False


def _show_results(path: Path, images_dir: Path, ids: list[int], args: argparse.Namespace) -> list[tuple[str, Any]]:
    from ..viz import check_entry, compare, load_image
    from ..viz._files import SplitFiles, iter_result_blocks, load_results

    sf = SplitFiles(images_dir)
    blocks = iter_result_blocks(path)
    first = next(blocks, [])
    if not first:
        raise ResultsError("the results file holds no entries", path=str(path))
    if isinstance(first[0], dict) and "query_image_id" in first[0]:
        blocks.close()
        return _show_retrieval(path, load_results(path), sf, ids, args)
    blocks.close()
    if not ids:  # a first pass for the image ids to pick from
        seen: set[int] = set()
        k = 0
        for block in iter_result_blocks(path):
            for e in block:
                check_entry(e, k, str(path), deep=False)
                k += 1
                seen.add(int(e["image_id"]))
        ids = _pick(list(seen), args.sample, args.seed)
    # keep only the entries of the images drawn (a results file can be larger than memory as objects)
    wanted = set(ids)
    by_image: dict[int, list[Any]] = {}
    k = 0
    for block in iter_result_blocks(path):
        for e in block:
            check_entry(e, k, str(path), deep=False)
            k += 1
            if int(e["image_id"]) in wanted:
                by_image.setdefault(int(e["image_id"]), []).append(e)
    out = []
    for image_id in ids:
        ann = sf.annotation(image_id) if sf.has_annotations else None
        img = load_image(sf.image_path(image_id))
        pic = compare(img, ann, by_image.get(image_id, []), score_threshold=args.score_threshold,
                      **_draw_kwargs(args)) if ann is not None else _pred_only(img, image_id, by_image, args)
        out.append((f"{image_id:06d}_pred", pic))
    return out


def _pred_only(img: Any, image_id: int, by_image: Mapping[int, list[Any]], args: argparse.Namespace) -> Any:
    from ..viz import draw_predictions

    return draw_predictions(img, by_image.get(image_id, []), image_id=image_id, score_threshold=args.score_threshold,
                            **_draw_kwargs(args))


def _show_retrieval(path: Path, entries: list[Any], sf: Any, ids: list[int], args: argparse.Namespace) -> list[tuple[str, Any]]:
    from ..viz import load_image
    from ..viz.retrieval import check_retrieval_entry, retrieval_figure

    by_query: dict[int, list[Mapping[str, Any]]] = {}
    for i, e in enumerate(entries):
        check_retrieval_entry(e, i, str(path))
        if float(e.get("query_score", 1.0)) >= args.score_threshold:
            by_query.setdefault(int(e["query_image_id"]), []).append(e)
    if not ids:
        ids = _pick(list(by_query), args.sample, args.seed)
        if not ids:
            raise ResultsError(f"no retrieval entry with query_score >= {args.score_threshold:g}", path=str(path))
    gt = None
    if sf.has_annotations:
        from ..formats.retrieval import retrieval_ground_truth
        from ..io.scan import scan_split

        gt = retrieval_ground_truth(scan_split(sf.split_dir, None, progress=args.progress))
    cache: dict[int, Any] = {}

    def image(i: int) -> Any:
        if i not in cache:
            cache[i] = load_image(sf.image_path(i))
        return cache[i]

    out = []
    for qid in ids:
        mine = by_query.get(qid, [])
        if not mine:
            raise ResultsError(f"no retrieval entry for query image {qid} with query_score >= {args.score_threshold:g}",
                               path=str(path))
        mine = sorted(mine, key=lambda e: -float(e.get("query_score", 1.0)))[: args.strips]
        out.append((f"{qid:06d}_retrieval", retrieval_figure(mine, image, gt, k=args.k)))
    return out
