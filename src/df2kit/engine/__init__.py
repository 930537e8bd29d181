"""Training and inference for df2kit's Match R-CNN (needs ``pip install 'df2kit[model]'``).

>>> from df2kit.engine import build_config, train, predict              # doctest: +SKIP
>>> run_dir = train(build_config(preset="small", overrides={"root": "synth", "out": "runs/toy"}))  # doctest: +SKIP
>>> summary = predict(run_dir / "checkpoint.pt", "synth/validation", "pred/")                     # doctest: +SKIP
>>> summary.detections, summary.results_path                                                       # doctest: +SKIP

Importing this package is cheap; torch is imported when :func:`train` or :func:`predict` is first used.
"""

from __future__ import annotations

from .._lazy import lazy_getattr
from .config import LossWeights, TrainConfig, build_config, load_config_file

__all__ = [
    "LossWeights",
    "PredictSummary",
    "TrainConfig",
    "TrainSummary",
    "build_config",
    "load_config_file",
    "load_model",
    "predict",
    "read_summary",
    "train",
]

_LAZY = {
    "train": "trainer",
    "TrainSummary": "trainer",
    "read_summary": "trainer",
    "predict": "predictor",
    "PredictSummary": "predictor",
    "load_model": "checkpoint",
}


__getattr__ = lazy_getattr(__name__, _LAZY)
