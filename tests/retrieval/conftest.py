"""Fixtures of the retrieval tests; the builders live in retrieval_cases.py (importable: this folder is put on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from retrieval_cases import make_gt


@pytest.fixture
def tiny_gt():
    """One user image (id 1) with a style-1 and a style-0 item, one shop image (id 100) with the match."""
    return make_gt(
        [
            {"img": 1, "box": [0, 0, 10, 10], "cls": 1, "style": 1, "pair": 7},
            {"img": 1, "box": [20, 20, 30, 30], "cls": 2, "style": 0, "pair": 7},
        ],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7}],
    )
