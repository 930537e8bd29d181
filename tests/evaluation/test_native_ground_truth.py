"""A native split folder is scored as the official conversion (spec section 3) + pycocotools would score it."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from PIL import Image

from df2kit.evaluation import evaluate, load_ground_truth
from df2kit.io import scan_split, write_annotation
from df2kit.layout import CATEGORIES, NUM_LANDMARKS
from df2kit.structures import ClothingItem, ImageAnnotation
from df2kit.structures.masks import polygons_to_rle

from .conftest import coco_eval, vis_only


def _make_split(root, seed: int = 0):
    """A small split: images of different sizes, items with several, degenerate or no polygons."""
    rng = np.random.default_rng(seed)
    split = root / "validation"
    (split / "annos").mkdir(parents=True)
    (split / "image").mkdir()
    truth = []  # (image id, h, w, items)
    for n in range(14):
        stem = f"{(n * 7 + 3):06d}"  # ids with gaps
        h, w = int(rng.integers(60, 140)), int(rng.integers(60, 140))
        Image.new("RGB", (w, h), (120, 100, 80)).save(split / "image" / f"{stem}.jpg")
        items = []
        for k in range(int(rng.integers(1, 4))):
            cat = CATEGORIES[int(rng.integers(0, 13))]
            x1, y1 = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
            x2, y2 = rng.uniform(x1 + 5, w), rng.uniform(y1 + 5, h)
            lm = np.column_stack([rng.uniform(x1, x2, cat.num_landmarks), rng.uniform(y1, y2, cat.num_landmarks),
                                  rng.choice([0, 1, 2], cat.num_landmarks)])
            if rng.random() < 0.15:
                lm[:, 2] = 0
            lm[lm[:, 2] == 0, :2] = 0
            lm[:, :2] = np.round(lm[:, :2], 1)
            poly = [x1, y1, x2, y1 + 2, x2 - 3, y2, x1 + 1, y2]
            kind = rng.integers(0, 4)
            segs = {0: [poly], 1: [poly, [x1, y1, x1 + 4, y1 + 4, x1, y1 + 6]], 2: [poly, [x1, y1, x2, y2]],
                    3: [[x1, y1, x2, y2]]}[int(kind)]  # 2 and 3 hold a 2-point polygon: repaired
            items.append(ClothingItem(
                key=f"item{k + 1}", category=cat.id, style=int(rng.integers(0, 3)), bbox_xyxy=(x1, y1, x2, y2),
                landmarks=lm, segmentation=[np.round(np.asarray(s), 2).tolist() for s in segs],
                scale=int(rng.integers(1, 4)), occlusion=int(rng.integers(1, 4)), zoom_in=int(rng.integers(1, 4)),
                viewpoint=int(rng.integers(1, 4)),
            ))
        ann = ImageAnnotation(stem=stem, source=str(rng.choice(["shop", "user"])), pair_id=n, items=tuple(items))
        write_annotation(ann, split / "annos" / f"{stem}.json")
        truth.append((int(stem), h, w, items))
    return split, truth


def _official_coco(truth):
    """The official conversion rules, written out plainly (spec section 3)."""
    images, anns = [], []
    for iid, h, w, items in truth:
        images.append({"id": iid, "file_name": f"{iid:06d}.jpg", "height": h, "width": w})
        for it in items:
            x1, y1, x2, y2 = it.bbox_xyxy
            kp = np.zeros((NUM_LANDMARKS, 3))
            kp[it.category.landmark_slice] = it.landmarks
            polys = [p.ravel().tolist() for p in it.segmentation if len(p) >= 3]
            if not polys:
                polys = [[x1, y1, x2, y1, x2, y2, x1, y2]]
            anns.append({
                "id": len(anns) + 1, "image_id": iid, "category_id": it.category_id,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
                "segmentation": polys, "keypoints": kp.ravel().tolist(),
                "num_keypoints": int((kp[:, 2] > 0).sum()),
                "scale": it.scale, "occlusion": it.occlusion, "zoom_in": it.zoom_in, "viewpoint": it.viewpoint,
            })
    cats = [{"id": c.id, "name": c.coco_name} for c in CATEGORIES]
    return {"images": images, "annotations": anns, "categories": cats}


def _results(truth, seed: int = 1):
    rng = np.random.default_rng(seed)
    res = []
    for iid, h, w, items in truth:
        for it in items:
            for _ in range(3):
                x1, y1, x2, y2 = np.asarray(it.bbox_xyxy) + rng.normal(0, 3, 4)
                x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
                kp = np.zeros((NUM_LANDMARKS, 3))
                kp[it.category.landmark_slice, :2] = it.landmarks[:, :2] + rng.normal(0, 2, (len(it.landmarks), 2))
                kp[it.category.landmark_slice, 2] = 2
                cat = it.category_id if rng.random() < 0.8 else int(rng.integers(1, 14))
                res.append({"image_id": iid, "category_id": cat, "score": float(rng.random()),
                            "bbox": [float(v) for v in (x1, y1, x2 - x1, y2 - y1)], "keypoints": kp.ravel().tolist(),
                            "segmentation": polygons_to_rle([[x1, y1, x2, y1, x2, y2, x1, y2]], h, w)})
    return res


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("df2")
    split, truth = _make_split(root)
    return split, truth, _official_coco(truth), _results(truth)


@pytest.mark.parametrize("task", ["detection", "segmentation", "landmarks"])
def test_native_split_scores_as_the_official_conversion(split, task) -> None:
    folder, _truth, coco, res = split
    r = evaluate(task, folder, res)
    ref = coco_eval(coco, res, task)
    np.testing.assert_allclose(r.scores[-1].stats, ref.stats, rtol=0, atol=1e-12)
    if task == "landmarks":
        ref_vis = coco_eval(vis_only(coco), res, task)
        np.testing.assert_allclose(r.variant("vis").stats, ref_vis.stats, rtol=0, atol=1e-12)
    # a SplitTable and the COCO file of the official conversion give the same
    table = scan_split(folder, None)
    assert evaluate(task, table.with_image_sizes(), res).scores[-1].stats == r.scores[-1].stats
    assert evaluate(task, coco, res).scores[-1].stats == r.scores[-1].stats


def test_native_ground_truth_columns(split) -> None:
    folder, truth, coco, _ = split
    gt = load_ground_truth(folder, need_sizes=True)
    assert gt.image_ids.tolist() == sorted(t[0] for t in truth)
    assert gt.heights.tolist() == [t[1] for t in sorted(truth)]
    assert np.allclose(gt.area, [a["area"] for a in coco["annotations"]])
    assert gt.num_keypoints.tolist() == [a["num_keypoints"] for a in coco["annotations"]]
    assert gt.notes.get("dropped-degenerate", 0) > 0  # 2-point polygons were repaired, and said so


def test_segmentation_of_a_split_without_images_says_what_is_missing(tmp_path) -> None:
    from df2kit.errors import DF2Error

    folder, truth = _make_split(tmp_path, seed=3)
    (folder / "image" / f"{truth[0][0]:06d}.jpg").unlink()
    res = _results(truth)
    with pytest.raises(DF2Error, match="size"):
        evaluate("segmentation", folder, res)
    # boxes and landmarks do not need the images
    assert evaluate("detection", folder, res).ap > 0


def test_cli_evaluate_prints_tables_and_writes_json(split, tmp_path, capsys) -> None:
    from df2kit.cli.main import main

    folder, _truth, coco, res = split
    rp = tmp_path / "res.json"
    rp.write_bytes(orjson.dumps(res))
    out = tmp_path / "out"
    assert main(["-q", "evaluate", "--task", "landmarks", str(folder), str(rp), "--subsets", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "vis && hide" in text and "per subset" in text and "side or back" in text
    data = orjson.loads((out / "landmarks.json").read_bytes())
    assert data["task"] == "landmarks" and [s["variant"] for s in data["scores"]] == ["vis", "vis_hide"]
    assert len(data["scores"][0]["pr_curves"]["iou50"]) == 101 and len(data["scores"][0]["subsets"]) == 12
    ref = coco_eval(coco, res, "landmarks")
    assert data["scores"][1]["stats"]["AP"] == pytest.approx(ref.stats[0], abs=1e-12)
    assert main(["-q", "evaluate", "--task", "detection", str(folder), str(rp), "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["ap"] == pytest.approx(coco_eval(coco, res, "detection").stats[0])


def test_cli_errors_are_one_line(split, tmp_path, capsys) -> None:
    from df2kit.cli.main import main

    folder, _truth, _coco, res = split
    bad = [dict(r) for r in res]
    bad[5]["keypoints"] = [0.0] * 10
    rp = tmp_path / "bad.json"
    rp.write_bytes(orjson.dumps(bad))
    assert main(["-q", "evaluate", "--task", "landmarks", str(folder), str(rp)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "entry 5.keypoints: expected 882 numbers" in err
    assert main(["-q", "evaluate", "--task", "detection", str(tmp_path / "nope"), str(rp)]) == 1
    assert "no such split folder or ground-truth file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--task", "boxes", str(folder), str(rp)])
    assert e.value.code == 2
