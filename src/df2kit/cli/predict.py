"""df2kit predict: run a trained checkpoint over a split or a folder of images."""

from __future__ import annotations

import argparse

from ..errors import DF2Error
from ._common import whole_number

NAME = "predict"
HELP = "detect, find landmarks, segment and match with a trained checkpoint"
DESCRIPTION = """\
Run a checkpoint of `df2kit train` over INPUT: a native split folder (with image/ and
possibly annos/) or any folder of images. DIR gets:
  results.json            one entry per detected item: image_id, category_id, bbox [x,y,w,h],
                          score, keypoints (294 x [x,y,v]), segmentation (compressed RLE) -
                          the detection, landmark and segmentation result file at once
  retrieval_results.json  for each item detected in a user image, the 20 best items detected
                          in the shop images of INPUT (needs annos/ to tell shop from user)
  image_ids.json          when file names are not DeepFashion2 numbers: the ids assigned
  pictures/               with --draw N: N images with the predictions drawn
  summary.json
Score the files with `df2kit evaluate`. Runs on the GPU when there is one (--device)."""
EXAMPLES = """\
df2kit predict runs/r50/checkpoint.pt ~/data/DeepFashion2/validation --out pred/
df2kit predict runs/toy ~/photos --out pred/ --draw 20 --device cpu
df2kit evaluate --task landmarks ~/data/DeepFashion2/validation pred/results.json
"""


_POSITIVE = whole_number(1)
_THREADS = whole_number(0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint.pt of a run (or the run folder)")
    p.add_argument("input", metavar="INPUT", help="a native split folder or a folder of images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--batch-size", type=_POSITIVE, default=4, metavar="N", help="images per batch (default: 4)")
    p.add_argument("--device", default="auto", help="'auto' (GPU when there is one), 'cpu', 'cuda' or 'cuda:N'")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="image-decoding processes (default: 2)")
    p.add_argument("--threads", type=_THREADS, default=0, metavar="N", help="CPU threads torch computes with (default: 0 = one per core; on a busy shared machine 1 can be several times faster)")
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp16", "off"), help="mixed precision (default: auto = on for GPUs)")
    p.add_argument("--score-thresh", type=float, default=None, metavar="X", help="drop detections below this score (default: the checkpoint's, 0.05)")
    p.add_argument("--detections-per-image", type=int, default=None, metavar="N", help="most detections per image (default: the checkpoint's)")
    p.add_argument("--top-k", type=_POSITIVE, default=20, metavar="K", help="shop items listed per query (official: 20)")
    p.add_argument("--gallery-min-score", type=float, default=0.3, metavar="X", help="shop detections below this score stay out of the gallery, except each image's best (default: 0.3)")
    p.add_argument("--no-retrieval", action="store_true", help="do not write retrieval_results.json")
    p.add_argument("--draw", type=int, default=0, metavar="N", help="draw the predictions of the first N images into DIR/pictures/")


def run(args: argparse.Namespace) -> int:
    try:
        from ..engine import predict
    except ImportError as e:
        raise DF2Error(f"df2kit predict needs torch and torchvision ({e.name} is missing): pip install 'df2kit[model]'") from None
    summary = predict(
        args.checkpoint,
        args.input,
        args.out,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
        threads=args.threads,
        amp=args.amp,
        score_thresh=args.score_thresh,
        detections_per_image=args.detections_per_image,
        retrieval=not args.no_retrieval,
        top_k=args.top_k,
        gallery_min_score=args.gallery_min_score,
        draw=args.draw,
        progress=args.progress,
    )
    print(summary.format())
    return 0
