"""Garment templates: landmarks where the dataset's definition figure puts them, in the layout's numbering."""

from __future__ import annotations

import numpy as np
import pytest

from df2kit.layout import Category
from df2kit.synth._geometry import distance_to_boundary, is_simple, points_in_polygon
from df2kit.synth.templates import BOTTOMS, OUTWEAR, Pose, build_garment, sample_params

ALL = list(Category)
UPPER = [c for c in Category if c not in BOTTOMS]


def _inside_or_on(pts: np.ndarray, polys: list[np.ndarray], tol: float) -> np.ndarray:
    ok = np.zeros(len(pts), dtype=bool)
    for p in polys:
        ok |= points_in_polygon(pts, p) | (distance_to_boundary(pts, p) <= tol)
    return ok


def _garments(cat: Category, view: str, n: int = 6):
    for seed in range(n):
        rng = np.random.default_rng([int(cat), seed])
        pose = Pose.sample(cat, rng, flat=view == "flat")
        yield build_garment(cat, sample_params(cat, rng), pose, view, facing=1 if seed % 2 else -1)  # type: ignore[arg-type]


@pytest.mark.parametrize("view", ["front", "flat", "back", "side"])
@pytest.mark.parametrize("cat", ALL, ids=lambda c: c.name.lower())
def test_landmarks_sit_on_or_inside_a_simple_outline(cat: Category, view: str) -> None:
    for g in _garments(cat, view):
        assert g.landmarks.shape == (cat.num_landmarks, 2)
        assert np.isfinite(g.landmarks).all()
        assert is_simple(g.polygons[0]), "the main outline crosses itself"
        shown = ~g.view_hidden
        ok = _inside_or_on(g.landmarks, g.polygons, 1e-6)
        assert ok[shown].all(), f"landmarks {np.flatnonzero(shown & ~ok) + 1} outside the garment"


@pytest.mark.parametrize("cat", ALL, ids=lambda c: c.name.lower())
def test_skeleton_traces_the_garment(cat: Category) -> None:
    """Every skeleton edge runs along or through the garment: its midpoint is inside or close to the outline."""
    for g in _garments(cat, "front"):
        scale = float(np.ptp(g.landmarks, axis=0).max())
        mids = np.array([(g.landmarks[a - 1] + g.landmarks[b - 1]) / 2 for a, b in cat.skeleton])
        ok = _inside_or_on(mids, g.polygons, 0.03 * scale)
        bad = [cat.skeleton[i] for i in np.flatnonzero(~ok)]
        assert not bad, f"skeleton edges {bad} leave the garment"


@pytest.mark.parametrize("cat", ALL, ids=lambda c: c.name.lower())
def test_numbering_follows_the_layout_flip_pairs(cat: Category) -> None:
    """With both sleeves at one angle a front view is mirror-symmetric, and the mirror of landmark a is
    exactly its flip partner b (the layout's pairs); unpaired landmarks sit on the centre line."""
    rng = np.random.default_rng(int(cat))
    for _ in range(4):
        pose = Pose.sample(cat, rng, flat=False)
        pose = Pose(pose.sleeve_left, pose.sleeve_left, pose.leg_spread)
        g = build_garment(cat, sample_params(cat, rng), pose, "front")
        lm = g.landmarks
        paired = set()
        for a, b in cat.flip_pairs:
            paired |= {a, b}
            assert np.allclose(lm[a - 1], lm[b - 1] * (-1, 1), atol=0.02), f"{a} and {b} are not mirror images"
        for j in set(range(1, cat.num_landmarks + 1)) - paired:
            assert abs(lm[j - 1, 0]) < 1e-9, f"unpaired landmark {j} is off the centre line"
        # the contour starts on the image-left: the first contour landmark after the neckline / waistband
        first = 4 if cat in BOTTOMS else 7
        assert lm[first - 1, 0] < 0


@pytest.mark.parametrize("cat", UPPER, ids=lambda c: c.name.lower())
def test_upper_garments_neckline_as_in_the_figure(cat: Category) -> None:
    for g in _garments(cat, "front"):
        lm = g.landmarks
        x, y = lm[:, 0], lm[:, 1]
        # 2 / 6: left / right neck points on one level; 1 the back-neckline centre between and below them
        assert x[1] < x[0] < x[5] and y[1] == pytest.approx(y[5])
        assert y[0] > y[1]
        # 3-4-5 the front neckline, lower than the back neckline at the centre
        assert x[1] < x[2] and x[4] < x[5]
        assert y[3] > y[0]
        # nothing of the garment's landmarks is below its hem
        assert y.max() == pytest.approx(max(p[:, 1].max() for p in g.polygons[:1]), abs=0.02)


@pytest.mark.parametrize("cat", OUTWEAR, ids=lambda c: c.name.lower())
def test_outwear_points_two_and_four_follow_the_sigma_consistent_reading(cat: Category) -> None:
    """Point 2 is the neck point (mirror of 6, as in category 4); point 4 the top of the left front edge,
    below and inside it (df2_spec.md section 2)."""
    for g in _garments(cat, "front"):
        lm = g.landmarks
        assert lm[1, 1] == pytest.approx(lm[5, 1]) and lm[1, 0] == pytest.approx(-lm[5, 0], abs=1e-9)
        assert lm[3, 1] > lm[1, 1] and abs(lm[3, 0]) < abs(lm[1, 0])
        partner = 26 if cat == Category.SHORT_SLEEVE_OUTWEAR else 34
        assert lm[3, 1] == pytest.approx(lm[partner - 1, 1])


@pytest.mark.parametrize("cat", BOTTOMS, ids=lambda c: c.name.lower())
def test_bottoms_waistband_is_on_top(cat: Category) -> None:
    for g in _garments(cat, "front"):
        y = g.landmarks[:, 1]
        assert y[:3].max() < y[3:].min()
        assert g.landmarks[0, 0] < g.landmarks[1, 0] < g.landmarks[2, 0]


@pytest.mark.parametrize("cat", UPPER, ids=lambda c: c.name.lower())
def test_back_view_hides_the_front(cat: Category) -> None:
    for g in _garments(cat, "back", 2):
        assert g.view_hidden[[2, 3, 4]].all()
        assert not g.view_hidden[[0, 1, 5]].any()
        if cat in OUTWEAR:
            assert g.view_hidden.sum() > 3


@pytest.mark.parametrize("cat", [c for c in UPPER if "SLEEVE" in c.name], ids=lambda c: c.name.lower())
def test_side_view_tucks_the_far_sleeve_behind_the_body(cat: Category) -> None:
    for g in _garments(cat, "side", 4):
        occ = g.self_occluded
        assert occ.sum() >= 3
        # the tucked landmarks are inside the (narrowed) body of the garment
        assert points_in_polygon(g.landmarks[occ], g.polygons[0]).all()
