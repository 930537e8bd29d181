"""Retrieval strips: frames say hit / miss / query, and hits follow the official rule."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from df2kit.errors import ResultsError
from df2kit.formats.retrieval import RetrievalGroundTruth
from df2kit.viz import RetrievedItem, check_retrieval_entry, retrieval_figure, retrieval_hits, retrieval_strip
from df2kit.viz._draw import HIT, MISS, QUERY


def _gt() -> RetrievalGroundTruth:
    # query image 1: item 0 (pair 5, style 1) at the left, item 1 (style 0) at the right
    # gallery: image 10 holds the partner of item 0; image 11 an item of pair 5 with another style
    i64 = lambda v: np.array(v, dtype=np.int64)
    return RetrievalGroundTruth(
        query_image_id=i64([1, 1]),
        query_bbox_xyxy=np.array([[0, 0, 100, 100], [150, 0, 250, 100]], float),
        query_category=i64([1, 8]),
        query_style=i64([1, 0]),
        query_pair_id=i64([5, 5]),
        query_attributes=np.zeros((2, 4), np.int64),
        gallery_image_id=i64([10, 11]),
        gallery_bbox_xyxy=np.array([[0, 0, 100, 100], [0, 0, 100, 100]], float),
        gallery_style=i64([1, 2]),
        gallery_pair_id=i64([5, 5]),
        gallery_category=i64([1, 1]),
    )


def _entry(query_bbox, ids, boxes, score=0.9):
    return {"query_image_id": 1, "query_bbox": query_bbox, "query_cls": 1, "query_score": score,
            "gallery_image_id": ids, "gallery_bbox": boxes}


def test_hits_follow_pair_style_and_iou_half() -> None:
    gt = _gt()
    # IoU of [0,0,100,100] with [0,0,100,49] is 0.49, with [0,0,100,51] 0.51
    e = _entry([5, 5, 95, 95], [11, 10, 10, 10], [[0, 0, 100, 100], [0, 0, 100, 49], [0, 0, 100, 51], [0, 0, 100, 100]])
    q, hits = retrieval_hits(e, gt, k=4)
    assert q == 0
    assert hits.tolist() == [False, False, True, True]


def test_detection_assigned_to_a_style0_item_has_no_hits() -> None:
    q, hits = retrieval_hits(_entry([160, 0, 250, 100], [10], [[0, 0, 100, 100]]), _gt(), k=5)
    assert q == 1 and hits.tolist() == [False]


def test_query_image_without_ground_truth() -> None:
    e = dict(_entry([0, 0, 10, 10], [10], [[0, 0, 100, 100]]), query_image_id=99)
    q, hits = retrieval_hits(e, _gt())
    assert q is None and not hits.any()


def test_strip_frames_query_blue_hits_green_misses_red() -> None:
    user = Image.new("RGB", (200, 300), (90, 90, 90))
    shop = Image.new("RGB", (300, 300), (240, 240, 240))
    cell = (100, 120)
    strip = retrieval_strip(user, (10, 10, 190, 290),
                            [RetrievedItem(shop, (0, 0, 300, 300), True), RetrievedItem(shop, (0, 0, 300, 300), False),
                             RetrievedItem(shop, (0, 0, 300, 300), None)], k=3, cell=cell)
    a = np.asarray(strip)
    gap = max(6, cell[0] // 16)
    # left edge of each cell's frame, halfway down
    xs = [gap, gap + cell[0] + 2 * gap, gap + 2 * cell[0] + 3 * gap]
    y = cell[1] // 2
    assert tuple(a[y, xs[0]]) == QUERY
    assert tuple(a[y, xs[1]]) == HIT
    assert tuple(a[y, xs[2]]) == MISS
    assert strip.size[0] == gap + (cell[0] + gap) * 4 + gap
    # crop: the query cell shows the user picture's grey inside its frame
    assert tuple(a[y, xs[0] + cell[0] // 2]) == (90, 90, 90)


def test_figure_stacks_one_strip_per_entry_best_first() -> None:
    gt = _gt()
    pics = {1: Image.new("RGB", (250, 100), (90, 90, 90)), 10: Image.new("RGB", (100, 100), (200, 200, 200)),
            11: Image.new("RGB", (100, 100), (220, 220, 220))}
    entries = [_entry([5, 5, 95, 95], [10, 11], [[0, 0, 100, 100], [0, 0, 100, 100]], 0.9),
               _entry([160, 0, 250, 100], [11, 10], [[0, 0, 100, 100], [0, 0, 100, 100]], 0.5)]
    one = retrieval_figure(entries[:1], pics.__getitem__, gt, k=2)
    two = retrieval_figure(entries, pics.__getitem__, gt, k=2)
    assert two.size[1] > 2 * one.size[1] - 10
    a = np.asarray(two)
    # first strip (score 0.9): rank 1 is a hit; second strip: style-0 item, rank 1 a miss
    col = (a == HIT).all(axis=2).any(axis=0)
    assert col.any()
    top_half, bottom_half = a[: a.shape[0] // 2], a[a.shape[0] // 2 :]
    assert (top_half == HIT).all(axis=2).any() and not (bottom_half == HIT).all(axis=2).any()
    assert (bottom_half == MISS).all(axis=2).any()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"query_image_id": "1"}, "query_image_id"),
        ({"query_bbox": [0, 0, 1]}, "query_bbox"),
        ({"query_cls": 0}, "query_cls"),
        ({"gallery_image_id": [1, "2"]}, "gallery_image_id"),
        ({"gallery_bbox": [[0, 0, 1, 1]]}, "gallery_bbox"),
        ({"gallery_bbox": [[0, 0, 1, 1], [0, 0, 1, None]]}, "gallery_bbox[1]"),
    ],
)
def test_bad_retrieval_entries_name_the_field(change, field) -> None:
    e = _entry([0, 0, 10, 10], [1, 2], [[0, 0, 1, 1], [0, 0, 1, 1]])
    e.update(change)
    with pytest.raises(ResultsError) as ei:
        check_retrieval_entry(e, 2, "r.json")
    assert ei.value.field == field and ei.value.item == "[2]"


def test_hit_marks_agree_with_the_official_scorer(tmp_path) -> None:
    """Differential: the strips' hit marks give the scorer's top-k on a random split (one entry per item)."""
    from df2kit.evaluation.retrieval import evaluate_retrieval
    from df2kit.formats.retrieval import retrieval_ground_truth
    from df2kit.io import scan_split

    from .._factory import make_split

    split = make_split(tmp_path, 48, seed=11, images=False)
    t = scan_split(split, None)
    gt = retrieval_ground_truth(t)
    rng = np.random.default_rng(3)
    entries = []
    for q in range(gt.num_queries):
        order = list(rng.permutation(gt.num_gallery)[:20])
        correct = np.flatnonzero((gt.gallery_pair_id == gt.query_pair_id[q]) & (gt.gallery_style == gt.query_style[q]))
        if len(correct) and gt.query_style[q] > 0 and rng.random() < 0.7:
            g = int(rng.choice(correct))
            if g in order:
                order.remove(g)
            order.insert(int(rng.integers(0, 20)), g)
        entries.append({"query_image_id": int(gt.query_image_id[q]), "query_bbox": gt.query_bbox_xyxy[q].tolist(),
                        "query_cls": int(gt.query_category[q]), "query_score": 0.9,
                        "gallery_image_id": [int(gt.gallery_image_id[g]) for g in order[:20]],
                        "gallery_bbox": [gt.gallery_bbox_xyxy[g].tolist() for g in order[:20]]})
    official = evaluate_retrieval(gt, entries)
    scored = gt.query_style > 0
    assert official.num_queries == int(scored.sum()) > 5
    first_hit = np.full(gt.num_queries, 99)
    for q, e in enumerate(entries):
        qi, hits = retrieval_hits(e, gt, k=20)
        assert qi == q  # exact boxes: each entry stands for its own item
        if hits.any():
            first_hit[q] = int(np.argmax(hits))
    for k, acc in official.accuracy.items():
        assert acc == pytest.approx(np.count_nonzero(scored & (first_hit < k)) / official.num_queries), k
    assert 0 < official.accuracy[20] < 1
