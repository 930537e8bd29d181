"""Hand-built cases: one per rule of the official retrieval protocol and per option."""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_cases import entry, make_gt
from retrieval_official_port import official_retrieval

from df2kit.errors import ResultsError
from df2kit.evaluation.retrieval import TOPK, evaluate_retrieval

CORRECT = [(100, [0, 0, 10, 10])]  # the one correct shop item of the fixtures (image 100)
WRONG = [(555, [0, 0, 10, 10])]


def hits(gt, results, **kw):
    r = evaluate_retrieval(gt, results, **kw)
    if not kw:  # the official mode: the straight port must agree on every hand-built case
        port, n = official_retrieval(gt.query_records(), gt.gallery_records(), results)
        assert tuple(int(v) for v in port.sum(axis=0)) == r.overall.hits
        assert n == r.num_queries
    return r


def two_item_image(second_style=0, second_box=(2, 0, 12, 10)):
    return make_gt(
        [
            {"img": 1, "box": [0, 0, 10, 10], "cls": 1, "style": 1, "pair": 7},
            {"img": 1, "box": list(second_box), "cls": 1, "style": second_style, "pair": 7},
        ],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7}],
    )


def test_detection_on_the_item_hits_at_top1(tiny_gt):
    r = hits(tiny_gt, [entry(1, [0, 0, 10, 10], CORRECT)])
    assert r.num_queries == 1  # the style-0 item is not a query of N
    assert r.overall.hits == (1, 1, 1, 1, 1)
    assert r.accuracy == {k: 1.0 for k in TOPK}
    assert (r.num_represented, r.num_missed, r.num_unused) == (1, 0, 0)


def test_style0_neighbour_takes_the_assignment():
    gt = two_item_image()
    # IoU with the style-1 item is 8/12 = 0.67, with the style-0 neighbour 1.0: the neighbour takes it,
    # so the style-1 item is a miss although the detection overlaps it well and retrieves correctly.
    r = hits(gt, [entry(1, [2, 0, 12, 10], CORRECT)])
    assert r.overall.hits == (0, 0, 0, 0, 0)
    assert (r.num_missed, r.num_unused) == (1, 1)
    # the same retrieval from a box closer to the style-1 item counts
    assert hits(gt, [entry(1, [0, 0, 11, 10], CORRECT)]).overall.hits[0] == 1


def test_iou_tie_goes_to_the_earlier_ground_truth_item():
    # both items have the same box: np.argmax picks the first in ground-truth order
    gt_first_scored = two_item_image(second_style=0, second_box=(0, 0, 10, 10))
    assert hits(gt_first_scored, [entry(1, [0, 0, 10, 10], CORRECT)]).overall.hits[0] == 1
    gt = make_gt(
        [
            {"img": 1, "box": [0, 0, 10, 10], "cls": 1, "style": 0, "pair": 7},
            {"img": 1, "box": [0, 0, 10, 10], "cls": 1, "style": 1, "pair": 7},
        ],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7}],
    )
    assert hits(gt, [entry(1, [0, 0, 10, 10], CORRECT)]).overall.hits[0] == 0


def test_detection_overlapping_nothing_goes_to_the_first_item_in_the_official_mode(tiny_gt):
    far = [500, 500, 510, 510]  # IoU 0 with every item: np.argmax of zeros = the image's first item
    assert hits(tiny_gt, [entry(1, far, CORRECT)]).overall.hits == (1, 1, 1, 1, 1)
    r = evaluate_retrieval(tiny_gt, [entry(1, far, CORRECT)], min_iou=0.0)
    assert r.overall.hits[0] == 1  # IoU 0 >= 0: still assigned
    r = evaluate_retrieval(tiny_gt, [entry(1, far, CORRECT)], min_iou=0.1)
    assert r.overall.hits[0] == 0 and r.num_unassigned == 1 and r.num_missed == 1


def test_min_iou_unassigns_weak_detections(tiny_gt):
    weak = [0, 0, 10, 3]  # IoU 0.3 with the style-1 item, 0 with the other
    assert hits(tiny_gt, [entry(1, weak, CORRECT)]).overall.hits[0] == 1
    assert evaluate_retrieval(tiny_gt, [entry(1, weak, CORRECT)], min_iou=0.3).overall.hits[0] == 1
    r = evaluate_retrieval(tiny_gt, [entry(1, weak, CORRECT)], min_iou=0.31)
    assert r.overall.hits[0] == 0 and r.num_unassigned == 1
    assert "assignment IoU >= 0.31" in r.format()


def test_wrong_category_is_a_miss(tiny_gt):
    r = hits(tiny_gt, [entry(1, [0, 0, 10, 10], CORRECT, cls=2)])
    assert r.overall.hits == (0, 0, 0, 0, 0) and r.num_missed == 1
    # a wrong-class detection with a higher score does not hide a right-class one
    r = hits(tiny_gt, [entry(1, [0, 0, 10, 10], WRONG, cls=2, score=0.99), entry(1, [0, 0, 10, 10], CORRECT, score=0.1)])
    assert r.overall.hits[0] == 1


def test_two_detections_on_one_item_the_higher_score_represents_it(tiny_gt):
    good, bad = CORRECT, WRONG
    assert hits(tiny_gt, [entry(1, [0, 0, 10, 10], bad, score=0.6), entry(1, [1, 0, 10, 10], good, score=0.9)]).overall.hits[0] == 1
    r = hits(tiny_gt, [entry(1, [0, 0, 10, 10], bad, score=0.9), entry(1, [1, 0, 10, 10], good, score=0.6)])
    assert r.overall.hits[0] == 0 and r.num_unused == 1
    # equal scores: the earlier entry represents the item
    assert hits(tiny_gt, [entry(1, [0, 0, 10, 10], good, score=0.5), entry(1, [0, 0, 10, 10], bad, score=0.5)]).overall.hits[0] == 1
    assert hits(tiny_gt, [entry(1, [0, 0, 10, 10], bad, score=0.5), entry(1, [0, 0, 10, 10], good, score=0.5)]).overall.hits[0] == 0


@pytest.mark.parametrize(("height", "hit"), [(49, False), (50, True), (51, True)])
def test_gallery_box_iou_threshold(height, hit):
    # correct shop item [0, 0, 100, 100]; retrieved [0, 0, 100, h] has IoU h / 100
    gt = make_gt([{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 3}],
                 [{"img": 100, "box": [0, 0, 100, 100], "style": 1, "pair": 3}])
    r = hits(gt, [entry(1, [0, 0, 10, 10], [(100, [0, 0, 100, height])])])
    assert r.overall.hits[0] == int(hit)


def test_rank_decides_top_k(tiny_gt):
    def at(rank):
        return WRONG * rank + CORRECT

    for rank, expect in [(0, (1, 1, 1, 1, 1)), (4, (0, 1, 1, 1, 1)), (5, (0, 0, 1, 1, 1)), (9, (0, 0, 1, 1, 1)),
                         (10, (0, 0, 0, 1, 1)), (14, (0, 0, 0, 1, 1)), (19, (0, 0, 0, 0, 1))]:
        assert hits(tiny_gt, [entry(1, [0, 0, 10, 10], at(rank))]).overall.hits == expect, rank


def test_correct_image_but_the_box_of_another_item_is_a_miss():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 3}],
        [{"img": 100, "box": [0, 0, 50, 50], "style": 1, "pair": 3},
         {"img": 100, "box": [60, 60, 90, 90], "style": 2, "pair": 3},  # same image, other style
         {"img": 200, "box": [0, 0, 50, 50], "style": 1, "pair": 4}],  # same style, other pair
    )
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(100, [60, 60, 90, 90])])]).overall.hits[0] == 0
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(200, [0, 0, 50, 50])])]).overall.hits[0] == 0
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(100, [0, 0, 50, 50])])]).overall.hits[0] == 1


def test_gallery_image_with_two_correct_items_either_counts():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 3}],
        [{"img": 100, "box": [0, 0, 50, 50], "style": 1, "pair": 3},
         {"img": 100, "box": [60, 60, 90, 90], "style": 1, "pair": 3}],
    )
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(100, [60, 60, 90, 90])])]).overall.hits[0] == 1
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(100, [0, 0, 50, 50])])]).overall.hits[0] == 1


def test_query_image_without_detection_counts_its_items_as_misses():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 2, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 2, "box": [20, 20, 30, 30], "style": 2, "pair": 7}],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 100, "box": [20, 20, 30, 30], "style": 2, "pair": 7}],
    )
    r = hits(gt, [entry(1, [0, 0, 10, 10], CORRECT)])
    assert r.num_queries == 3 and r.overall.hits[0] == 1 and r.num_missed == 2
    assert r.accuracy[1] == pytest.approx(1 / 3)
    assert hits(gt, []).overall.hits == (0, 0, 0, 0, 0)


def test_style_of_the_query_decides_the_correct_items():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 2, "pair": 7}],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 101, "box": [0, 0, 10, 10], "style": 2, "pair": 7}],
    )
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(100, [0, 0, 10, 10])])]).overall.hits[0] == 0
    assert hits(gt, [entry(1, [0, 0, 10, 10], [(101, [0, 0, 10, 10])])]).overall.hits[0] == 1


def test_query_without_correct_gallery_item_stays_in_n_and_never_hits():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 1, "box": [20, 20, 30, 30], "style": 3, "pair": 7}],  # no shop item of style 3
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7}],
    )
    r = evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], CORRECT), entry(1, [20, 20, 30, 30], CORRECT)])
    assert r.num_queries == 2 and r.overall.hits[0] == 1 and r.num_unmatchable == 1
    assert "cannot be hit" in r.format()


def test_many_matches_subset_keeps_queries_with_more_than_five_identical_shop_items():
    shop = [{"img": 100 + i, "box": [0, 0, 10, 10], "style": 1, "pair": 1} for i in range(6)]
    shop += [{"img": 200 + i, "box": [0, 0, 10, 10], "style": 1, "pair": 2} for i in range(5)]
    gt = make_gt([{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 1},
                  {"img": 2, "box": [0, 0, 10, 10], "style": 1, "pair": 2}], shop)
    res = [entry(1, [0, 0, 10, 10], [(100, [0, 0, 10, 10])]), entry(2, [0, 0, 10, 10], WRONG)]
    full = evaluate_retrieval(gt, res)
    assert full.num_queries == 2 and full.overall.hits[0] == 1
    sub = evaluate_retrieval(gt, res, subset="many-matches")
    assert sub.num_queries == 1 and sub.accuracy[1] == 1.0 and sub.subset == "many-matches"
    assert "subset many-matches" in sub.format()


def test_subsets_split_by_query_attributes():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 1, "attrs": (1, 2, 3, 1)},
         {"img": 2, "box": [0, 0, 10, 10], "style": 1, "pair": 1, "attrs": (3, 2, 1, 2)},
         {"img": 3, "box": [0, 0, 10, 10], "style": 0, "pair": 1, "attrs": (1, 1, 1, 1)}],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 1}],
    )
    r = evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], CORRECT), entry(2, [0, 0, 10, 10], WRONG)], subsets=True)
    rows = {row.name: row for row in r.subsets}
    assert len(rows) == 12
    assert (rows["scale: small"].num_queries, rows["scale: small"].hits[0]) == (1, 1)
    assert (rows["scale: large"].num_queries, rows["scale: large"].hits[0]) == (1, 0)
    assert rows["scale: moderate"].num_queries == 0 and np.isnan(rows["scale: moderate"].accuracy[0])
    assert (rows["occlusion: medium"].num_queries, rows["occlusion: medium"].hits[0]) == (2, 1)
    d = r.to_dict()
    assert d["subsets"]["zoom_in"]["large"]["top1"] == 1.0 and d["subsets"]["scale"]["moderate"]["top1"] is None
    assert "viewpoint: frontal" in r.format()


def test_gt_boxes_mode_uses_ground_truth_boxes_without_class_or_score():
    gt = two_item_image(second_style=0)
    e = entry(1, [0, 0, 10, 10], CORRECT)
    del e["query_cls"], e["query_score"]
    r = evaluate_retrieval(gt, [e], gt_boxes=True)
    assert r.overall.hits[0] == 1 and r.mode == "ground-truth boxes"
    # the class is not checked in gt_boxes mode, and the style-0 neighbour cannot take the query
    r = evaluate_retrieval(gt, [dict(e, query_cls=5), entry(1, [2, 0, 12, 10], WRONG)], gt_boxes=True)
    assert r.overall.hits[0] == 1 and r.num_unused == 1
    # float noise below 0.01 px still matches
    assert evaluate_retrieval(gt, [dict(e, query_bbox=[0.004, 0, 10.002, 10])], gt_boxes=True).overall.hits[0] == 1


def test_gt_boxes_items_sharing_a_box_take_the_entries_in_order():
    gt = make_gt(
        [{"img": 1, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 1, "box": [0, 0, 10, 10], "style": 2, "pair": 7}],
        [{"img": 100, "box": [0, 0, 10, 10], "style": 1, "pair": 7},
         {"img": 101, "box": [0, 0, 10, 10], "style": 2, "pair": 7}],
    )
    first, second = [(100, [0, 0, 10, 10])], [(101, [0, 0, 10, 10])]
    r = evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], first), entry(1, [0, 0, 10, 10], second)], gt_boxes=True)
    assert r.overall.hits[0] == 2
    r = evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], second), entry(1, [0, 0, 10, 10], first)], gt_boxes=True)
    assert r.overall.hits[0] == 0
    # one entry for the shared box represents both items
    r = evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], first + second)], gt_boxes=True)
    assert r.num_represented == 2 and r.overall.hits == (1, 2, 2, 2, 2)
    with pytest.raises(ResultsError, match=r"entries \[0\] and \[2\] give the same ground-truth box"):
        evaluate_retrieval(gt, [entry(1, [0, 0, 10, 10], first)] * 3, gt_boxes=True)
