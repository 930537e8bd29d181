"""The examples in the synth modules' docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "df2kit.synth",
    "df2kit.synth.generate",
    "df2kit.synth.templates",
    "df2kit.synth.identity",
    "df2kit.synth.render",
    "df2kit.synth.attributes",
    "df2kit.synth._geometry",
    "df2kit.synth._preview",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
