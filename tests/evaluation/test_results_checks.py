"""Results are checked before scoring: one clear error naming the file, the entry and the field."""

from __future__ import annotations

import copy
import math

import orjson
import pytest

from df2kit.errors import ResultsError
from df2kit.evaluation import evaluate

from .conftest import only, random_case


@pytest.fixture(scope="module")
def case():
    return random_case(1, n_img=5)


def _bad(res, i, key, value):
    res = copy.deepcopy(res)
    if value is KeyError:
        del res[i][key]
    else:
        res[i][key] = value
    return res


@pytest.mark.parametrize(
    "task,key,value,message,field",
    [
        ("detection", "image_id", 999999999, "image id 999999999 is not in the ground truth", "image_id"),
        ("detection", "image_id", "12", "expected an integer", "image_id"),
        ("detection", "category_id", 14, "category id 14 is not a ground-truth category", "category_id"),
        ("detection", "score", math.nan, "expected a finite number", "score"),
        ("detection", "score", KeyError, "missing 'score'", "score"),
        ("detection", "score", True, "expected a number, got True", "score"),
        ("detection", "category_id", True, "expected an integer, got True", "category_id"),
        ("landmarks", "image_id", False, "expected an integer, got False", "image_id"),
        ("detection", "bbox", [1, 2, 3], "expected 4 numbers", "bbox"),
        ("detection", "bbox", [1, 2, -3, 4], "width and height >= 0", "bbox"),
        ("detection", "bbox", [1, 2, math.inf, 4], "finite", "bbox"),
        ("landmarks", "keypoints", [0.0] * 42, "expected 882 numbers (294 landmarks x [x, y, v]), got 42", "keypoints"),
        ("landmarks", "keypoints", [0.0] * 881 + [math.nan], "finite numbers, got nan at position 881", "keypoints"),
        ("landmarks", "keypoints", KeyError, "missing 'keypoints'", "keypoints"),
        ("segmentation", "segmentation", {"size": [3, 3], "counts": "9"}, "differs from the image size",
         "segmentation.size"),
        ("segmentation", "segmentation", [[1, 2, 3, 4, 5, 6]], "expected an RLE mask", "segmentation"),
    ],
)
def test_bad_entries_are_named(case, task, key, value, message, field) -> None:
    gt, res = case
    res = _bad(only(res, task), 3, key, value)
    with pytest.raises(ResultsError) as e:
        evaluate(task, gt, res)
    assert message in str(e.value)
    assert e.value.item == "entry 3" and e.value.field == field


def test_a_box_without_a_mask_is_refused_for_segmentation(case) -> None:
    gt, res = case
    res = only(res, "segmentation", keep_bbox=True)
    del res[2]["segmentation"]
    with pytest.raises(ResultsError, match="has a 'bbox' but no 'segmentation': refusing to score it as a mask"):
        evaluate("segmentation", gt, res)


def test_broken_run_lengths_are_refused(case) -> None:
    gt, res = case
    res = only(res, "segmentation")
    h, w = res[4]["segmentation"]["size"]
    for counts, msg in [("12~", "outside '0'..'o'"), ("1P", "ends in the middle of a number"),
                        ("12", f"add up to 3 pixels, expected height \\* width = {h * w}"),
                        ([1, 2], "add up to 3 pixels")]:
        bad = copy.deepcopy(res)
        bad[4]["segmentation"]["counts"] = counts
        with pytest.raises(ResultsError, match=msg) as e:
            evaluate("segmentation", gt, bad)
        assert e.value.item == "entry 4"


def test_masks_without_boxes_feed_detection(case) -> None:
    # like pycocotools' loadRes: the box of a mask-only result is the mask's tight box
    from .conftest import coco_eval

    gt, res = case
    masks_only = only(res, "segmentation")
    r = evaluate("detection", gt, masks_only)
    ref = coco_eval(gt, masks_only, "detection")
    assert r.scores[0].stats == pytest.approx(list(ref.stats), abs=1e-12)


def test_file_errors_name_the_file(case, tmp_path) -> None:
    gt, res = case
    p = tmp_path / "res.json"
    p.write_bytes(b'[{"image_id": 1, ')
    with pytest.raises(ResultsError, match="not closed") as e:
        evaluate("detection", gt, p)
    assert e.value.path == str(p)
    p.write_bytes(b'{"image_id": 1}')
    with pytest.raises(ResultsError, match="expected a JSON list"):
        evaluate("detection", gt, p)
    p.write_bytes(b"[" + b",".join(orjson.dumps(r) for r in only(res, "detection")) + b", {]")
    with pytest.raises(ResultsError, match="not valid JSON"):
        evaluate("detection", gt, p)
    with pytest.raises(ResultsError, match="no such results file"):
        evaluate("detection", gt, tmp_path / "missing.json")
    bad = only(res, "detection")
    bad[7]["image_id"] = 424242424
    p.write_bytes(orjson.dumps(bad))
    with pytest.raises(ResultsError) as e:
        evaluate("detection", gt, p)
    assert str(e.value).startswith(f"{p}: entry 7.image_id: image id 424242424")


def test_file_and_list_give_the_same_scores(case, tmp_path) -> None:
    gt, res = case
    res = only(res, "segmentation", keep_bbox=True)
    p = tmp_path / "res.json"
    p.write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2))
    a = evaluate("segmentation", gt, res)
    b = evaluate("segmentation", gt, p)
    assert a.scores[0].stats == b.scores[0].stats
    assert b.results_source == str(p)


@pytest.mark.parametrize("block", [64, 1000, 7777, 1 << 20])
@pytest.mark.parametrize("style", ["compact", "indent", "spaced"])
def test_results_files_are_read_in_blocks_cut_between_entries(tmp_path, block, style) -> None:
    import json

    from df2kit.evaluation._results import iter_result_chunks

    _, res = random_case(2, n_img=6)
    res = only(res, "segmentation", keep_bbox=True)
    text = {
        "compact": orjson.dumps(res),
        "indent": json.dumps(res, indent=2).encode(),
        "spaced": b" \n" + json.dumps(res, separators=(" , ", " : ")).encode() + b"\n ",
    }[style]
    p = tmp_path / "r.json"
    p.write_bytes(text)
    got, firsts = [], []
    for first, entries in iter_result_chunks(p, block):
        assert first == len(got)
        firsts.append(first)
        got.extend(entries)
    assert got == res
    if block < 1000:
        assert len(firsts) > 1


@pytest.mark.parametrize("task", ["detection", "landmarks", "segmentation"])
def test_an_empty_results_file_scores_zero(case, tmp_path, task) -> None:
    """A model that detects nothing writes ``[]``: every task reads it (landmarks once crashed on it)."""
    gt, _ = case
    p = tmp_path / "empty.json"
    p.write_bytes(b"[]")
    r = evaluate(task, gt, p)
    assert r.num_dt == 0 and r.ap == 0.0


def test_paths_may_start_with_a_tilde(case, tmp_path, monkeypatch) -> None:
    gt, res = case
    res = only(res, "detection")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "gt.json").write_bytes(orjson.dumps(gt))
    (tmp_path / "res.json").write_bytes(orjson.dumps(res))
    a = evaluate("detection", gt, res)
    b = evaluate("detection", "~/gt.json", "~/res.json")
    assert [s.stats for s in a.scores] == [s.stats for s in b.scores]
