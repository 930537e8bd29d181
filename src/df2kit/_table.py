"""Plain-text tables for results and summaries (library code returns strings; only the CLI prints)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["fmt_num", "format_table"]


def fmt_num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.{digits}f}"
    return str(v)


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    digits: int = 3,
) -> str:
    """A boxed-free aligned table: text left-aligned, numbers right-aligned."""
    cells = [[fmt_num(v, digits) for v in r] for r in rows]
    numeric = [
        all(isinstance(r[c], (int, float)) and not isinstance(r[c], bool) or r[c] is None for r in rows) if rows else False
        for c in range(len(headers))
    ]
    widths = [max([len(h)] + [len(r[c]) for r in cells]) for c, h in enumerate(headers)]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[c] else v.ljust(w) for c, (v, w) in enumerate(zip(vals, widths))).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(list(headers)))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in cells)
    return "\n".join(out)
