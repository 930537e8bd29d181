"""Synthetic roots shared by the synth tests (written once per session, small images to stay fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from df2kit.synth import synthesize

QUIRKY = {"train": 40, "validation": 90, "test": 6, "seed": 7, "size": 160, "quirks": True}


@pytest.fixture(scope="session")
def quirky_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train 40 / validation 90 / test 6 images at 160 px, with the real files' quirks."""
    root = tmp_path_factory.mktemp("synth-quirky")
    synthesize(root, workers=1, **QUIRKY)  # type: ignore[arg-type]
    return root


@pytest.fixture(scope="session")
def clean_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """validation 36 / test 4 images at 96 px, no quirks, written by one process."""
    root = tmp_path_factory.mktemp("synth-clean")
    synthesize(root, validation=36, test=4, seed=3, size=96, workers=1)
    return root
