"""Training settings: one frozen dataclass, from a preset, a YAML or TOML file and command-line flags.

Precedence: the preset (``paper`` or ``small``), then the file, then flags. Unknown keys are errors that
name the key (and the closest known one). A file looks like::

    # run.toml
    preset = "small"
    epochs = 8
    lr = 0.002

    [model]            # any field of df2kit.models.ModelConfig
    min_size = 256

    [loss]             # loss weights
    landmark = 0.5

or the same as YAML (``model:`` and ``loss:`` mappings). No torch import here: ``df2kit train --help`` and
config checks work without the model stack.

>>> cfg = build_config(preset="small", overrides={"epochs": 3, "model.min_size": 192, "loss.match": 0.5})
>>> cfg.epochs, cfg.model.min_size, cfg.loss.match, cfg.model.backbone
(3, 192, 0.5, 'resnet18')
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models.config import MODEL_PRESETS, ModelConfig, _f, from_dict

__all__ = ["LOSS_PRESETS", "TRAIN_PRESETS", "LossWeights", "TrainConfig", "build_config", "load_config_file"]


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss in the total (the paper never published its weights; 1.0 each by default, and in
    the ``paper`` preset; the ``small`` preset weighs landmarks and matching 0.1, see :data:`LOSS_PRESETS`)."""

    objectness: float = _f(1.0, "weight of the RPN objectness loss")
    rpn_box_reg: float = _f(1.0, "weight of the RPN box regression loss")
    classifier: float = _f(1.0, "weight of the box classification loss")
    box_reg: float = _f(1.0, "weight of the box regression loss")
    mask: float = _f(1.0, "weight of the mask loss")
    landmark: float = _f(1.0, "weight of the landmark heatmap loss")
    match: float = _f(1.0, "weight of the matching (pair) loss")
    semantic: float = _f(1.0, "weight of the semantic branch's per-pixel category loss (model.semantic_head_convs > 0)")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not v >= 0.0:
                raise ConfigError(f"expected a weight >= 0, got {v!r}", item="loss", field=f.name)

    def of(self, loss_name: str) -> float:
        """Weight of a model loss key (``loss_landmark`` -> ``landmark``)."""
        return float(getattr(self, loss_name.removeprefix("loss_")))

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``df2kit train`` does (flags: ``--name-with-dashes``; model fields and ``--loss-NAME`` too)."""

    root: str | None = _f(None, "DeepFashion2 root (with train/ and validation/) or a split folder")
    out: str | None = _f(None, "run folder: checkpoints, metrics.jsonl, loss_curves.png, eval/")
    preset: str = _f("paper", "starting point for every setting: 'paper' (ResNet-50 FPN, 800 px) or 'small'")
    train_split: str = _f("train", "split folder under ROOT to train on")
    val_split: str | None = _f("validation", "split to evaluate on at the end ('' or 'none' to skip)")
    epochs: int = _f(12, "passes over the training couples")
    pairs_per_batch: int = _f(8, "shop/user image couples per batch and process (a batch is twice as many images)")
    grad_accum: int = _f(1, "batches whose gradients add up before each optimizer step")
    optimizer: str = _f("sgd", "'sgd' (momentum) or 'adamw'")
    lr: float = _f(0.02, "peak learning rate")
    momentum: float = _f(0.9, "SGD momentum")
    weight_decay: float = _f(1e-4, "weight decay")
    warmup_steps: int = _f(500, "optimizer steps of linear warm-up")
    schedule: str = _f("cosine", "learning-rate decay after warm-up: 'cosine', 'step' (x0.1 at 2/3 and 8/9) or 'constant'")
    clip_grad_norm: float = _f(0.0, "clip the gradient norm to this value (0: no clipping)")
    amp: str = _f("auto", "mixed precision: 'auto' (bf16 or fp16 on GPU, off on CPU), 'bf16', 'fp16' or 'off'")
    device: str = _f("auto", "'auto', 'cpu', 'cuda' or 'cuda:N' (torchrun sets one GPU per process)")
    workers: int = _f(2, "data-loading processes per training process (0: load in the main process)")
    threads: int = _f(
        0, "CPU threads torch computes with, per process (0: torch's default, one per core; on a busy shared "
        "machine 1 can be several times faster)"
    )
    processes: int = _f(
        1, "training processes to start on this machine, on the CPU (gloo; each takes every n-th batch, as with "
        "torchrun): on a small model N processes of one thread train faster than one process of N threads. "
        "pairs_per_batch is per process. For GPUs or several machines start torchrun instead"
    )
    seed: int = _f(0, "seed of weights, batch order and augmentation")
    hflip: float = _f(0.5, "probability of a horizontal flip (landmarks swap sides with the layout's flip pairs)")
    weights: str | None = _f(None, "local file of full-model weights: a df2kit checkpoint or torchvision's COCO Mask R-CNN")
    backbone_weights: str | None = _f(None, "local file of ImageNet weights for the backbone (torchvision's .pth)")
    max_train_images: int | None = _f(None, "use only the first N training images (quick runs)")
    max_val_images: int | None = _f(None, "evaluate on only the first N validation images")
    eval_batch_size: int = _f(4, "images per batch when evaluating")
    log_every: int = _f(10, "write a metrics line every N optimizer steps")
    evaluate: bool = _f(True, "evaluate on val_split at the end of training")
    resume: bool = _f(False, "continue the run in OUT from its last checkpoint")
    model: ModelConfig = field(default_factory=ModelConfig, metadata={"help": "the architecture"})
    loss: LossWeights = field(default_factory=LossWeights, metadata={"help": "loss weights"})

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"expected {expected}, got {getattr(self, name)!r}", field=name)

        if self.preset not in TRAIN_PRESETS:
            raise bad("preset", "one of " + ", ".join(TRAIN_PRESETS))
        for name in ("epochs", "pairs_per_batch", "grad_accum", "eval_batch_size", "log_every", "processes"):
            if getattr(self, name) < 1:
                raise bad(name, "an integer >= 1")
        for name in ("warmup_steps", "workers", "threads"):
            if getattr(self, name) < 0:
                raise bad(name, "an integer >= 0")
        for name in ("max_train_images", "max_val_images"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise bad(name, "an integer >= 1")
        if self.optimizer not in ("sgd", "adamw"):
            raise bad("optimizer", "'sgd' or 'adamw'")
        if self.schedule not in ("cosine", "step", "constant"):
            raise bad("schedule", "'cosine', 'step' or 'constant'")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise bad("amp", "'auto', 'bf16', 'fp16' or 'off'")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise bad("device", "'auto', 'cpu', 'cuda' or 'cuda:N'")
        if not 0.0 <= self.hflip <= 1.0:
            raise bad("hflip", "a probability in 0..1")
        if not self.lr > 0:
            raise bad("lr", "a number > 0")
        if self.weight_decay < 0 or self.momentum < 0 or self.clip_grad_norm < 0:
            raise ConfigError("expected weight_decay, momentum and clip_grad_norm >= 0")
        if self.val_split is not None and self.val_split.lower() in ("", "none"):
            object.__setattr__(self, "val_split", None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to_dict() if hasattr(v, "to_dict") else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (as stored in checkpoints)."""
        data = dict(data)
        model = from_dict(ModelConfig, data.pop("model", {}), where="model")
        loss = from_dict(LossWeights, data.pop("loss", {}), where="loss")
        base = from_dict(_Flat, data, where="config")
        return cls(**{**_flat_values(base), "model": model, "loss": loss})


#: Training-setting values of each preset (model fields come from df2kit.models.config.MODEL_PRESETS).
TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "small": {
        "epochs": 8,
        "pairs_per_batch": 2,
        "optimizer": "adamw",
        "lr": 0.001,
        "weight_decay": 1e-4,
        "warmup_steps": 50,
        "clip_grad_norm": 10.0,
        "workers": 1,
        "log_every": 5,
    },
}

#: Loss weights of each preset (weights not named stay 1.0). From scratch at the demo's budget, the landmark
#: heatmap loss (a cross-entropy over 784 cells, about 5 at the start against about 0.5 for the classifier)
#: outweighed the detection losses in the shared features; at 0.1 with matching, the demo's box AP50 rose from
#: 0.079 to 0.184 and its landmark AP50 from 0.001 to 0.031 (README, model section).
LOSS_PRESETS: dict[str, dict[str, float]] = {
    "paper": {},
    "small": {"landmark": 0.1, "match": 0.1},
}

_NESTED = ("model", "loss")


def _flat_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in _NESTED]


# A flat twin of TrainConfig (no nested sections, no checks) used to type-check the top level of a file.
_Flat = dataclasses.make_dataclass(
    "_Flat", [(f.name, f.type, dataclasses.field(default=f.default)) for f in _flat_fields()]
)


def _flat_values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) settings file into a dict (not yet checked)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found", path=str(p)) from None
    except OSError as e:
        raise ConfigError(f"cannot read config file: {e.strerror or e}", path=str(p)) from None
    suffix = p.suffix.lower()
    if suffix == ".toml":
        try:
            import tomllib  # type: ignore[import-not-found,unused-ignore]
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"invalid TOML: {e}", path=str(p)) from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ModuleNotFoundError:
            raise ConfigError("YAML config files need PyYAML: pip install pyyaml (or use TOML)", path=str(p)) from None
        try:
            data = yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ConfigError(f"invalid YAML: {str(e).splitlines()[0]}", path=str(p)) from None
        if data is None:
            data = {}
    else:
        raise ConfigError(f"expected a .toml, .yaml or .yml file, got {p.suffix or 'no extension'!r}", path=str(p))
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of settings at the top level, got {type(data).__name__}", path=str(p))
    return data


def _split_keys(values: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Top-level, model and loss settings of a file or of ``model.x``/``loss.x`` override keys."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"model": {}, "loss": {}}
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    loss_fields = {f.name for f in dataclasses.fields(LossWeights)}
    for k, v in values.items():
        if k in _NESTED:
            if not isinstance(v, dict):
                raise ConfigError(f"expected a table of {k} settings, got {v!r}", item=where, field=k)
            nested[k].update(v)
        elif "." in k and k.split(".", 1)[0] in _NESTED:
            sec, name = k.split(".", 1)
            nested[sec][name] = v
        elif k in model_fields and k not in {f.name for f in _flat_fields()}:
            raise ConfigError(f"{k!r} is a model setting: put it under [model] (YAML: model:)", item=where, field=k)
        elif k in loss_fields:
            raise ConfigError(f"{k!r} is a loss weight: put it under [loss] (YAML: loss:)", item=where, field=k)
        else:
            top[k] = v
    return top, nested["model"], nested["loss"]


def build_config(
    *,
    preset: str | None = None,
    file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Preset, then file, then ``overrides`` (``{"epochs": 3, "model.min_size": 256, "loss.mask": 2}``).

    ``preset`` given here wins over a ``preset`` key in the file.
    """
    file_vals: dict[str, Any] = load_config_file(file) if file is not None else {}
    where_file = os.fspath(file) if file is not None else "config"
    f_top, f_model, f_loss = _split_keys(file_vals, where_file)
    o_top, o_model, o_loss = _split_keys(dict(overrides or {}), "options")
    name = preset or o_top.pop("preset", None) or f_top.get("preset") or "paper"
    if name not in TRAIN_PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(TRAIN_PRESETS)}", field="preset")
    f_top.pop("preset", None)
    o_top.pop("preset", None)
    # check the file's keys on their own first, so an error names the file
    from_dict(_Flat, f_top, where=where_file)
    from_dict(ModelConfig, {**MODEL_PRESETS[name], **f_model}, where=f"{where_file}: model")
    from_dict(LossWeights, {**LOSS_PRESETS[name], **f_loss}, where=f"{where_file}: loss")
    top = {**TRAIN_PRESETS[name], **f_top, **o_top, "preset": name}
    flat = from_dict(_Flat, top, where="options")
    model = from_dict(ModelConfig, {**MODEL_PRESETS[name], **f_model, **o_model}, where="model")
    loss = from_dict(LossWeights, {**LOSS_PRESETS[name], **f_loss, **o_loss}, where="loss")
    return TrainConfig(**{**_flat_values(flat), "model": model, "loss": loss})
