"""Category frequencies and attribute shares as in the DeepFashion2 README's Figure 3 (a few thousand items)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from df2kit.layout import ATTRIBUTES
from df2kit.synth._targets import ATTRIBUTE_SHARES, CATEGORY_COUNTS
from df2kit.synth.generate import plan_split
from df2kit.synth.scene import render_scene

N_IMAGES = 2200  # about 3,900 items


@functools.lru_cache(maxsize=1)
def _items() -> tuple[np.ndarray, np.ndarray, int]:
    cats, attrs = [], []
    lost_products = 0
    for spec in plan_split("train", N_IMAGES, seed=11, size=512):
        items = render_scene(spec, draw=False).annotation.items
        lost_products += bool({s.style for s in spec.shown if s.style > 0} - {it.style for it in items})
        for it in items:
            cats.append(int(it.category))
            attrs.append([getattr(it, a) for a in ATTRIBUTES])
    return np.array(cats), np.array(attrs), lost_products


def test_every_planned_product_is_annotated() -> None:
    """So every style > 0 consumer item keeps its shop partner (the planner puts each style on both sides)."""
    assert _items()[2] == 0


@pytest.mark.parametrize("attr", ATTRIBUTES)
def test_attribute_shares_match_the_figure(attr: str) -> None:
    _, attrs, _ = _items()
    col = attrs[:, ATTRIBUTES.index(attr)]
    got = [100.0 * float((col == lvl).mean()) for lvl in (1, 2, 3)]
    want = ATTRIBUTE_SHARES[attr]
    assert len(col) > 3000
    assert np.allclose(got, want, atol=4.0), f"{attr}: got {np.round(got, 1)}, want {want}"


def test_category_frequencies_match_the_figure() -> None:
    cats, _, _ = _items()
    total = sum(CATEGORY_COUNTS.values())
    got = np.bincount(cats, minlength=14)[1:] / len(cats) * 100
    want = np.array([CATEGORY_COUNTS[c] / total * 100 for c in range(1, 14)])
    assert (got > 0).all(), "every category appears"
    assert np.allclose(got, want, atol=2.0), f"got {np.round(got, 1)}, want {np.round(want, 1)}"
    # the shape of the bar chart: short sleeve top and trousers lead, short sleeve outwear and sling trail
    order = np.argsort(-got)
    assert set(order[:2] + 1) == {1, 8}
    assert set(order[-2:] + 1) == {3, 6}
