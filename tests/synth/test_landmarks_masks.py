"""Landmarks, masks and visibility agree with what was drawn."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from df2kit.synth._geometry import distance_to_boundary, points_in_polygon
from df2kit.synth.generate import plan_split
from df2kit.synth.scene import QUIRKS, ImageSpec, SceneResult, render_scene

N_SCENES = 220


@functools.lru_cache(maxsize=2)
def _scenes(quirks: bool) -> tuple[tuple[ImageSpec, SceneResult], ...]:
    specs = plan_split("validation", N_SCENES, seed=21 if quirks else 20, size=256, quirks=quirks)
    return tuple((spec, render_scene(spec, draw=False)) for spec in specs)


def _near(pts: np.ndarray, polys: list[np.ndarray], tol: float) -> np.ndarray:
    """Inside some polygon, or within ``tol`` pixels of its edge."""
    ok = np.zeros(len(pts), dtype=bool)
    for p in polys:
        if len(p) >= 3 and len(pts):
            ok |= points_in_polygon(pts, p) | (distance_to_boundary(pts, p) <= tol)
    return ok


def _deep_inside(pts: np.ndarray, polys: list[np.ndarray], tol: float) -> np.ndarray:
    """Inside some polygon by more than ``tol`` pixels."""
    ok = np.zeros(len(pts), dtype=bool)
    for p in polys:
        if len(p) >= 3 and len(pts):
            ok |= points_in_polygon(pts, p) & (distance_to_boundary(pts, p) > tol)
    return ok


@pytest.mark.parametrize("quirks", [False, True], ids=["clean", "quirks"])
def test_every_labelled_landmark_is_inside_its_mask(quirks: bool) -> None:
    checked = 0
    for spec, res in _scenes(quirks):
        for item in res.annotation.items:
            lm = item.landmarks
            lab = lm[:, 2] > 0
            ok = _near(lm[lab, :2], list(item.segmentation), 1.0)
            assert ok.all(), (
                f"{spec.stem} {item.key} {item.category.dataset_name}: landmarks {np.flatnonzero(lab)[~ok] + 1} outside the mask"
            )
            assert (lm[~lab, :2] == 0).all(), "unlabelled landmarks have x = y = 0"
            checked += int(lab.sum())
    assert checked > 10 * N_SCENES


def test_visibility_follows_what_is_drawn_over_the_item() -> None:
    n_occluded = n_visible = 0
    for spec, res in _scenes(False):
        for item, over, selfocc in zip(res.annotation.items, res.occluders, res.self_occluded):
            lm = item.landmarks
            vis, occ = lm[:, 2] == 2, lm[:, 2] == 1
            # a visible landmark is not under anything (rounding to whole pixels aside)
            assert not _deep_inside(lm[vis, :2], over, 1.0).any(), f"{spec.stem} {item.key}: a v=2 landmark is covered"
            # an occluded one is under something, or behind the garment itself (side views)
            under = _near(lm[occ, :2], over, 1.0) | selfocc[occ]
            assert under.all(), (
                f"{spec.stem} {item.key}: v=1 landmarks {np.flatnonzero(occ)[~under] + 1} are not covered"
            )
            n_occluded += int(occ.sum())
            n_visible += int(vis.sum())
    assert n_occluded > 0.05 * (n_occluded + n_visible)


def test_cutters_split_masks_and_never_touch_a_labelled_landmark() -> None:
    multi_part = cut = 0
    for spec, res in _scenes(False):
        for pt, d, hw in res.cutters:
            cut += 1
            nrm = np.array([-d[1], d[0]])
            for item in res.annotation.items:
                lm = item.landmarks[item.landmarks[:, 2] > 0, :2]
                assert (np.abs((lm - pt) @ nrm) > hw).all()
        multi_part += sum(len(it.segmentation) > 1 for it in res.annotation.items)
    assert cut >= 1 and multi_part >= 5


def test_boxes_are_tight_around_the_masks_and_inside_the_image() -> None:
    for spec, res in _scenes(True):
        w, h = res.width, res.height
        for item in res.annotation.items:
            pts = np.vstack(list(item.segmentation))
            x1, y1, x2, y2 = item.bbox_xyxy
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            assert x1 <= pts[:, 0].min() < x1 + 1 and x2 - 1 < pts[:, 0].max() <= x2
            assert y1 <= pts[:, 1].min() < y1 + 1 and y2 - 1 < pts[:, 1].max() <= y2


def test_quirks_are_what_the_spec_asks_for() -> None:
    assert set(QUIRKS) == {"border", "no-landmarks", "degenerate-polygon", "closed-polygons"}
    seen = {"no-landmarks": 0, "degenerate-polygon": 0, "closed-polygons": 0}
    for spec, res in _scenes(True):
        items = res.annotation.items
        if "no-landmarks" in spec.quirks:
            assert any(it.num_labeled == 0 for it in items)
            seen["no-landmarks"] += 1
        if "degenerate-polygon" in spec.quirks:
            assert any(any(len(p) < 3 for p in it.segmentation) for it in items)
            seen["degenerate-polygon"] += 1
        if "closed-polygons" in spec.quirks:
            assert any(any(len(p) >= 4 and (p[0] == p[-1]).all() for p in it.segmentation) for it in items)
            seen["closed-polygons"] += 1
    assert min(seen.values()) >= 2
