"""Prediction: the result files have the official layout (and df2kit's evaluators read them), retrieval lists
rank shop detections of the same input, plain image folders work, and bad input is one clear error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from df2kit.cli.main import main
from df2kit.engine import predict
from df2kit.errors import ConfigError, ImageError
from df2kit.io import scan_split
from df2kit.layout import NUM_LANDMARKS_BY_ID, OFFSET_BY_ID
from df2kit.structures.masks import decode_rle

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def predicted(untrained_checkpoint, synth_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("pred")
    summary = predict(untrained_checkpoint, synth_root / "validation", out, batch_size=3, workers=0, draw=2)
    return summary, out


def test_results_file_has_the_official_layout(predicted, synth_root) -> None:
    summary, out = predicted
    results = json.loads((out / "results.json").read_text())
    table = scan_split(synth_root, "validation").with_image_sizes()
    size = {int(i): (int(h), int(w)) for i, h, w in zip(table.image_id, table.height, table.width)}
    assert summary.images == len(table) and summary.detections == len(results) > 0
    assert {r["image_id"] for r in results} <= set(size)
    for r in results:
        assert set(r) == {"image_id", "category_id", "bbox", "score", "keypoints", "segmentation"}
        x, y, w, h = r["bbox"]
        assert w >= 0 and h >= 0 and 0.0 <= r["score"] <= 1.0 and 1 <= r["category_id"] <= 13
        kp = np.array(r["keypoints"]).reshape(294, 3)
        o, k = OFFSET_BY_ID[r["category_id"]], NUM_LANDMARKS_BY_ID[r["category_id"]]
        assert (kp[o : o + k, 2] == 1).all()
        assert not np.delete(kp, np.s_[o : o + k], axis=0).any()  # nothing outside the category's slice
        assert tuple(r["segmentation"]["size"]) == size[r["image_id"]]
        mask = decode_rle(r["segmentation"])
        if mask.any():  # the mask lies within the box (pasted in it, give or take a pixel)
            ys, xs = np.nonzero(mask)
            assert xs.min() >= x - 2 and xs.max() <= x + w + 2 and ys.min() >= y - 2 and ys.max() <= y + h + 2
    per_image = {}
    for r in results:
        per_image.setdefault(r["image_id"], []).append(r["score"])
    assert max(len(v) for v in per_image.values()) <= 8  # detections_per_image of the checkpoint


def test_retrieval_results_rank_shop_detections(predicted, synth_root) -> None:
    summary, out = predicted
    table = scan_split(synth_root, "validation")
    source = {int(i): int(s) for i, s in zip(table.image_id, table.source)}
    entries = json.loads((out / "retrieval_results.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert len(entries) == summary.queries == sum(1 for r in results if source[r["image_id"]] == 1)
    shop_boxes = {(r["image_id"], tuple(round(v, 1) for v in r["bbox"])) for r in results if source[r["image_id"]] == 0}
    for e in entries:
        assert set(e) == {"query_image_id", "query_bbox", "query_cls", "query_score", "gallery_image_id", "gallery_bbox"}
        assert source[e["query_image_id"]] == 1
        assert len(e["gallery_image_id"]) == len(e["gallery_bbox"]) == min(20, summary.gallery)
        for g, b in zip(e["gallery_image_id"], e["gallery_bbox"]):
            assert source[g] == 0
            xywh = (round(b[0], 1), round(b[1], 1), round(b[2] - b[0], 1), round(b[3] - b[1], 1))
            assert any(g == i and np.allclose(xywh, bb, atol=0.11) for i, bb in shop_boxes)


def test_retrieval_scorer_accepts_the_file(predicted, synth_root) -> None:
    from df2kit.evaluation.retrieval import evaluate_retrieval

    _, out = predicted
    res = evaluate_retrieval(synth_root / "validation", out / "retrieval_results.json").to_dict()
    assert res["counts"]["results"] == len(json.loads((out / "retrieval_results.json").read_text()))
    assert all(0.0 <= res[f"top{k}"] <= 1.0 for k in (1, 5, 10, 15, 20))
    assert res["top1"] <= res["top20"]


def test_coco_scorers_accept_the_file(predicted, synth_root) -> None:
    from df2kit.evaluation import evaluate

    _, out = predicted
    results = json.loads((out / "results.json").read_text())
    for task in ("detection", "landmarks", "segmentation"):
        res = evaluate(task, synth_root / "validation", out / "results.json")
        assert res.num_dt == len(results) and 0.0 <= res.ap <= 1.0


def test_pictures_show_ground_truth_beside_predictions(predicted, synth_root) -> None:
    from PIL import Image

    _, out = predicted
    pics = sorted((out / "pictures").glob("*.jpg"))
    assert len(pics) == 2
    for p in pics:
        with Image.open(synth_root / "validation" / "image" / p.name) as src, Image.open(p) as pic:
            assert pic.width >= 2 * src.width  # df2kit.viz.compare: two panels side by side


def test_plain_image_folder_gets_assigned_ids(untrained_checkpoint, synth_root, tmp_path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, p in enumerate(sorted((synth_root / "validation" / "image").glob("*.jpg"))[:3]):
        shutil.copy(p, folder / f"holiday {i}.JPG")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    summary = predict(untrained_checkpoint, folder, out, workers=0)
    assert summary.images == 3 and summary.retrieval_path is None
    assert "no annos/" in summary.retrieval_skipped and "no annos/" in summary.format()
    ids = json.loads((out / "image_ids.json").read_text())
    assert ids == {"holiday 0.JPG": 1, "holiday 1.JPG": 2, "holiday 2.JPG": 3}
    assert {r["image_id"] for r in json.loads((out / "results.json").read_text())} <= {1, 2, 3}


def test_bad_inputs_are_clear_errors(untrained_checkpoint, synth_root, tmp_path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copy(next((synth_root / "validation" / "image").glob("*.jpg")), folder / "000001.jpg")
    (folder / "000002.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageError) as e:
        predict(untrained_checkpoint, folder, tmp_path / "o1", workers=0)
    assert e.value.path == str(folder / "000002.jpg")
    assert not (tmp_path / "o1" / "results.json").exists()  # nothing half-written
    not_ckpt = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, not_ckpt)
    with pytest.raises(ConfigError, match="not a df2kit checkpoint"):
        predict(not_ckpt, folder, tmp_path / "o2")
    (tmp_path / "empty").mkdir()
    assert main(["-q", "predict", str(untrained_checkpoint), str(tmp_path / "empty"), "--out", str(tmp_path / "o3")]) == 1


def test_predict_command(untrained_checkpoint, synth_root, tmp_path, capsys) -> None:
    code = main(["-q", "predict", str(untrained_checkpoint), str(synth_root / "validation"), "--out", str(tmp_path / "o"),
                 "--workers", "0", "--no-retrieval", "--score-thresh", "0.5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "df2kit predict" in printed and "images" in printed
    assert "--no-retrieval" in printed and "no annos/" not in printed  # says why there is no retrieval file
    assert not (tmp_path / "o" / "retrieval_results.json").exists()
    assert all(r["score"] >= 0.5 for r in json.loads((tmp_path / "o" / "results.json").read_text()))


def test_evaluation_keeps_low_scores_and_restores_the_model(untrained_checkpoint, synth_root, tmp_path) -> None:
    """AP is measured on every detection down to EVAL_SCORE_THRESH (at most EVAL_DETECTIONS per image), not the
    model's own cut-off, and the model keeps its settings afterwards."""
    from collections import Counter

    from df2kit.engine._eval import EVAL_DETECTIONS, EVAL_SCORE_THRESH, evaluate_split
    from df2kit.engine.checkpoint import load_model

    model, _ = load_model(untrained_checkpoint)
    own = model.roi_heads.score_thresh, model.roi_heads.detections_per_img
    table = scan_split(synth_root, "validation").select(np.arange(4))
    scores = evaluate_split(model, table, tmp_path, device=torch.device("cpu"), batch_size=2)
    assert (model.roi_heads.score_thresh, model.roi_heads.detections_per_img) == own == (0.0, 8)
    results = json.loads((tmp_path / "results.json").read_text())
    per_image = Counter(r["image_id"] for r in results)
    assert own[1] < max(per_image.values()) <= EVAL_DETECTIONS
    assert min(r["score"] for r in results) >= EVAL_SCORE_THRESH
    assert set(scores) == {"detection", "landmarks", "segmentation", "retrieval"}
