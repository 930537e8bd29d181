"""Fixtures of the model tests: synthetic splits (df2kit.synth), a tiny architecture, an untrained checkpoint.

The test modules skip cleanly when torch is not installed (``pytest.importorskip`` at their top); nothing
here imports torch at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

#: Overrides that make the ``small`` preset tiny: tests run many forward/backward passes on 2 CPU cores.
TINY: dict[str, Any] = {
    "model.min_size": 96,
    "model.max_size": 96,
    "model.fpn_channels": 32,
    "model.anchor_sizes": (16, 32, 64, 128),
    "model.box_head_dim": 64,
    "model.mask_head_channels": 32,
    "model.mask_head_convs": 1,
    "model.landmark_head_channels": 32,
    "model.landmark_head_convs": 1,
    "model.match_channels": 32,
    "model.match_hidden": 64,
    "model.embedding_dim": 32,
    "model.rpn_pre_nms_top_n_train": 200,
    "model.rpn_post_nms_top_n_train": 100,
    "model.rpn_pre_nms_top_n_test": 100,
    "model.rpn_post_nms_top_n_test": 50,
    "model.box_batch_size_per_image": 32,
    "model.detections_per_image": 8,
    "workers": 0,
    "pairs_per_batch": 2,
    "warmup_steps": 2,
    "log_every": 1,
}


def tiny_config(root: Path | str | None, out: Path | str | None, **over: Any) -> Any:
    from df2kit.engine import build_config

    return build_config(preset="small", overrides={**TINY, "root": str(root), "out": str(out), **over})


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic root with a small train and validation split (128 px images)."""
    from df2kit.synth import synthesize

    root = tmp_path_factory.mktemp("synth") / "root"
    synthesize(root, train=24, validation=12, seed=3, size=128, workers=1)
    return root


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of an untrained tiny model (detections are random, formats are what matters)."""
    import torch

    from df2kit.engine.checkpoint import save_checkpoint
    from df2kit.models import MatchRCNN

    cfg = tiny_config("unused", "unused", **{"model.box_score_thresh": 0.0})
    torch.manual_seed(0)
    model = MatchRCNN(cfg.model)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(), "epoch": 0, "step": 0})
    return path


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """One intra-op thread per test process: the suite runs two processes on two cores (pytest -n 2), and
    more threads than cores only spin."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
