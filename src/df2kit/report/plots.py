"""Plots for the report, as PNG bytes (matplotlib, imported only when a plot is made).

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no global backend switch, no
display needed), so making a report never changes a user's own matplotlib state.

>>> png = bar_chart(["a", "b"], [0.5, 0.7], title="AP")      # doctest: +SKIP
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"                     # doctest: +SKIP
True
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["bar_chart", "dataset_figure", "grouped_bars", "line_chart", "pr_curves"]

_OURS = "#1f77b4"
_BASE = "#bbbbbb"


def _figure(w: float, h: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def pr_curves(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], *, title: str) -> bytes:
    """Precision against recall, one line per ``(label, recall, precision)``; negative precision = no data."""
    fig = _figure(5.2, 3.8)
    ax = fig.add_subplot()
    for label, rec, prec in curves:
        rec, prec = np.asarray(rec, float), np.asarray(prec, float)
        ok = prec >= 0
        if ok.any():
            ax.plot(rec[ok], prec[ok], label=label, linewidth=1.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str, xlabel: str = "AP",
              colours: Sequence[Any] | None = None, xlim: tuple[float, float] | None = (0, 1)) -> bytes:
    """Horizontal bars (one per label, top to bottom) with the value written at the end; None = no data."""
    n = len(labels)
    fig = _figure(5.6, 0.8 + 0.28 * max(n, 1))
    ax = fig.add_subplot()
    y = np.arange(n)
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    ax.barh(y, np.nan_to_num(vals), color=colours if colours is not None else _OURS)
    for yi, v in zip(y, vals):
        missing = bool(np.isnan(v))
        ax.text(0 if missing else v, yi, "  n/a" if missing else f" {v:.3f}", va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def grouped_bars(groups: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
                 ylabel: str = "AP", ylim: tuple[float, float] = (0, 1)) -> bytes:
    """Vertical bars per group, one bar per series (e.g. ours and the official baseline per subset)."""
    n, m = len(groups), max(len(series), 1)
    fig = _figure(max(5.0, 0.55 * n * m + 1.5), 3.6)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.8 / m
    palette = [_OURS, _BASE, "#ff7f0e", "#2ca02c"]
    for k, (name, vals) in enumerate(series.items()):
        v = np.array([np.nan if a is None else float(a) for a in vals], dtype=float)
        ax.bar(x + (k - (m - 1) / 2) * width, np.nan_to_num(v), width, label=name, color=palette[k % len(palette)])
    ax.set_xticks(x, groups, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def line_chart(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str, xlabel: str,
               ylabel: str) -> bytes:
    """Lines ``{name: (x, y)}`` (training losses over steps, for example)."""
    fig = _figure(5.6, 3.4)
    ax = fig.add_subplot()
    for name, (xs, ys) in series.items():
        ax.plot(np.asarray(xs, float), np.asarray(ys, float), label=name, linewidth=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    return _png(fig)


def dataset_figure(stats: Sequence[Any]) -> bytes:
    """The shapes of the README's Figure 3 for one or more splits (:class:`~df2kit.stats.SplitStats`):
    items per category, and the shares of scale, occlusion, zoom-in and viewpoint levels."""
    from ..layout import ATTRIBUTE_LEVELS

    fig = _figure(10.5, 6.2)
    grid = fig.add_gridspec(2, 4)
    palette = [_OURS, "#ff7f0e", "#2ca02c"]
    ax = fig.add_subplot(grid[0, :])
    names = list(stats[0].items_per_category)
    x = np.arange(len(names))
    width = 0.8 / len(stats)
    for k, s in enumerate(stats):
        ax.bar(x + (k - (len(stats) - 1) / 2) * width, [s.items_per_category[n] for n in names], width,
               label=f"{s.split} ({s.items:,} items)", color=palette[k % 3])
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("items")
    ax.set_title("items per category", fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    for a_i, (attr, levels) in enumerate(ATTRIBUTE_LEVELS.items()):
        ax = fig.add_subplot(grid[1, a_i])
        xl = np.arange(len(levels))
        for k, s in enumerate(stats):
            counts = getattr(s, attr)
            tot = max(sum(counts.values()), 1)
            ax.bar(xl + (k - (len(stats) - 1) / 2) * width, [100.0 * counts[lvl] / tot for lvl in levels], width,
                   color=palette[k % 3])
        ax.set_xticks(xl, levels, fontsize=8, rotation=20)
        ax.set_ylim(0, 100)
        ax.set_title(attr.replace("_", "-"), fontsize=10)
        ax.set_ylabel("% of items" if a_i == 0 else "")
        ax.grid(axis="y", alpha=0.3)
    return _png(fig)
