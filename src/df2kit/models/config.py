"""The architecture of df2kit's Match R-CNN as one frozen dataclass (no torch import here).

A checkpoint stores its :class:`ModelConfig`, so ``df2kit predict`` rebuilds exactly the network that was
trained. Two presets:

* ``paper`` (the defaults): ResNet-50 FPN at 800/1333 px with the proposal counts of torchvision's Mask R-CNN
  and the matching network of the dataset paper (RoIAlign 7x7x256, three 3x3 convs of 256, a 3x3 conv of
  1024, global average pooling, FC 1024 -> 256 + BN; pair head FC 256 -> 2 on the squared difference).
* ``small``: ResNet-18 FPN with 64 channels at 128 px (192 px at most), fewer proposals, slimmer heads,
  the convolutional box head with batch norm (it learns faster from scratch than two bare fully connected
  layers) and a semantic branch (training only), so that a toy model trains on a laptop CPU. Same streams,
  same losses, same code path.

>>> cfg = ModelConfig.preset("small", min_size=160)
>>> cfg.backbone, cfg.min_size, cfg.embedding_dim
('resnet18', 160, 128)
>>> ModelConfig().embedding_dim
256
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["BACKBONES", "MODEL_PRESETS", "PRESETS", "ModelConfig"]

#: Backbones df2kit can build (torchvision architectures, random or local-file weights).
BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large")


def _f(default: Any, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class ModelConfig:
    """Every architecture choice of the model (see the module docstring for the presets)."""

    backbone: str = _f("resnet50", f"backbone network: {', '.join(BACKBONES)}")
    backbone_norm: str = _f(
        "auto",
        "backbone normalisation: 'frozen' (FrozenBatchNorm, for pretrained weights), 'batch' (BatchNorm, "
        "training from scratch) or 'auto' (frozen when weights are loaded, batch otherwise)",
    )
    trainable_backbone_layers: int | None = _f(
        None, "backbone stages that train, 0-5 (default: 3 with pretrained weights, all without)"
    )
    returned_layers: tuple[int, ...] = _f((1, 2, 3, 4), "backbone stages (1-4) that feed the FPN")
    fpn_channels: int = _f(256, "FPN feature channels (256 in the paper)")
    anchor_sizes: tuple[int, ...] = _f(
        (32, 64, 128, 256, 512), "one anchor size in pixels per FPN level (levels = returned layers + 1)"
    )
    min_size: int = _f(800, "shorter image side after resizing, pixels (unless the longer side would pass max_size)")
    max_size: int = _f(1333, "longest image side after resizing, pixels")
    rpn_pre_nms_top_n_train: int = _f(2000, "RPN proposals kept per level before NMS, training")
    rpn_post_nms_top_n_train: int = _f(2000, "RPN proposals kept after NMS, training")
    rpn_pre_nms_top_n_test: int = _f(1000, "RPN proposals kept per level before NMS, inference")
    rpn_post_nms_top_n_test: int = _f(1000, "RPN proposals kept after NMS, inference")
    rpn_batch_size_per_image: int = _f(256, "anchors sampled per image for the RPN loss")
    box_batch_size_per_image: int = _f(512, "proposals sampled per image for the box, mask and landmark losses")
    box_positive_fraction: float = _f(
        0.25, "largest share of positives among the proposals sampled per image (box_batch_size_per_image)"
    )
    box_head: str = _f(
        "mlp",
        "box head: 'mlp' (two fully connected layers, the paper's Mask R-CNN) or 'conv' (box_head_convs 3x3 convs "
        "with batch norm, then one fully connected layer: torchvision's Mask R-CNN v2 head, which learns faster from "
        "scratch)",
    )
    box_head_convs: int = _f(4, "3x3 convs of the 'conv' box head (4 in torchvision's v2 head)")
    box_head_dim: int = _f(1024, "width of the fully connected layers of the box head")
    box_score_thresh: float = _f(0.05, "detections scoring below this are dropped at inference")
    box_nms_thresh: float = _f(0.5, "per-category NMS IoU at inference")
    detections_per_image: int = _f(100, "most detections kept per image at inference")
    mask_head_channels: int = _f(256, "channels of the mask head's convs")
    mask_head_convs: int = _f(4, "3x3 convs of the mask head (on 14x14 RoI features)")
    landmark_head_channels: int = _f(256, "channels of the landmark head's convs")
    landmark_head_convs: int = _f(
        4, "3x3 convs of the landmark head (on 14x14 RoI features; Keypoint R-CNN uses 8 of 512)"
    )
    heatmap_size: int = _f(56, "landmark heatmap side: 28 (deconv) or 56 (deconv + 2x bilinear)")
    match_channels: int = _f(256, "channels of the matching network's three 3x3 convs (paper: 256)")
    match_hidden: int = _f(1024, "channels of its last 3x3 conv before pooling (paper: 1024)")
    embedding_dim: int = _f(256, "item embedding size (paper: 256)")
    match_rois_per_image: int = _f(8, "proposals per image (IoU above match_iou) that train the matching head")
    match_iou: float = _f(0.7, "IoU with a ground-truth item above which a proposal trains the matching head")
    semantic_head_convs: int = _f(
        0,
        "3x3 convs of the semantic branch, a per-pixel category classifier on the finest FPN level that only "
        "trains the shared features (as in Hybrid Task Cascade; not in the paper; inference never runs it). "
        "0: no branch",
    )

    def __post_init__(self) -> None:
        _check_model(self)

    @classmethod
    def preset(cls, name: str = "paper", **overrides: Any) -> ModelConfig:
        """The named preset (``paper`` or ``small``) with some fields replaced."""
        if name not in MODEL_PRESETS:
            raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(MODEL_PRESETS)}", field="preset")
        values = {**MODEL_PRESETS[name], **overrides}
        return from_dict(cls, values, where="model")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)}

    @property
    def num_levels(self) -> int:
        """FPN levels that RoIs are pooled from (the returned backbone stages)."""
        return len(self.returned_layers)


def _check_model(c: ModelConfig) -> None:
    def bad(name: str, expected: str) -> ConfigError:
        return ConfigError(f"expected {expected}, got {getattr(c, name)!r}", field=name)

    if c.backbone not in BACKBONES:
        raise bad("backbone", "one of " + ", ".join(BACKBONES))
    if c.box_head not in ("mlp", "conv"):
        raise bad("box_head", "'mlp' or 'conv'")
    if c.backbone_norm not in ("auto", "frozen", "batch"):
        raise bad("backbone_norm", "'auto', 'frozen' or 'batch'")
    if c.trainable_backbone_layers is not None and not 0 <= c.trainable_backbone_layers <= 5:
        raise bad("trainable_backbone_layers", "0..5")
    rl = c.returned_layers
    if not rl or list(rl) != sorted(set(rl)) or not all(1 <= v <= 4 for v in rl):
        raise bad("returned_layers", "increasing stage numbers in 1..4")
    if len(c.anchor_sizes) != len(rl) + 1:
        raise bad("anchor_sizes", f"{len(rl) + 1} sizes (one per returned layer plus the pooled level)")
    for name in (
        "fpn_channels", "min_size", "max_size", "rpn_pre_nms_top_n_train", "rpn_post_nms_top_n_train",
        "rpn_pre_nms_top_n_test", "rpn_post_nms_top_n_test", "rpn_batch_size_per_image",
        "box_batch_size_per_image", "box_head_convs", "box_head_dim", "detections_per_image", "mask_head_channels",
        "mask_head_convs", "landmark_head_channels", "match_channels", "match_hidden", "embedding_dim",
        "match_rois_per_image",
    ):
        if getattr(c, name) < 1:
            raise bad(name, "an integer >= 1")
    for name in ("landmark_head_convs", "semantic_head_convs"):
        if getattr(c, name) < 0:
            raise bad(name, "an integer >= 0")
    if c.heatmap_size not in (28, 56):
        raise bad("heatmap_size", "28 or 56")
    for name in ("box_score_thresh", "box_nms_thresh", "match_iou", "box_positive_fraction"):
        if not 0.0 <= getattr(c, name) <= 1.0:
            raise bad(name, "a number in 0..1")


#: Field values of each model preset (fields not named keep the dataclass default = ``paper``).
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "small": {
        "backbone": "resnet18",
        "returned_layers": (2, 3, 4),
        "fpn_channels": 64,
        "anchor_sizes": (16, 32, 64, 128),
        "min_size": 128,
        "max_size": 192,
        "rpn_pre_nms_top_n_train": 600,
        "rpn_post_nms_top_n_train": 300,
        "rpn_pre_nms_top_n_test": 300,
        "rpn_post_nms_top_n_test": 100,
        "rpn_batch_size_per_image": 128,
        "box_batch_size_per_image": 32,
        "box_head": "conv",
        "box_head_convs": 2,
        "box_head_dim": 256,
        "detections_per_image": 20,
        "mask_head_channels": 64,
        "mask_head_convs": 2,
        "landmark_head_channels": 32,
        "landmark_head_convs": 2,
        "heatmap_size": 28,
        "match_channels": 32,
        "match_hidden": 128,
        "embedding_dim": 128,
        "semantic_head_convs": 1,
    },
}
PRESETS = tuple(MODEL_PRESETS)


def _coerce(value: Any, annotation: str, where: str, name: str) -> Any:
    """Check/convert one config value against its field's annotation (as a string: future annotations)."""
    ann = annotation.replace(" ", "")
    optional = ann.endswith("|None")
    base = ann[: -len("|None")] if optional else ann
    if value is None:
        if optional:
            return None
        raise ConfigError(f"expected a value of type {base}, got nothing (null)", item=where, field=name)
    if base == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
    elif base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif base == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif base == "str":
        if isinstance(value, str):
            return value
    elif base == "tuple[int,...]":
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if isinstance(value, (list, tuple)):
            try:
                out = tuple(int(v) for v in value)
                if all(not isinstance(v, bool) for v in value):
                    return out
            except (TypeError, ValueError):
                pass
        base = "a list of integers"
    raise ConfigError(f"expected {base}, got {value!r}", item=where, field=name)


def from_dict(cls: type, values: dict[str, Any], *, where: str) -> Any:
    """Build a config dataclass from a mapping, rejecting unknown keys and checking every type."""
    if not isinstance(values, dict):
        raise ConfigError(f"expected a table of settings, got {type(values).__name__}", item=where)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        import difflib

        hints = [h for u in unknown for h in difflib.get_close_matches(u, fields, n=1)]
        hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)}{hint}",
            item=where,
        )
    kw = {k: _coerce(v, str(fields[k].type), where, k) for k, v in values.items()}
    try:
        return cls(**kw)
    except ConfigError as e:  # a value check of the dataclass: say where the value came from (file, section)
        if e.item is None and e.path is None:
            raise ConfigError(e.message, item=where, field=e.field) from None
        raise
