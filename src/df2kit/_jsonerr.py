"""Say where a JSON list of entries is broken when orjson refuses it: the entry and the field, not only a byte.

Two defects come from users' own code and deserve a precise message: ``NaN``/``Infinity`` (Python's
``json.dump`` writes them for a float that is nan or inf; they are not JSON) and bytes that are not UTF-8.
Both are located by reading the text again with a forgiving reader, on the error path only.

>>> explain_json_list(b'[{"score": 1}, {"score": NaN}]', ValueError("x"), item=lambda i: f"entry {i}")
("NaN is not valid JSON (Python's json.dump writes it for a float nan or inf): expected a finite number", 'entry 1', 'score')
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

__all__ = ["explain_json_list"]

_NONFINITE = re.compile(rb"-?(?:NaN|Infinity)")


def _find(value: Any, hit: Callable[[Any], bool], path: str = "") -> str | None:
    """The path (``bbox[2]``, ``segmentation.size``) of the first part of ``value`` where ``hit`` is true."""
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            shown = key.replace("\ufffd", "?")  # a key with a byte that is not UTF-8
            sub = f"{path}.{shown}" if path else shown
            if hit(key):
                return sub
            found = _find(v, hit, sub)
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for j, v in enumerate(value):
            found = _find(v, hit, f"{path}[{j}]")
            if found is not None:
                return found
        return None
    return path if hit(value) else None


def _locate(data: Any, hit: Callable[[Any], bool], item: Callable[[int], str]) -> tuple[str | None, str | None]:
    if not isinstance(data, list):
        return None, None
    for i, e in enumerate(data):
        field = _find(e, hit)
        if field is not None:
            return item(i), field or None
    return None, None


def _line_col(raw: bytes, pos: int) -> str:
    line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def explain_json_list(
    raw: bytes, exc: Exception, *, item: Callable[[int], str]
) -> tuple[str, str | None, str | None]:
    """``(message, item, field)`` for a JSON list of objects that did not parse (``exc``: the parser's error).

    ``item(i)`` names entry ``i`` as the caller's errors do (``"entry 3"``, ``"[3]"``).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as u:
        msg = f"not UTF-8 text: byte 0x{raw[u.start]:02x} at {_line_col(raw, u.start)}"
        try:
            data = json.loads(raw.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            return msg, None, None
        where, field = _locate(data, lambda v: isinstance(v, str) and "\ufffd" in v, item)
        return msg, where, field
    m = _NONFINITE.search(raw)
    if m is not None:
        try:
            data = json.loads(text)  # Python's reader takes NaN and Infinity
        except (ValueError, RecursionError):
            data = None
        seen: list[float] = []

        def bad(v: Any) -> bool:
            if isinstance(v, float) and not math.isfinite(v):
                seen.append(v)
                return True
            return False

        where, field = _locate(data, bad, item)
        if where is not None:
            token = "NaN" if seen[0] != seen[0] else ("Infinity" if seen[0] > 0 else "-Infinity")
            msg = (f"{token} is not valid JSON (Python's json.dump writes it for a float nan or inf): "
                   "expected a finite number")
            return msg, where, field
    return f"not valid JSON ({exc})", None, None
