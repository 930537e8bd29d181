"""df2kit's COCO-style scores equal pycocotools with the DeepFashion2 parameters, to the last bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from df2kit.evaluation import evaluate
from df2kit.evaluation._api import _score_arrays

from .conftest import coco_eval, only, random_case, vis_only


def assert_same(gt, res, task, variant=""):
    ref = coco_eval(vis_only(gt) if variant == "vis" else gt, res, task)
    got = _score_arrays(task, gt, res, variant)
    assert np.array_equal(got.precision, ref.eval["precision"])
    assert np.array_equal(got.recall, ref.eval["recall"])
    r = evaluate(task, gt, res)
    sc = r.variant(variant) if task == "landmarks" else r.scores[0]
    np.testing.assert_allclose(sc.stats, ref.stats, rtol=0, atol=1e-12)
    return r, ref


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("task", ["detection", "segmentation", "landmarks"])
def test_random_cases_equal_pycocotools(task: str, seed: int) -> None:
    gt, res = random_case(seed)
    assert_same(gt, only(res, task), task, "vis_hide" if task == "landmarks" else "")


@pytest.mark.parametrize("seed", range(3))
def test_landmarks_vis_ground_truth_equals_pycocotools_on_the_vis_file(seed: int) -> None:
    gt, res = random_case(100 + seed)
    assert_same(gt, only(res, "landmarks"), "landmarks", "vis")


@pytest.mark.parametrize("task", ["detection", "segmentation", "landmarks"])
def test_results_that_carry_boxes_use_box_areas_like_loadres(task: str) -> None:
    # pycocotools' loadRes takes the area of every result from its bbox when the results have boxes
    gt, res = random_case(7)
    assert_same(gt, only(res, task, keep_bbox=True), task, "vis_hide" if task == "landmarks" else "")


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_crowd_and_rle_ground_truth(task: str) -> None:
    gt, res = random_case(11, crowd=0.3, rle_gt=0.5)
    assert_same(gt, only(res, task), task)


def test_more_detections_than_max_dets_and_score_ties() -> None:
    gt, res = random_case(3, n_img=4, dets_per_item=40, background=150, score_decimals=1)
    for task in ("detection", "landmarks"):
        assert_same(gt, only(res, task), task, "vis_hide" if task == "landmarks" else "")


def test_unrounded_scores_and_many_images() -> None:
    gt, res = random_case(21, n_img=60, score_decimals=None)
    assert_same(gt, only(res, "detection"), "detection")


def test_empty_ground_truth_and_empty_results() -> None:
    gt, res = random_case(5)
    empty_gt = {**gt, "annotations": []}
    r, ref = assert_same(empty_gt, only(res, "detection"), "detection")
    assert r.ap == -1.0 and ref.stats[0] == -1
    r, ref = assert_same(gt, [], "detection")
    assert r.ap == 0.0 and r.num_dt == 0


def test_categories_on_one_side_only() -> None:
    gt, res = random_case(9, cats=(1, 2, 3))
    res = only(res, "detection")
    for r in res[::3]:
        r["category_id"] = 13  # a category no ground truth has
    gt = copy.deepcopy(gt)
    for a in gt["annotations"][::4]:
        a["category_id"] = 7  # a category no result has
    r, _ref = assert_same(gt, res, "detection")
    per = {c.id: c for c in r.scores[0].per_category}
    assert per[13].ap is None and per[13].num_dt > 0
    assert per[7].ap == 0.0 and per[7].num_dt == 0
