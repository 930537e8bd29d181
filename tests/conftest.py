"""Suite-wide settings: each test run gets its own scan cache folder, and property tests are reproducible.

Hypothesis draws the same examples on every run (``derandomize``), so a CI run can only fail on a change of
the code, not on the luck of the draw. Set ``DF2KIT_HYPOTHESIS_SCALE`` (e.g. 20) for a long, random hunt:
every failure it finds becomes a pinned test in ``tests/robust/test_regressions.py``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("df2kit-suite", derandomize=True)
settings.register_profile("df2kit-hunt", derandomize=False)
settings.load_profile("df2kit-hunt" if int(os.environ.get("DF2KIT_HYPOTHESIS_SCALE", "1")) > 1 else "df2kit-suite")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DF2KIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "df2kit-cache"))
