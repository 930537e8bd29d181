"""Match R-CNN for DeepFashion2 on torchvision (needs the ``model`` extra: ``pip install 'df2kit[model]'``).

This package and :mod:`df2kit.engine` are the only parts of df2kit that import torch. Importing
``df2kit.models`` itself is cheap: torch is imported when a torch-backed name is first used.

>>> from df2kit.models import ModelConfig
>>> ModelConfig.preset("small").backbone
'resnet18'
>>> from df2kit.models import MatchRCNN                       # doctest: +SKIP
>>> model = MatchRCNN(ModelConfig.preset("small"))           # doctest: +SKIP
"""

from __future__ import annotations

from .._lazy import lazy_getattr
from .config import BACKBONES, PRESETS, ModelConfig

__all__ = ["BACKBONES", "LOSS_NAMES", "PRESETS", "MatchRCNN", "ModelConfig", "load_weights", "plain_mask_rcnn"]

_LAZY = {
    "MatchRCNN": "match_rcnn",
    "plain_mask_rcnn": "match_rcnn",
    "LOSS_NAMES": "match_rcnn",
    "load_weights": "weights",
}


__getattr__ = lazy_getattr(__name__, _LAZY)
