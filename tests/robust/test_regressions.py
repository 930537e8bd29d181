"""Crashes the property tests and the fuzzer found, pinned: each used to raise a non-df2kit exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from df2kit.errors import DF2Error, FormatError
from df2kit.evaluation._results import iter_result_chunks
from df2kit.formats.coco import from_coco, to_coco


@pytest.fixture()
def coco(results_gt: Path, tmp_path: Path) -> dict:
    to_coco(results_gt, tmp_path / "c.json", workers=1)
    return json.loads((tmp_path / "c.json").read_bytes())


def test_item_key_that_is_not_a_string_gets_a_new_key(coco: dict, tmp_path: Path) -> None:
    coco["annotations"][0]["item_key"] = ["item1"]  # was: TypeError: unhashable type: 'list'
    (tmp_path / "bad.json").write_text(json.dumps(coco))
    s = from_coco(tmp_path / "bad.json", tmp_path / "out")
    assert s.keys_assigned == 1 and s.items == len(coco["annotations"])


def test_ragged_keypoints_are_a_format_error(coco: dict, tmp_path: Path) -> None:
    coco["annotations"][0]["keypoints"][5] = [1, 2]  # was: ValueError from numpy (inhomogeneous shape)
    (tmp_path / "bad.json").write_text(json.dumps(coco))
    with pytest.raises(FormatError, match="expected a flat list of numbers") as e:
        from_coco(tmp_path / "bad.json", tmp_path / "out")
    assert e.value.item.startswith("annotations[0]") and e.value.field == "keypoints"
    assert not (tmp_path / "out" / "annos").exists()


@pytest.mark.parametrize(
    "field,value",
    [("segmentation", [[""]]), ("segmentation", [["1", "2", "3", "4", "5", "6"]]), ("bbox", ["", 1, 2, 3]),
     ("segmentation", [[True, 1, 2, 3, 4, 5]])],
)
def test_strings_where_numbers_belong_are_a_df2kit_error(coco: dict, tmp_path: Path, field: str, value) -> None:
    # was: ValueError "could not convert string to float: ''" from the item record (found by the property test)
    coco["annotations"][0][field] = value
    (tmp_path / "bad.json").write_text(json.dumps(coco))
    with pytest.raises(DF2Error) as e:
        from_coco(tmp_path / "bad.json", tmp_path / "out")
    assert e.value.field is not None and e.value.field.startswith(field.replace("bbox", "b"))
    assert not (tmp_path / "out" / "annos").exists()


@pytest.mark.parametrize("keypoints", [b"[]", b"[5]", b'["x"]'])
def test_short_landmark_lists_are_read_not_crashed_on(tmp_path: Path, keypoints: bytes) -> None:
    # was: IndexError in the landmark text reader when a block held no 882-number list
    p = tmp_path / "r.json"
    p.write_bytes(b'[{"image_id": 1, "category_id": 9, "keypoints": ' + keypoints + b', "score": 0.5}]')
    (first, entries), = list(iter_result_chunks(p, whole_numbers=True))
    assert first == 0 and entries[0]["keypoints"] == json.loads(keypoints)


def test_huge_category_id_in_a_landmarks_file(tmp_path: Path) -> None:
    # was: OverflowError converting 2**63 to a C long in the landmark text reader
    p = tmp_path / "r.json"
    kp = ", ".join(["0.0"] * 882)
    p.write_text(f'[{{"image_id": 1, "category_id": {2**63}, "keypoints": [{kp}], "score": 0.5}}]')
    (_, entries), = list(iter_result_chunks(p, whole_numbers=True))
    assert entries[0]["category_id"] == 2**63 and len(entries[0]["keypoints"]) == 882


@pytest.mark.parametrize("field", ["image_id", "category_id"])
@pytest.mark.parametrize("value", [[], [1], [[2]]])
def test_a_list_in_place_of_an_id_is_a_results_error(results_gt: Path, field: str, value) -> None:
    # was: ValueError "operands could not be broadcast" (np.array([[]]) has shape (1, 0), read as ids)
    from df2kit.errors import ResultsError
    from df2kit.evaluation import evaluate
    from df2kit.io import scan_split

    table = scan_split(results_gt, None, cache=False, workers=1)
    entry = {"image_id": int(table.image_id[0]), "category_id": 1, "keypoints": [0.0] * 882, "score": 0.5,
             field: value}
    with pytest.raises(ResultsError, match=field):
        evaluate("landmarks", table, [entry])
