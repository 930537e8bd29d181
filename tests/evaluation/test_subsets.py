"""Per-subset scores (README Tables 3, 5, 7): the rule, pinned to pycocotools' own matching.

Rule: ground truth outside the subset is ignored and crowd-like (it may absorb any number of detections),
so a detection matching it and no subset item is neither a true nor a false positive; a detection matching
nothing is a false positive in every subset. In pycocotools' terms that is the subset's outside items
marked ``iscrowd`` with the IoU left as for ordinary items, which is how the reference below is computed.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from df2kit.evaluation import evaluate
from df2kit.layout import ATTRIBUTES

from .conftest import coco_eval, only, random_case, vis_only


def subset_reference(gt, res, task, attribute, level):
    g = copy.deepcopy(gt)
    for a in g["annotations"]:
        if a[attribute] != level:
            a["iscrowd"] = 1
    return coco_eval(g, res, task, plain_iou=True).stats[:3]


@pytest.mark.parametrize("task", ["detection", "segmentation", "landmarks"])
@pytest.mark.parametrize("seed", range(1))
def test_subsets_equal_pycocotools_with_outside_items_as_crowd(task: str, seed: int) -> None:
    gt, res = random_case(40 + seed, n_img=10)
    res = only(res, task)
    r = evaluate(task, gt, res, subsets=True)
    variants = ["vis", "vis_hide"] if task == "landmarks" else [""]
    for variant in variants:
        sc = r.variant(variant) if task == "landmarks" else r.scores[0]
        ref_gt = vis_only(gt) if variant == "vis" else gt
        assert len(sc.subsets) == 12
        for s in sc.subsets:
            want = subset_reference(ref_gt, res, task, s.attribute, s.level)
            got = [-1.0 if v is None else v for v in (s.ap, s.ap50, s.ap75)]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=f"{variant} {s.attribute}={s.level}")
            assert s.num_gt == sum(1 for a in ref_gt["annotations"] if a[s.attribute] == s.level)


def _one_image(items, dets):
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": b[2] * b[3], "iscrowd": 0,
             "segmentation": [[b[0], b[1], b[0] + b[2], b[1], b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]]],
             "scale": 2, "occlusion": occ, "zoom_in": 1, "viewpoint": 2} for i, (b, occ) in enumerate(items)]
    gt = {"images": [{"id": 1, "height": 200, "width": 300}], "annotations": anns,
          "categories": [{"id": c, "name": str(c)} for c in range(1, 14)]}
    res = [{"image_id": 1, "category_id": 1, "bbox": b, "score": s} for b, s in dets]
    return gt, res


def _occlusion(r, level):
    return next(s for s in r.scores[0].subsets if s.attribute == "occlusion" and s.level == level)


def test_detections_of_items_outside_the_subset_count_neither_way() -> None:
    heavy, slight = [10, 10, 50, 50], [200, 100, 60, 60]
    # a perfect detection of the heavy item, two (a duplicate) of the slight one, below it in score
    gt, res = _one_image([(heavy, 3), (slight, 1)], [(heavy, 0.5), (slight, 0.9), (slight, 0.8)])
    r = evaluate("detection", gt, res, subsets=True)
    assert _occlusion(r, 3).ap == pytest.approx(1.0)  # the slight item's detections are not false positives
    assert _occlusion(r, 3).num_gt == 1
    # overall, the duplicate is a false positive ranked above the heavy item's detection
    assert r.ap < 1.0
    assert _occlusion(r, 2).ap is None  # no medium item


def test_detections_of_nothing_are_false_positives_in_every_subset() -> None:
    heavy, slight = [10, 10, 50, 50], [200, 100, 60, 60]
    nothing = [120, 150, 20, 20]
    gt, res = _one_image([(heavy, 3), (slight, 1)], [(nothing, 0.9), (heavy, 0.5), (slight, 0.4)])
    r = evaluate("detection", gt, res, subsets=True)
    # one false positive above the only true positive: precision 1/2 at every recall point
    assert _occlusion(r, 3).ap == pytest.approx(0.5)
    # the slight subset: the false positive, then the heavy item's detection (ignored), then its true positive
    assert _occlusion(r, 1).ap == pytest.approx(0.5)


def test_a_subset_holding_every_item_scores_as_overall() -> None:
    gt, res = random_case(8, n_img=10)
    for a in gt["annotations"]:
        a["zoom_in"] = 1
    r = evaluate("detection", gt, only(res, "detection"), subsets=True)
    sub = next(s for s in r.scores[0].subsets if s.attribute == "zoom_in" and s.level == 1)
    assert (sub.ap, sub.ap50, sub.ap75) == (r.ap, r.ap50, r.ap75)
    assert [s.attribute for s in r.scores[0].subsets[::3]] == list(ATTRIBUTES)


def test_subsets_need_attributes() -> None:
    from df2kit.errors import DF2Error

    gt, res = random_case(8, n_img=3)
    for a in gt["annotations"]:
        del a["occlusion"]
    with pytest.raises(DF2Error, match="scale, occlusion, zoom_in and viewpoint"):
        evaluate("detection", gt, only(res, "detection"), subsets=True)
