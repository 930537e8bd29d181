"""Start a model from a local weights file: a df2kit checkpoint or torchvision's COCO Mask R-CNN weights.

df2kit never downloads weights. torchvision publishes its COCO Mask R-CNN (ResNet-50 FPN) at
``https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth`` (the URL is also printed by
``torchvision.models.detection.MaskRCNN_ResNet50_FPN_Weights.COCO_V1.url``). Fetch it once with any tool and
pass the file: every tensor whose name and shape match is loaded (backbone, FPN, RPN, box and mask heads);
the class-specific layers (91 COCO classes vs 13 + background) and df2kit's own heads start fresh.

>>> report = load_weights(model, "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth")   # doctest: +SKIP
>>> report.loaded, report.skipped[:2]                                         # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from torch import nn

from ..errors import ConfigError
from .backbone import load_state_file

__all__ = ["WeightsReport", "load_weights"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`load_weights` did: tensors loaded, and the model's tensors left as they were."""

    path: str
    loaded: int
    skipped: tuple[str, ...]  #: model tensors not found in the file, or found with another shape

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "loaded": self.loaded, "skipped": list(self.skipped)}


def load_weights(model: nn.Module, path: str | os.PathLike[str]) -> WeightsReport:
    """Load every tensor of ``path`` whose name and shape fit ``model``; error when none fits."""
    p = os.fspath(path)
    state = load_state_file(p)
    own = model.state_dict()
    take = {k: v for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    if not take:
        raise ConfigError(
            "no tensor of this file fits the model (is it a Mask R-CNN or df2kit checkpoint of the same backbone?)",
            path=p,
        )
    model.load_state_dict(take, strict=False)
    skipped = tuple(k for k in own if k not in take and not k.endswith("num_batches_tracked"))
    log.info("loaded %d tensors from %s; %d model tensors start fresh", len(take), p, len(skipped))
    return WeightsReport(p, len(take), skipped)
