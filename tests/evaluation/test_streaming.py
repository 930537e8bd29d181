"""The streaming Evaluator: image by image, several tasks from one entry, the same scores as evaluate()."""

from __future__ import annotations

from collections import defaultdict

import pytest

from df2kit.errors import ResultsError
from df2kit.evaluation import Evaluator, evaluate

from .conftest import random_case


def test_image_by_image_equals_the_whole_list() -> None:
    gt, res = random_case(13, n_img=15)
    by_image = defaultdict(list)
    for r in res:
        by_image[r["image_id"]].append({k: v for k, v in r.items() if k != "image_id"})  # ids left out
    ev = Evaluator(gt, tasks=("detection", "segmentation", "landmarks"))
    for iid, entries in by_image.items():
        ev.add(iid, entries)
    got = ev.compute()
    # the same entries in the same order, as one list
    flat = [dict(e, image_id=iid) for iid, entries in by_image.items() for e in entries]
    for task in ("detection", "segmentation", "landmarks"):
        want = evaluate(task, gt, flat)
        assert [s.stats for s in got[task].scores] == [s.stats for s in want.scores]
        assert got[task].num_dt == len(res)


def test_compute_can_be_called_again_after_more_results() -> None:
    gt, res = random_case(14, n_img=8)
    ev = Evaluator(gt, tasks=("detection",))
    ev.add_entries(res[: len(res) // 2])
    first = ev.compute()["detection"]
    ev.add_entries(res[len(res) // 2 :])
    assert ev.compute()["detection"].scores[0].stats == evaluate("detection", gt, res).scores[0].stats
    assert first.num_dt == len(res) // 2


def test_an_entry_of_another_image_is_refused() -> None:
    gt, res = random_case(15, n_img=4)
    ev = Evaluator(gt)
    with pytest.raises(ResultsError, match="entry says image"):
        ev.add(res[0]["image_id"] + 1, [res[0]])


def test_unknown_task() -> None:
    gt, _ = random_case(15, n_img=2)
    with pytest.raises(ValueError, match="unknown task"):
        Evaluator(gt, tasks=("boxes",))
    with pytest.raises(ValueError, match="unknown task"):
        evaluate("boxes", gt, [])


def test_result_records_are_frozen_and_serialisable() -> None:
    import dataclasses

    import orjson

    gt, res = random_case(16, n_img=6)
    r = evaluate("segmentation", gt, res, subsets=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.task = "x"  # type: ignore[misc]
    d = orjson.loads(orjson.dumps(r.to_dict()))
    assert d["ap"] == pytest.approx(r.ap)
    assert set(d["scores"][0]["stats"]) == set(r.scores[0].stat_names)
    assert len(d["scores"][0]["pr_curves"]["mean"]) == 101
    assert r.scores[0].stat("AP75") == r.ap75
    text = r.format()
    assert text.splitlines()[0].startswith("clothes segmentation (masks): 6 images")
    assert "AP_small" in text and "per category" in text and "zoom-in" in text


def test_reading_a_file_in_several_processes_gives_the_same(tmp_path, monkeypatch) -> None:
    import orjson

    from df2kit.evaluation import _api

    monkeypatch.setattr(_api, "_PARALLEL_MIN_BYTES", 0)
    gt, res = random_case(17, n_img=20)
    p = tmp_path / "res.json"
    p.write_bytes(orjson.dumps(res))
    for task in ("detection", "segmentation", "landmarks"):
        one = evaluate(task, gt, p, workers=1)
        three = evaluate(task, gt, p, workers=3)
        assert [s.stats for s in three.scores] == [s.stats for s in one.scores]
        assert three.num_dt == len(res)
    # an error in a later part names the entry's index in the whole file
    bad = [dict(r) for r in res]
    bad[-2]["score"] = "high"
    p.write_bytes(orjson.dumps(bad))
    with pytest.raises(ResultsError) as e:
        evaluate("detection", gt, p, workers=3)
    assert e.value.item == f"entry {len(res) - 2}" and e.value.field == "score"
