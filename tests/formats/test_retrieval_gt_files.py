"""Retrieval ground-truth files: the bulk reader agrees with the record-by-record one and bad records are
still named precisely."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from df2kit.errors import FormatError
from df2kit.formats import retrieval as R


def _gt(n: int = 50) -> R.RetrievalGroundTruth:
    rng = np.random.default_rng(3)
    return R.RetrievalGroundTruth(
        rng.integers(1, 100, n), rng.uniform(0, 500, (n, 4)).round(2), rng.integers(1, 14, n), rng.integers(0, 3, n),
        rng.integers(1, 20, n), rng.integers(1, 4, (n, 4)), rng.integers(1, 100, n), rng.uniform(0, 500, (n, 4)).round(2),
        rng.integers(1, 3, n), rng.integers(1, 20, n), rng.integers(1, 14, n),
    )


def _same(a: R.RetrievalGroundTruth, b: R.RetrievalGroundTruth) -> None:
    for f in a.__dataclass_fields__:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


def test_bulk_and_record_readers_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gt = _gt()
    R.write_retrieval_ground_truth(gt, tmp_path)
    fast = R.load_retrieval_ground_truth(tmp_path)
    _same(fast, gt)
    monkeypatch.setattr(R, "_fast_columns", lambda q, g: None)
    _same(R.load_retrieval_ground_truth(tmp_path / R.QUERY_FILE), gt)


@pytest.mark.parametrize(
    "file, index, key, value, field",
    [
        ("query_gt.json", 7, "cls", 14, "cls"),
        ("query_gt.json", 3, "query_image_id", "12", "query_image_id"),
        ("query_gt.json", 9, "bbox", [1, 2, 3], "bbox"),
        ("gallery_gt.json", 4, "style", True, "style"),
        ("gallery_gt.json", 0, "bbox", [1, "2", 3, 4], "bbox"),
    ],
)
def test_bad_record_is_named(tmp_path: Path, file: str, index: int, key: str, value, field: str) -> None:
    R.write_retrieval_ground_truth(_gt(), tmp_path)
    recs = json.loads((tmp_path / file).read_text())
    recs[index][key] = value
    (tmp_path / file).write_text(json.dumps(recs))
    with pytest.raises(FormatError) as ei:
        R.load_retrieval_ground_truth(tmp_path)
    assert ei.value.item == f"[{index}]" and ei.value.field == field and ei.value.path.endswith(file)
