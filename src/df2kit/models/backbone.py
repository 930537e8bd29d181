"""Backbones with a feature pyramid, built from torchvision's architectures; weights only from local files.

df2kit never downloads anything. To start from ImageNet weights, fetch torchvision's published file once
(for ResNet-50: ``https://download.pytorch.org/models/resnet50-0676ba61.pth``; the URL of every architecture is
printed by ``torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url`` and friends) and pass its path.

>>> from df2kit.models.config import ModelConfig
>>> bb = build_backbone(ModelConfig.preset("small"))                  # doctest: +SKIP
>>> bb.out_channels                                                    # doctest: +SKIP
64
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
from torch import nn
from torchvision.models import mobilenet, resnet
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops import misc as misc_nn_ops
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from ..errors import ConfigError
from .config import ModelConfig

__all__ = ["build_backbone", "feature_names", "finest_stride", "load_state_file"]

log = logging.getLogger(__name__)


def feature_names(config: ModelConfig) -> list[str]:
    """Names of the FPN maps that RoIs are pooled from (``"0"``, ``"1"``, ...; the extra ``pool`` level is not)."""
    return [str(i) for i in range(config.num_levels)]


def finest_stride(config: ModelConfig) -> int:
    """Stride in input pixels of the finest FPN map, ``"0"``: returned layer ``k`` has stride ``2 ** (k + 1)``
    (ResNet's layer1..4 and the MobileNet stages picked for them alike)."""
    return 2 ** (config.returned_layers[0] + 1)


def torch_load(path: str | os.PathLike[str], what: str) -> Any:
    """``torch.load`` of a local file (tensors only, on the CPU) with one clear error for a missing or unreadable
    file; ``what`` names it in the message (``"weights"``, ``"checkpoint"``)."""
    p = os.path.expanduser(os.fspath(path))
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found", path=p) from None
    except Exception as e:  # noqa: BLE001 - not a torch file, truncated, pickle refused: torch raises many kinds
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"cannot read {what}: not a PyTorch file or damaged ({first})", path=p) from None


def load_state_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``.pth``/``.pt`` file of weights into a state dict (a df2kit checkpoint gives its ``model``)."""
    p = os.fspath(path)
    obj = torch_load(p, "weights")
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError("expected a state dict (parameter name -> tensor)", path=p)
    return obj


def _load_classifier_weights(net: nn.Module, path: str, skip_prefix: tuple[str, ...]) -> None:
    """Load ImageNet classification weights into ``net``; every non-classifier parameter must be found."""
    state = load_state_file(path)
    own = net.state_dict()
    take = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if not k.startswith(skip_prefix) and k not in take and not k.endswith("num_batches_tracked")]
    if missing:
        raise ConfigError(
            f"these weights do not fit the backbone: {len(missing)} of its tensors are missing or have another "
            f"shape (first: {missing[0]}); is it the file of the same architecture?",
            path=path,
        )
    net.load_state_dict(take, strict=False)
    log.info("loaded %d backbone tensors from %s", len(take), path)


def resolve_norm(config: ModelConfig, pretrained: bool) -> str:
    """``frozen`` or ``batch`` for this config, given whether weights will be loaded."""
    if config.backbone_norm != "auto":
        return config.backbone_norm
    return "frozen" if pretrained else "batch"


def build_backbone(config: ModelConfig, *, backbone_weights: str | None = None, pretrained: bool = False) -> BackboneWithFPN:
    """The backbone + FPN of ``config``; ``backbone_weights`` is a local ImageNet state-dict file.

    ``pretrained`` says that weights will be loaded into the whole model afterwards (``--weights``): it picks
    frozen batch norm and freezes early stages exactly as with ``backbone_weights``.
    """
    trained = pretrained or backbone_weights is not None
    norm = resolve_norm(config, trained)
    norm_layer = misc_nn_ops.FrozenBatchNorm2d if norm == "frozen" else nn.BatchNorm2d
    trainable = config.trainable_backbone_layers
    if trainable is None:
        trainable = 3 if trained else 5
    extra = LastLevelMaxPool()
    if config.backbone.startswith("resnet"):
        net = getattr(resnet, config.backbone)(weights=None, norm_layer=norm_layer)
        if backbone_weights is not None:
            _load_classifier_weights(net, backbone_weights, ("fc.",))
        layers = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable]
        if trainable == 5:
            layers.append("bn1")
        for name, p in net.named_parameters():
            if not any(name.startswith(layer) for layer in layers):
                p.requires_grad_(False)
        stage2 = net.inplanes // 8
        rl = list(config.returned_layers)
        return BackboneWithFPN(
            net,
            {f"layer{k}": str(i) for i, k in enumerate(rl)},
            [stage2 * 2 ** (k - 1) for k in rl],
            config.fpn_channels,
            extra_blocks=extra,
        )
    if config.backbone == "mobilenet_v3_large":
        full = mobilenet.mobilenet_v3_large(weights=None, norm_layer=norm_layer)
        if backbone_weights is not None:
            _load_classifier_weights(full, backbone_weights, ("classifier.",))
        feats = full.features
        stages = [0] + [i for i, b in enumerate(feats) if getattr(b, "_is_cn", False)] + [len(feats) - 1]
        n = len(stages)
        # returned_layers 1..4 pick the last four stages (stride 4, 8, 16, 32), as ResNet's layer1..4
        picks = [stages[n - 5 + k] for k in config.returned_layers]
        freeze_before = len(feats) if trainable == 0 else stages[max(0, n - trainable)]
        for b in feats[:freeze_before]:
            for p in b.parameters():
                p.requires_grad_(False)
        return BackboneWithFPN(
            feats,
            {str(k): str(i) for i, k in enumerate(picks)},
            [feats[k].out_channels for k in picks],
            config.fpn_channels,
            extra_blocks=extra,
        )
    raise ConfigError(f"unknown backbone {config.backbone!r}", field="backbone")  # pragma: no cover
