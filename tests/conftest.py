"""Suite-wide settings: each test run gets its own scan cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DF2KIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "df2kit-cache"))
