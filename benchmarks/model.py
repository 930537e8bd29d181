"""Speed and memory of df2kit's Match R-CNN against plain torchvision Mask R-CNN, in one run.

Both models share the backbone, input size, proposal counts, box and mask heads (``plain_mask_rcnn`` builds
torchvision's MaskRCNN from the same ModelConfig); df2kit's adds the landmark stream and the matching
network. Weights are random (nothing is downloaded); the detection score threshold is 0, so every image
yields exactly ``--detections`` detections and both models do the same amount of per-detection work.
With ``--naive`` a third model computes all 294 heatmaps per detection and decodes them with torchvision's
keypoint decoder (the straightforward way), to show what slicing saves.

Each measurement runs in a fresh process, so its peak memory is its own: on a GPU ``max_memory_allocated``,
on the CPU the peak resident memory above what the process held before building the model.

    python benchmarks/model.py                                  # CPU, small preset, 192x128, batch 4
    python benchmarks/model.py --threads 1 --clock cpu          # the same on a busy shared machine
    python benchmarks/model.py --device cuda --preset paper --size 800x608 --batch 8 --amp bf16 \\
        --detections 10 --naive                                 # the issue's GPU setting
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODELS = ("plain", "df2kit", "naive")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _build(kind: str, args: argparse.Namespace):
    import torch

    from df2kit.models import MatchRCNN, ModelConfig, plain_mask_rcnn

    w, h = args.size
    cfg = ModelConfig.preset(
        args.preset,
        min_size=min(w, h),
        max_size=max(w, h),
        detections_per_image=args.detections,
        box_score_thresh=0.0,
        **({"backbone": args.backbone} if args.backbone else {}),
    )
    torch.manual_seed(0)
    if kind == "plain":
        return plain_mask_rcnn(cfg), cfg
    model = MatchRCNN(cfg)
    if kind == "naive":
        _make_naive(model)
    return model, cfg


def _make_naive(model) -> None:
    """Compute all 294 heatmaps per detection and decode them all with torchvision's keypoint decoder (bicubic
    resize to the box, per RoI), then keep the predicted category's slice: the straightforward way."""
    import torch
    from torchvision.models.detection.roi_heads import heatmaps_to_keypoints

    import df2kit.models.match_rcnn as mr
    from df2kit.layout import NUM_LANDMARKS_BY_ID, OFFSET_BY_ID
    from df2kit.models.heads import MAX_K

    pred = model.roi_heads.landmark_predictor
    offsets = torch.tensor(OFFSET_BY_ID.tolist())

    def forward(x, categories):
        full = pred.full(x)
        pred.naive_categories = categories
        if not model.training:
            return full
        out = x.new_zeros((x.shape[0], MAX_K, *full.shape[-2:]))
        for r, c in enumerate(categories.tolist()):
            o, k = int(OFFSET_BY_ID[c]), int(NUM_LANDMARKS_BY_ID[c])
            out[r, :k] = full[r, o : o + k]
        return out

    def decode(full, rois):
        xy, score = heatmaps_to_keypoints(full.float(), rois.float())  # (n, 294, 3): every landmark decoded
        idx = (offsets.to(rois.device)[pred.naive_categories][:, None] + torch.arange(MAX_K, device=rois.device)).clamp(max=293)
        rows = torch.arange(len(rois), device=rois.device)[:, None]
        return xy[rows, idx, :2], score[rows, idx]

    pred.forward = forward
    mr.decode_heatmaps = decode


def _targets(cfg, n_img: int, w: int, h: int, device):
    import torch

    from df2kit.models.heads import MAX_K

    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n_img):
        n = 3
        x1 = torch.rand(n, generator=g) * w * 0.5
        y1 = torch.rand(n, generator=g) * h * 0.5
        bw = w * (0.2 + 0.3 * torch.rand(n, generator=g))
        bh = h * (0.2 + 0.3 * torch.rand(n, generator=g))
        boxes = torch.stack([x1, y1, x1 + bw, y1 + bh], 1)
        masks = torch.zeros(n, h, w, dtype=torch.uint8)
        kp = torch.zeros(n, MAX_K, 3)
        for k in range(n):
            a, b, c, d = (int(v) for v in boxes[k])
            masks[k, b:d, a:c] = 1
            kp[k, :, 0] = boxes[k, 0] + torch.rand(MAX_K, generator=g) * bw[k]
            kp[k, :, 1] = boxes[k, 1] + torch.rand(MAX_K, generator=g) * bh[k]
            kp[k, :, 2] = 2
        out.append(
            {
                "boxes": boxes.to(device),
                "labels": torch.tensor([1, 8, 11])[:n].to(device),
                "masks": masks.to(device),
                "keypoints": kp.to(device),
                "identity": torch.tensor([i // 2, -1, 100 + i]).to(device),
                "source": torch.tensor(i % 2).to(device),
            }
        )
    return out


def worker(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    base = _rss_mib()
    model, cfg = _build(args.model, args)
    model.to(device)
    w, h = args.size
    images = [torch.rand(3, h, w, device=device) for _ in range(args.batch)]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.amp)
    ctx = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else (lambda: torch.autocast(device.type, enabled=False))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    clock = time.process_time if (args.clock == "cpu" and device.type == "cpu") else time.perf_counter
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    dets = 0
    if args.mode == "inference":
        model.eval()
        with torch.no_grad():
            for i in range(args.warmup + args.iters):
                sync()
                t = clock()
                with ctx():
                    out = model(images)
                sync()
                if i >= args.warmup:
                    times.append(clock() - t)
                    dets = sum(len(o["boxes"]) for o in out)
    else:
        model.train()
        targets = _targets(cfg, args.batch, w, h, device)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)
        for i in range(args.warmup + args.iters):
            sync()
            t = clock()
            with ctx():
                losses = model(images, targets)
            total = sum(v.float() for v in losses.values())
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            sync()
            if i >= args.warmup:
                times.append(clock() - t)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    med = statistics.median(times)
    return {"images_per_s": args.batch / med, "peak_mib": peak, "detections_per_image": dets / args.batch, "times": times}


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h or w)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--preset", default="small", choices=("small", "paper"))
    p.add_argument("--backbone", default=None, help="override the preset's backbone")
    p.add_argument("--size", type=_size, default=(192, 128), help="WxH input size (default 192x128, the small preset's)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"))
    p.add_argument("--detections", type=int, default=10, help="detections per image (default 10)")
    p.add_argument("--iters", type=int, default=5, help="timed iterations per measurement (median quoted)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="CPU threads per measurement (default 2)")
    p.add_argument(
        "--clock", default="wall", choices=("wall", "cpu"),
        help="time by the wall clock, or by the process's CPU time (with --threads 1 on a busy shared machine "
        "CPU time is what an idle core would take; GPUs always use the wall clock)",
    )
    p.add_argument("--naive", action="store_true", help="also measure the naive all-294-heatmaps model")
    p.add_argument("--json", action="store_true")
    p.add_argument("--_worker", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._worker:
        args.model, args.mode = args._worker
        print(json.dumps(worker(args)))
        return
    kinds = ["plain", "df2kit"] + (["naive"] if args.naive else [])
    res: dict[tuple[str, str], dict] = {}
    passthrough = [a for a in sys.argv[1:] if a not in ("--json", "--naive")]
    for mode in ("inference", "training"):
        for kind in kinds:
            cmd = [sys.executable, __file__, *passthrough, "--_worker", kind, mode]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{kind} {mode} failed:\n{done.stderr[-3000:]}")
            res[(kind, mode)] = json.loads(done.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps({f"{k}/{m}": v for (k, m), v in res.items()}, indent=2))
        return
    import torch

    w, h = args.size
    dev = args.device if args.device == "cpu" else torch.cuda.get_device_name(torch.device(args.device))
    threads = f", {args.threads} thread{'s' * (args.threads > 1)}, {args.clock} clock" if args.device == "cpu" else ""
    print(
        f"{args.preset} preset ({args.backbone or ('resnet18' if args.preset == 'small' else 'resnet50')} FPN), "
        f"{w}x{h}, batch {args.batch}, {args.detections} detections/image, amp {args.amp}, {dev}{threads}; "
        f"median of {args.iters} iterations after {args.warmup} warm-up"
    )
    cols = ["plain Mask R-CNN", "df2kit Match R-CNN", "df2kit / plain"] + (["naive 294", "naive / plain"] if args.naive else [])
    rows = []
    for label, mode, key in (
        ("inference images/s", "inference", "images_per_s"),
        ("training images/s", "training", "images_per_s"),
        ("inference peak MiB", "inference", "peak_mib"),
        ("training peak MiB", "training", "peak_mib"),
    ):
        a, b = res[("plain", mode)][key], res[("df2kit", mode)][key]
        row = [label, f"{a:.2f}", f"{b:.2f}", f"{b / a:.2f}x"]
        if args.naive:
            c = res[("naive", mode)][key]
            row += [f"{c:.2f}", f"{c / a:.2f}x"]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [["", *cols]]) for i in range(len(cols) + 1)]
    print("  ".join(s.ljust(widths[i]) if i == 0 else s.rjust(widths[i]) for i, s in enumerate(["", *cols])))
    for r in rows:
        print("  ".join(s.ljust(widths[i]) if i == 0 else s.rjust(widths[i]) for i, s in enumerate(r)))
    print(
        "targets: inference >= 0.85x plain, training memory <= 1.2x plain; detections/image: "
        + ", ".join(f"{k} {res[(k, 'inference')]['detections_per_image']:.1f}" for k in kinds)
    )


if __name__ == "__main__":
    main()
