"""Polygon clipping and containment against brute-force rasterization."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from df2kit.synth._geometry import (
    apply_homography,
    clip_halfplane,
    clip_to_rect,
    distance_to_boundary,
    is_simple,
    points_in_polygon,
    signed_area,
    smooth_contour,
    subtract_strip,
)

U_SHAPE = np.array([[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]], dtype=float)


def _raster(polys: list[np.ndarray], size: int = 64, scale: float = 4.0) -> np.ndarray:
    im = Image.new("1", (size * 4, size * 4), 0)
    d = ImageDraw.Draw(im)
    for p in polys:
        if len(p) >= 3:
            d.polygon((p * scale).ravel().tolist(), fill=1)
    return np.asarray(im, dtype=bool)


def _star(rng: np.random.Generator, n: int = 14) -> np.ndarray:
    """A random star-shaped (hence simple) polygon around (32, 32)."""
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(6, 28, n)
    return np.stack([32 + r * np.cos(t), 32 + r * np.sin(t)], axis=1)


def test_halfplane_splits_the_arms_of_a_u_apart() -> None:
    keep_low = clip_halfplane(U_SHAPE, np.array([0.0, 1.0]), 20.0)  # y >= 20: the two arms
    assert len(keep_low) == 2
    assert sorted(round(abs(signed_area(p))) for p in keep_low) == [100, 100]
    keep_high = clip_halfplane(U_SHAPE, np.array([0.0, -1.0]), -20.0)  # y <= 20: one piece
    assert len(keep_high) == 1
    assert abs(signed_area(keep_high[0])) == pytest.approx(30 * 10 + 2 * 10 * 10)


@pytest.mark.parametrize("seed", range(12))
def test_halfplane_clip_matches_rasterized_intersection(seed: int) -> None:
    rng = np.random.default_rng(seed)
    poly = _star(rng)
    a = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(a), np.sin(a)])
    offset = float(normal @ np.array([32.0, 32.0]) + rng.uniform(-15, 15))
    pieces = clip_halfplane(poly, normal, offset)
    rest = clip_halfplane(poly, -normal, -offset)
    # both sides together are exactly the polygon (the pieces of a side are disjoint)
    both = sum(abs(signed_area(p)) for p in pieces + rest)
    assert both == pytest.approx(abs(signed_area(poly)), rel=1e-9)
    # and the kept pieces cover the same pixels as the polygon cut by the half plane (up to edge pixels)
    whole = _raster([poly])
    ys, xs = np.mgrid[0 : whole.shape[0], 0 : whole.shape[1]] / 4.0
    half = (xs * normal[0] + ys * normal[1]) >= offset
    got = _raster(pieces)
    edge_pixels = 4 * 4 * sum(np.hypot(*np.diff(np.vstack([p, p[:1]]), axis=0).T).sum() for p in pieces + [poly])
    assert (got ^ (whole & half)).sum() <= 0.5 * edge_pixels + 50
    for p in pieces:
        assert is_simple(p)
        assert (p @ normal >= offset - 1e-9).all()


def test_clip_to_rect_keeps_what_is_inside() -> None:
    poly = np.array([[-10, -10], [50, -10], [50, 50], [-10, 50]], dtype=float)
    (piece,) = clip_to_rect(poly, 40, 30)
    assert abs(signed_area(piece)) == pytest.approx(40 * 30)
    assert clip_to_rect(poly + 1000, 40, 30) == []


def test_subtract_strip_cuts_a_square_in_two() -> None:
    sq = np.array([[0, 0], [40, 0], [40, 40], [0, 40]], dtype=float)
    pieces = subtract_strip(sq, np.array([20.0, 0.0]), np.array([0.0, 1.0]), 3.0)
    assert len(pieces) == 2
    assert sorted(round(abs(signed_area(p))) for p in pieces) == [680, 680]


def test_points_in_polygon_and_distance() -> None:
    pts = np.array([[15, 5], [15, 20], [5, 20], [25, 25], [40, 40]], dtype=float)
    assert points_in_polygon(pts, U_SHAPE).tolist() == [True, False, True, True, False]
    assert distance_to_boundary(np.array([[15.0, 20.0]]), U_SHAPE)[0] == pytest.approx(5.0)


def test_smooth_contour_passes_through_its_control_points() -> None:
    ctrl = np.array([[0, 0], [10, -3], [20, 0], [20, 10], [0, 10]], dtype=float)
    corner = np.array([True, False, True, True, True])
    out = smooth_contour(ctrl, corner, samples=4)
    assert np.allclose(out[::4], ctrl)


def test_homography_identity_and_translation() -> None:
    pts = np.array([[1.0, 2.0], [3.0, -4.0]])
    h = np.array([[1.0, 0, 5], [0, 1.0, -1], [0, 0, 1.0]])
    assert np.allclose(apply_homography(h, pts), pts + [5, -1])


def test_is_simple_detects_a_bow_tie() -> None:
    assert is_simple(U_SHAPE)
    assert not is_simple(np.array([[0, 0], [10, 10], [10, 0], [0, 10]], dtype=float))
