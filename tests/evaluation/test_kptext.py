"""Landmark lists read from text without Python floats give exactly what a JSON parser gives."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from df2kit.errors import ResultsError
from df2kit.evaluation import evaluate
from df2kit.evaluation._kptext import keypoints_from_lists, split_keypoint_lists
from df2kit.evaluation._results import iter_result_chunks
from df2kit.layout import CATEGORIES

from .conftest import only, random_case


def _entry(cat: int, rng, *, outside: float = 0.0, as_float: bool = True) -> dict:
    kp = np.full(882, outside) if outside else np.zeros(882)
    sl = CATEGORIES[cat - 1].landmark_slice
    kp.reshape(294, 3)[sl] = np.round(rng.uniform(-5, 500, (sl.stop - sl.start, 3)), 3)
    vals = kp.tolist() if as_float else [int(v) if v == int(v) else v for v in kp.tolist()]
    return {"image_id": 1, "category_id": cat, "keypoints": vals, "score": 0.5}


def test_lists_are_cut_out_and_read_back() -> None:
    rng = np.random.default_rng(0)
    entries = [_entry(int(c), rng, as_float=bool(i % 2)) for i, c in enumerate(rng.integers(1, 14, 60))]
    entries[5] = _entry(3, rng, outside=7.5)  # not zero outside the slice: read the ordinary way
    entries[9]["keypoints"] = entries[9]["keypoints"][:-3]  # a wrong count
    for style in ("compact", "spaced"):
        raw = orjson.dumps(entries) if style == "compact" else json.dumps(entries).encode()
        slim, spans = split_keypoint_lists(raw)
        assert len(spans) == 60 and b"keypoints\":[]" in slim.replace(b" ", b"")
        kp, ok = keypoints_from_lists(raw, spans, [e["category_id"] for e in entries])
        assert not ok[5] and not ok[9]
        if style == "compact":
            assert ok.sum() == 58
        for i in np.flatnonzero(ok):
            assert np.array_equal(kp[i].ravel(), np.asarray(entries[i]["keypoints"], dtype=float))


def test_lists_of_strings_or_nested_are_left_alone() -> None:
    raw = b'{"categories": [{"keypoints": ["a", "b"]}], "x": {"keypoints": [[1, 2]]}, "y": {"keypoints" : [1,2]}}'
    slim, spans = split_keypoint_lists(raw)
    assert orjson.loads(slim) == {"categories": [{"keypoints": ["a", "b"]}], "x": {"keypoints": [[1, 2]]},
                                  "y": {"keypoints": []}}
    assert [raw[a:b] for a, b in spans] == [b"[1,2]"]


@pytest.mark.parametrize("block", [2000, 1 << 20])
def test_landmark_results_files_read_the_same(tmp_path, block) -> None:
    rng = np.random.default_rng(1)
    entries = [_entry(int(c), rng) for c in rng.integers(1, 14, 40)]
    entries[3]["keypoints"][0] = 2.0  # a whole number outside the slice
    p = tmp_path / "r.json"
    p.write_bytes(orjson.dumps(entries))
    got = [e for _, block_entries in iter_result_chunks(p, block, whole_numbers=True) for e in block_entries]
    assert len(got) == 40
    for a, b in zip(got, entries):
        assert np.array_equal(np.asarray(a["keypoints"], dtype=float), np.asarray(b["keypoints"], dtype=float))


def test_ground_truth_and_results_files_score_as_dicts(tmp_path) -> None:
    gt, res = random_case(31, n_img=10)
    res = only(res, "landmarks")
    gp, rp = tmp_path / "gt.json", tmp_path / "res.json"
    gp.write_bytes(orjson.dumps(gt))
    rp.write_bytes(orjson.dumps(res))
    a = evaluate("landmarks", gt, res)
    b = evaluate("landmarks", gp, rp)
    assert [s.stats for s in a.scores] == [s.stats for s in b.scores]


def test_bad_landmark_numbers_in_a_file_are_named(tmp_path) -> None:
    gt, res = random_case(32, n_img=4)
    res = only(res, "landmarks")
    text = orjson.dumps(res)
    i = text.find(b'"keypoints":[') + len(b'"keypoints":[')
    bad = text[:i] + b"1,2,3]" + text[text.find(b"]", i) + 1 :]  # the first entry: 3 numbers
    p = tmp_path / "res.json"
    p.write_bytes(bad)
    with pytest.raises(ResultsError, match="entry 0.keypoints: expected 882 numbers"):
        evaluate("landmarks", gt, p)


@pytest.mark.parametrize("where", ["slice", "outside"])
def test_a_space_inside_a_number_is_not_json(tmp_path, where) -> None:
    """``5 .0`` is not a number: the reader must not turn it into 5 while making ``x.0`` whole."""
    gt, res = random_case(33, n_img=4)
    res = only(res, "landmarks")
    res[0]["keypoints"] = [float(v) for v in res[0]["keypoints"]]
    text = orjson.dumps(res, option=orjson.OPT_NON_STR_KEYS)
    i = text.find(b'"keypoints":[') + len(b'"keypoints":[')
    j = text.find(b"]", i)
    nums = text[i:j].split(b",")
    cat = res[0]["category_id"]
    k = 3 * CATEGORIES[cat - 1].landmark_slice.start if where == "slice" else (0 if cat != 1 else 881)
    nums[k] = nums[k].replace(b".", b" .", 1)
    p = tmp_path / "res.json"
    p.write_bytes(text[:i] + b",".join(nums) + text[j:])
    with pytest.raises(ResultsError):
        evaluate("landmarks", gt, p)
