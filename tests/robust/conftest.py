"""Shared fixtures of the robustness tests: the tiny ground truth the broken results files are scored on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

RESULTS = Path(__file__).resolve().parents[1] / "fixtures" / "results"
NATIVE = Path(__file__).resolve().parents[1] / "fixtures" / "native"


@pytest.fixture(scope="session")
def results_gt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fixtures/results/gt as a split folder with its two 256 x 192 images."""
    d = tmp_path_factory.mktemp("results-gt") / "validation"
    shutil.copytree(RESULTS / "gt" / "annos", d / "annos")
    (d / "image").mkdir()
    for stem in ("000001", "000002"):
        Image.new("RGB", (256, 192), (90, 120, 150)).save(d / "image" / f"{stem}.jpg")
    return d
