"""Module-level ``__getattr__`` for packages whose heavy names (torch-backed) load on first use.

>>> import types
>>> pkg = types.ModuleType("df2kit.layout_alias")
>>> pkg.__getattr__ = lazy_getattr("df2kit", {"CATEGORIES": "layout"})
>>> len(pkg.__getattr__("CATEGORIES"))
13
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A ``__getattr__`` for ``package`` that imports ``package.<table[name]>`` the first time ``name`` is used."""

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(f".{table[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
