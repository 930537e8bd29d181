"""Bad or unusual input: clear errors naming the entry and field, or the documented handling."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from retrieval_cases import entry, random_case

from df2kit.errors import ConfigError, FormatError, ResultsError
from df2kit.evaluation.retrieval import RetrievalEvaluator, evaluate_retrieval
from df2kit.formats.retrieval import retrieval_ground_truth, write_retrieval_ground_truth
from df2kit.io import scan_split, write_annotation
from df2kit.structures import ClothingItem, ImageAnnotation

CORRECT = [(100, [0, 0, 10, 10])]
WRONG = [(555, [0, 0, 10, 10])]


def test_short_lists_miss_the_absent_ranks(tiny_gt):
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], WRONG * 6 + CORRECT, pad_to=0)])
    assert r.overall.hits == (0, 0, 1, 1, 1) and r.num_short_lists == 1
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], [], pad_to=0)])
    assert r.overall.hits == (0, 0, 0, 0, 0) and r.num_short_lists == 1 and r.num_represented == 1
    assert "shorter than 20" in r.format()


def test_ranks_after_20_are_ignored(tiny_gt):
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], WRONG * 20 + CORRECT, pad_to=0)])
    assert r.overall.hits == (0, 0, 0, 0, 0) and r.num_long_lists == 1
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], WRONG * 19 + CORRECT * 3, pad_to=0)])
    assert r.overall.hits == (0, 0, 0, 0, 1) and r.num_long_lists == 1


def test_duplicate_entries_are_two_detections_the_first_wins_a_tie(tiny_gt):
    e = entry(1, [0, 0, 10, 10], CORRECT)
    r = evaluate_retrieval(tiny_gt, [e, dict(e)])
    assert r.overall.hits[0] == 1 and r.num_results == 2 and r.num_unused == 1


def test_gallery_ids_outside_the_gallery_ground_truth_are_legal_misses(tiny_gt):
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], [(10**12, [0, 0, 10, 10]), (-5, [0, 0, 1, 1])] + CORRECT)])
    assert r.overall.hits == (0, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"query_image_id": 999}, "query_image_id", "not a query (user) image"),
        ({"query_image_id": 100}, "query_image_id", "not a query (user) image"),  # a shop image
        ({"query_image_id": "1"}, "query_image_id", "expected an integer"),
        ({"query_image_id": True}, "query_image_id", "expected an integer"),
        ({"query_bbox": [0, 0, 10]}, "query_bbox", "expected [x1, y1, x2, y2]"),
        ({"query_bbox": [0, 0, 10, float("nan")]}, "query_bbox", "4 finite numbers"),
        ({"query_cls": 14}, "query_cls", "1..13"),
        ({"query_cls": 1.0}, "query_cls", "1..13"),
        ({"query_score": None}, "query_score", "finite number"),
        ({"query_score": float("inf")}, "query_score", "finite number"),
        ({"gallery_image_id": [100] * 19}, "gallery_bbox", "19 ids but gallery_bbox has 20"),
        ({"gallery_image_id": [100] * 3 + ["x"] + [100] * 16}, "gallery_image_id[3]", "integer image id"),
        ({"gallery_image_id": [100] * 3 + [1.5] + [100] * 16}, "gallery_image_id[3]", "integer image id"),
        ({"gallery_bbox": [[0, 0, 1, 1]] * 5 + [[0, 0, 1]] + [[0, 0, 1, 1]] * 14}, "gallery_bbox[5]", "[x1, y1, x2, y2]"),
        ({"gallery_bbox": [[0, 0, 1, 1]] * 7 + [[0, 0, "1", 1]] + [[0, 0, 1, 1]] * 12}, "gallery_bbox[7]", "[x1, y1"),
        ({"gallery_image_id": 100}, "gallery_image_id", "expected a list"),
        ({"gallery_image_id": [2**70] + [100] * 19}, "gallery_image_id[0]", "integer image id"),
        ({"gallery_bbox": [5] * 20}, "gallery_bbox[0]", "[x1, y1, x2, y2]"),
        ({"gallery_bbox": ["abcd"] * 20}, "gallery_bbox[0]", "[x1, y1, x2, y2]"),
        ({"gallery_bbox": [[0, 0, 1, float("inf")]] * 20}, "gallery_bbox[0]", "finite"),
    ],
)
def test_malformed_entries_name_the_entry_and_field(tiny_gt, change, field, words):
    good = entry(1, [0, 0, 10, 10], CORRECT)
    results = [good, good, dict(good, **change)]
    with pytest.raises(ResultsError) as ei:
        evaluate_retrieval(tiny_gt, results)
    assert ei.value.item == "[2]" and ei.value.field == field
    assert words in str(ei.value)


@pytest.mark.parametrize("missing", ["query_image_id", "query_bbox", "query_cls", "query_score", "gallery_image_id",
                                     "gallery_bbox"])
def test_missing_field(tiny_gt, missing):
    e = entry(1, [0, 0, 10, 10], CORRECT)
    del e[missing]
    with pytest.raises(ResultsError, match="missing") as ei:
        evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], CORRECT), e])
    assert (ei.value.item, ei.value.field) == ("[1]", missing)


def test_not_an_object_and_not_a_list(tiny_gt):
    with pytest.raises(ResultsError, match=r"\[0\]: expected an object, got list"):
        evaluate_retrieval(tiny_gt, [[1, 2]])
    with pytest.raises(ResultsError, match="expected a list of result entries"):
        evaluate_retrieval(tiny_gt, {"query_image_id": 1})


def test_results_file_errors_name_the_file(tiny_gt, tmp_path):
    with pytest.raises(ResultsError, match="file not found"):
        evaluate_retrieval(tiny_gt, tmp_path / "nope.json")
    p = tmp_path / "bad.json"
    p.write_text("[{")
    with pytest.raises(ResultsError, match="invalid JSON") as ei:
        evaluate_retrieval(tiny_gt, p)
    assert ei.value.path == str(p)
    p.write_text('{"a": 1}')
    with pytest.raises(ResultsError, match="expected a JSON list"):
        evaluate_retrieval(tiny_gt, p)
    p.write_bytes(orjson.dumps([entry(1, [0, 0, 10, 10], CORRECT), {"query_image_id": 1}]))
    with pytest.raises(ResultsError) as ei:
        evaluate_retrieval(tiny_gt, p)
    assert (ei.value.path, ei.value.item, ei.value.field) == (str(p), "[1]", "query_bbox")


def test_gt_boxes_mode_errors(tiny_gt):
    e = entry(1, [0, 0, 10, 10], CORRECT)
    with pytest.raises(ResultsError, match="not a ground-truth box of image 1") as ei:
        evaluate_retrieval(tiny_gt, [e, dict(e, query_bbox=[0, 0, 10, 10.5])], gt_boxes=True)
    assert (ei.value.item, ei.value.field) == ("[1]", "query_bbox")
    with pytest.raises(ResultsError, match=r"entries \[0\] and \[2\] give the same ground-truth box"):
        evaluate_retrieval(tiny_gt, [e, entry(1, [20, 20, 30, 30], WRONG), e], gt_boxes=True)


def test_bad_options(tiny_gt):
    with pytest.raises(ConfigError, match="many-matches"):
        evaluate_retrieval(tiny_gt, [], subset="few")
    with pytest.raises(ConfigError, match="0..1"):
        evaluate_retrieval(tiny_gt, [], min_iou=1.5)
    with pytest.raises(ConfigError, match="gt_boxes"):
        evaluate_retrieval(tiny_gt, [], min_iou=0.5, gt_boxes=True)
    with pytest.raises(TypeError, match="gt: expected"):
        evaluate_retrieval(42, [])


def test_streaming_equals_one_call_and_keeps_global_entry_numbers():
    gt, results = random_case(3)
    one = evaluate_retrieval(gt, results)
    ev = RetrievalEvaluator(gt)
    for i in range(0, len(results), 7):
        ev.add(results[i : i + 7])
    assert ev.compute() == one
    ev.reset()
    ev.add(results[:10])
    with pytest.raises(ResultsError) as ei:
        ev.add([results[10], dict(results[11], query_cls=0)])
    assert ei.value.item == "[11]"
    assert RetrievalEvaluator(gt).compute().overall.hits == (0, 0, 0, 0, 0)


def test_to_dict_is_json_and_complete(tiny_gt):
    r = evaluate_retrieval(tiny_gt, [entry(1, [0, 0, 10, 10], WRONG * 3 + CORRECT)], subsets=True)
    d = orjson.loads(orjson.dumps(r.to_dict()))
    assert d["task"] == "retrieval" and d["num_queries"] == 1
    assert (d["top1"], d["top5"], d["hits5"]) == (0.0, 1.0, 1)
    assert d["counts"]["represented"] == 1 and d["subsets"]["scale"]["small"]["top20"] == 1.0


# ---- ground truth from disk ------------------------------------------------------------------------------
def _item(key, cat, style, box, attrs=(1, 2, 1, 2)):
    from df2kit.layout import Category

    k = Category(cat).num_landmarks
    x1, y1, x2, y2 = box
    return ClothingItem(key=key, category=cat, style=style, bbox_xyxy=box, landmarks=np.zeros((k, 3)),
                        segmentation=[[x1, y1, x2, y1, x2, y2]], scale=attrs[0], occlusion=attrs[1],
                        zoom_in=attrs[2], viewpoint=attrs[3])


@pytest.fixture
def split_dir(tmp_path):
    d = tmp_path / "validation"
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir()
    anns = [
        ImageAnnotation("000001", "user", 7, (_item("item1", 1, 1, (0, 0, 10, 10), (3, 1, 1, 2)),
                                              _item("item2", 8, 0, (20, 20, 30, 30)))),
        ImageAnnotation("000002", "user", 8, (_item("item1", 8, 1, (5, 5, 50, 50), (1, 1, 1, 2)),)),
        ImageAnnotation("000100", "shop", 7, (_item("item1", 1, 1, (0, 0, 10, 10)), _item("item2", 8, 0, (1, 1, 9, 9)))),
        ImageAnnotation("000101", "shop", 8, (_item("item1", 8, 1, (5, 5, 50, 50)),)),
    ]
    for a in anns:
        write_annotation(a, d / "annos" / f"{a.stem}.json")
    return d


def _split_results():
    return [entry(1, [0, 0, 10, 10], CORRECT), entry(2, [5, 5, 50, 50], WRONG + [(101, [5, 5, 50, 50])], cls=8)]


def test_gt_from_split_folder_root_files_and_table_agree(split_dir):
    results = _split_results()
    from_dir = evaluate_retrieval(split_dir, results, subsets=True)
    assert from_dir.num_queries == 2 and from_dir.overall.hits == (1, 2, 2, 2, 2)
    assert evaluate_retrieval(split_dir.parent, results, subsets=True) == from_dir  # dataset root
    table = scan_split(split_dir, None)
    assert evaluate_retrieval(table, results, subsets=True) == from_dir
    qp, gp = write_retrieval_ground_truth(retrieval_ground_truth(table), split_dir.parent / "gt")
    assert evaluate_retrieval(qp.parent, results, subsets=True) == from_dir
    assert evaluate_retrieval(qp, results, subsets=True) == from_dir
    assert evaluate_retrieval((qp, gp), results, subsets=True) == from_dir
    rows = {r.name: r for r in from_dir.subsets}
    assert rows["scale: large"].hits == (1, 1, 1, 1, 1) and rows["scale: small"].hits == (0, 1, 1, 1, 1)


def test_official_gt_files_without_attributes(split_dir, tmp_path):
    gt = retrieval_ground_truth(scan_split(split_dir, None))
    official_q = [{k: r[k] for k in ("query_image_id", "bbox", "cls", "style", "pair_id")} for r in gt.query_records()]
    (tmp_path / "query_gt.json").write_bytes(orjson.dumps(official_q))
    (tmp_path / "gallery_gt.json").write_bytes(orjson.dumps(gt.gallery_records()))
    r = evaluate_retrieval(tmp_path / "query_gt.json", _split_results())
    assert r.overall.hits == (1, 2, 2, 2, 2)
    with pytest.raises(FormatError, match="no scale / occlusion"):
        evaluate_retrieval(tmp_path, _split_results(), subsets=True)


def test_missing_gt_path(tmp_path):
    with pytest.raises(FormatError, match="no such file or folder"):
        evaluate_retrieval(tmp_path / "nope", [])
    with pytest.raises(FormatError, match="a folder holding query_gt.json and gallery_gt.json"):
        evaluate_retrieval(tmp_path, [])
