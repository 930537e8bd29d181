"""df2kit train: train the Match R-CNN baseline (torch is imported only when the command runs)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..engine.config import LossWeights, TrainConfig, build_config
from ..errors import ConfigError, DF2Error
from ..models.config import MODEL_PRESETS, ModelConfig

NAME = "train"
HELP = "train the Match R-CNN baseline (detect, landmarks, segment, match)"
DESCRIPTION = """\
Train df2kit's Match R-CNN (Mask R-CNN with FPN + a landmark head + the matching network
of the DeepFashion2 paper) on a native split, real or synthetic. Batches are shop/user
image couples sharing a pair_id. RUN_DIR gets checkpoint.pt (every epoch; --resume
continues), metrics.jsonl, loss_curves.png, config.json, summary.json and eval/ (the
validation split's result files and scores, at the end; as AP ranks detections, they are
kept down to score 0.001, at most 100 per image, whatever --box-score-thresh says).

Settings: --preset (paper: ResNet-50 FPN at 800 px; small: ResNet-18 FPN at 128 px, CPU
friendly), then --config FILE (TOML or YAML; [model] and [loss] sections), then flags.
Every setting has a flag; unknown keys in a file are errors.

Pretrained weights are never downloaded. To start from torchvision's, download once and
pass the file:
  ImageNet ResNet-50: https://download.pytorch.org/models/resnet50-0676ba61.pth
                      -> --backbone-weights resnet50-0676ba61.pth
  COCO Mask R-CNN:    https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth
                      -> --weights maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth
(the URL of any torchvision weights: python -c "import torchvision; print(torchvision.models.
ResNet18_Weights.IMAGENET1K_V1.url)").

Several GPUs or machines: torchrun --nproc_per_node N -m df2kit train ... (one process per
GPU; --pairs-per-batch is per process). Several CPU cores: --processes N starts N processes of
one thread here (gloo), which trains a small model faster than one process of N threads.

Needs the model extra: pip install 'df2kit[model]'."""
EXAMPLES = """\
df2kit train ~/data/DeepFashion2 --out runs/r50 --backbone-weights resnet50-0676ba61.pth
df2kit train synth --out runs/toy --preset small --epochs 8
df2kit train synth --out runs/toy --config run.toml --loss-landmark 0.5 --lr 0.001
df2kit train synth --out runs/toy --resume
df2kit train synth --out runs/cpu2 --preset small --processes 2 --pairs-per-batch 1   # 2 cores, batch of 4 images
torchrun --nproc_per_node 8 -m df2kit train ~/data/DeepFashion2 --out runs/r50x8 --weights maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth
"""

# fields given positionally or handled by hand
_SPECIAL = {"root", "out", "preset", "resume", "model", "loss"}


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v)
    return str(v)


def _flag_help(f: dataclasses.Field[Any], small: Any) -> str:
    h = f.metadata.get("help", "")
    default = f.default if f.default is not dataclasses.MISSING else None
    if small is not None and small != default:
        return f"{h} (paper: {_fmt(default)}; small: {_fmt(small)})"
    return f"{h} (default: {_fmt(default)})" if default is not None else h


def _add_field(group: Any, f: dataclasses.Field[Any], dest: str, flag: str, small: Any) -> None:
    kind = str(f.type).replace(" ", "")
    if kind.startswith("bool"):
        group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=_flag_help(f, small))
    else:
        metavar = {"int": "N", "float": "X", "str": "NAME", "tuple[int,...]": "N,N,..."}.get(kind.removesuffix("|None"), "V")
        if f.name.endswith("weights") or f.name == "root":
            metavar = "FILE"
        group.add_argument(flag, dest=dest, default=None, metavar=metavar, help=_flag_help(f, small))


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..engine.config import LOSS_PRESETS, TRAIN_PRESETS

    p.usage = "df2kit train ROOT --out RUN_DIR [--config FILE] [--preset {paper,small}] [--resume] [options]"
    p.add_argument("root", metavar="ROOT", help="DeepFashion2 root (with train/ and validation/) or a split folder")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder (created; must be new unless --resume)")
    p.add_argument("--config", metavar="FILE", help="settings file (.toml, .yaml or .yml)")
    p.add_argument("--preset", choices=tuple(TRAIN_PRESETS), default=None, help="starting point for every setting (default: paper)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its last checkpoint")
    g = p.add_argument_group("training")
    for f in dataclasses.fields(TrainConfig):
        if f.name not in _SPECIAL:
            _add_field(g, f, f"t__{f.name}", "--" + f.name.replace("_", "-"), TRAIN_PRESETS["small"].get(f.name))
    g = p.add_argument_group("model (also the [model] section of --config)")
    for f in dataclasses.fields(ModelConfig):
        _add_field(g, f, f"m__{f.name}", "--" + f.name.replace("_", "-"), MODEL_PRESETS["small"].get(f.name))
    g = p.add_argument_group("loss weights (also the [loss] section of --config)")
    for f in dataclasses.fields(LossWeights):
        _add_field(g, f, f"l__{f.name}", "--loss-" + f.name.replace("_", "-"), LOSS_PRESETS["small"].get(f.name))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that the parsed flags (and --config file) describe."""
    over: dict[str, Any] = {"root": args.root, "out": args.out}
    if args.resume:
        over["resume"] = True
    for key, value in vars(args).items():
        if value is None:
            continue
        if key.startswith("t__"):
            over[key[3:]] = value
        elif key.startswith("m__"):
            over["model." + key[3:]] = value
        elif key.startswith("l__"):
            over["loss." + key[3:]] = value
    return build_config(preset=args.preset, file=args.config, overrides=over)


def run(args: argparse.Namespace) -> int:
    import sys

    try:
        config = config_from_args(args)
    except ConfigError as e:
        print(f"df2kit train: error: {e}", file=sys.stderr)
        return 2
    try:
        from ..engine import read_summary, train
    except ImportError as e:
        raise DF2Error(f"df2kit train needs torch and torchvision ({e.name} is missing): pip install 'df2kit[model]'") from None
    run_dir = train(config, progress=args.progress)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(read_summary(run_dir).format())
    return 0
