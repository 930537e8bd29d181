"""Checkpoints: written atomically, read safely (``torch.load(weights_only=True)``), self-describing.

A checkpoint is a dict: ``format`` ("df2kit-match-rcnn"), ``version``, ``df2kit_version``, ``config`` (the
TrainConfig as a dict, so the architecture can be rebuilt), ``model`` (state dict), ``optimizer``,
``scheduler``, ``scaler``, ``epoch`` (epochs completed), ``step`` (optimizer steps done) and ``rng``.

>>> model, config = load_model("runs/toy/checkpoint.pt")          # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .._atomic import atomic_open
from ..errors import ConfigError
from ..models.backbone import torch_load
from ..models.match_rcnn import MatchRCNN
from .config import TrainConfig

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "load_model", "read_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "df2kit-match-rcnn"
CHECKPOINT_NAME = "checkpoint.pt"
_VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (plus format fields) to ``path`` atomically."""
    p = Path(path)
    payload = {"format": CHECKPOINT_FORMAT, "version": _VERSION, "df2kit_version": __version__, **state}
    with atomic_open(p, "wb") as f:
        torch.save(payload, f)
    return p


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a df2kit checkpoint (a run folder means its ``checkpoint.pt``); clear errors for anything else."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    ck = torch_load(p, "checkpoint")
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(
            "not a df2kit checkpoint (to start from torchvision weights use `df2kit train --weights FILE`)",
            path=str(p),
        )
    if int(ck.get("version", 0)) > _VERSION:
        raise ConfigError(f"checkpoint format {ck.get('version')} is newer than this df2kit reads", path=str(p))
    return ck


def load_model(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> tuple[MatchRCNN, TrainConfig]:
    """The trained model of a checkpoint (in eval mode) and the config it was trained with."""
    ck = read_checkpoint(path)
    config = TrainConfig.from_dict(ck["config"])
    model = MatchRCNN(config.model, pretrained=_trained_norm(config))
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), config


def _trained_norm(config: TrainConfig) -> bool:
    """Whether the run built its backbone for loaded weights (frozen batch norm, frozen early stages)."""
    return config.weights is not None or config.backbone_weights is not None
