"""`df2kit show`: pictures of a dataset, of detection results and of retrieval results; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from df2kit.cli.main import main
from df2kit.io import scan_split
from df2kit.viz._draw import HIT

from .._factory import make_split


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_split(tmp_path_factory.mktemp("ds"), 12, seed=3)


def test_dataset_pictures_and_grid(split: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pics"
    assert main(["-q", "show", str(split.parent), "3", "000005", "--split", "validation", "--out", str(out), "--grid"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "000003.jpg"), str(out / "000005.jpg"), str(out / "grid.jpg")]
    with Image.open(out / "000003.jpg") as im:
        assert im.size[0] == 320 and im.size[1] > 240  # picture + caption band
    with Image.open(out / "grid.jpg") as im:
        assert im.size[0] > 2 * 320


def test_dataset_sample_is_deterministic(split: Path, tmp_path: Path, capsys) -> None:
    assert main(["-q", "show", str(split), "--sample", "3", "--seed", "1", "--out", str(tmp_path / "a"), "--format", "png"]) == 0
    first = capsys.readouterr().out.split()
    assert main(["-q", "show", str(split), "--sample", "3", "--seed", "1", "--out", str(tmp_path / "b"), "--format", "png"]) == 0
    second = capsys.readouterr().out.split()
    assert len(first) == 3 and [Path(p).name for p in first] == [Path(p).name for p in second]
    for a, b in zip(first, second):
        assert Path(a).read_bytes() == Path(b).read_bytes()


def _detections(split: Path) -> list[dict]:
    from df2kit.structures.masks import polygons_to_rle

    table = scan_split(split, None)
    out = []
    for j in range(table.num_items):
        out.append({"image_id": int(table.image_id[table.item_image[j]]), "category_id": int(table.category_id[j]),
                    "bbox": table.bbox_xywh[j].tolist(), "score": 0.9,
                    "keypoints": table.landmarks_294([j])[0].ravel().tolist(),
                    "segmentation": polygons_to_rle([p.ravel().tolist() for p in table.item_polygons(j)], 240, 320)})
    return out


def test_results_are_drawn_beside_the_ground_truth(split: Path, tmp_path: Path, capsys) -> None:
    res = tmp_path / "res.json"
    res.write_text(json.dumps(_detections(split)))
    assert main(["-q", "show", str(res), "2", "--images", str(split), "--out", str(tmp_path / "o"), "--format", "png"]) == 0
    (path,) = capsys.readouterr().out.split()
    assert Path(path).name == "000002_pred.png"
    with Image.open(path) as im:
        assert im.size[0] == 2 * 320 + 6
        both = np.asarray(im.convert("RGB")).astype(int)
    assert main(["-q", "show", str(res), "2", "--images", str(split), "--out", str(tmp_path / "n"), "--format", "png",
                 "--no-masks"]) == 0
    with Image.open(capsys.readouterr().out.split()[0]) as im:
        bare = np.asarray(im.convert("RGB")).astype(int)
    # the RLE masks of the predictions (right panel) and the polygons of the ground truth (left) are filled
    diff = np.abs(both - bare).sum(axis=2) > 30
    assert diff[:, :320].mean() > 0.02 and diff[:, 326:].mean() > 0.02


def test_results_need_images(split: Path, tmp_path: Path, capsys) -> None:
    res = tmp_path / "res.json"
    res.write_text("[]")
    assert main(["-q", "show", str(res), "2"]) == 2
    assert "--images" in capsys.readouterr().err


def test_retrieval_strips_mark_hits(split: Path, tmp_path: Path, capsys) -> None:
    table = scan_split(split, None)
    img_of = table.image_id[table.item_image]
    shop = np.flatnonzero((table.item_source == 0) & (table.style > 0))
    entries = []
    for j in np.flatnonzero(table.item_source == 1):
        if table.style[j] == 0:
            continue
        same = shop[(table.item_pair_id[shop] == table.item_pair_id[j]) & (table.style[shop] == table.style[j])]
        if not len(same):
            continue
        entries.append({"query_image_id": int(img_of[j]), "query_bbox": table.bbox_xyxy[j].tolist(),
                        "query_cls": int(table.category_id[j]), "query_score": 0.8,
                        "gallery_image_id": [int(img_of[g]) for g in same],
                        "gallery_bbox": [table.bbox_xyxy[g].tolist() for g in same]})
    assert entries, "the fixture split should hold a positive pair"
    qid = entries[0]["query_image_id"]
    res = tmp_path / "ret.json"
    res.write_text(json.dumps(entries))
    assert main(["-q", "show", str(res), str(qid), "--images", str(split), "--out", str(tmp_path / "o"), "--format", "png"]) == 0
    (path,) = capsys.readouterr().out.split()
    assert Path(path).name == f"{qid:06d}_retrieval.png"
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    assert (a == HIT).all(axis=2).sum() > 100  # the correct shop item is framed as a hit


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{split}", "99"], 1, "no image with id 99"),
        (["{split}", "abc"], 2, "digits"),
        (["{bad}", "1", "--images", "{split}"], 1, "expected a JSON list"),
        (["{missing}"], 1, "no such file"),
        (["{split}", "1", "--images", "{split}"], 2, "--images is for a results file"),
    ],
)
def test_errors_are_one_line(split: Path, tmp_path: Path, capsys, args, code, message) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"image_id": 1}')
    fill = {"split": str(split), "bad": str(bad), "missing": str(tmp_path / "nope")}
    argv = ["-q", "show"] + [a.format(**fill) for a in args] + ["--out", str(tmp_path / "o")]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_help_teaches_with_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["show", "--help"])
    out = capsys.readouterr().out
    assert "df2kit show ~/data/DeepFashion2 12 57" in out and "--images" in out


def test_results_sample_picks_images_that_have_results(split: Path, tmp_path: Path, capsys) -> None:
    dets = [d for d in _detections(split) if d["image_id"] in (3, 4, 7)]
    res = tmp_path / "res.json"
    res.write_text(json.dumps(dets))
    assert main(["-q", "show", str(res), "--sample", "2", "--images", str(split), "--out", str(tmp_path / "o")]) == 0
    names = [Path(p).name for p in capsys.readouterr().out.split()]
    assert len(names) == 2 and set(names) <= {"000003_pred.jpg", "000004_pred.jpg", "000007_pred.jpg"}


def test_retrieval_strips_per_image_are_capped_best_first(split: Path, tmp_path: Path, capsys) -> None:
    table = scan_split(split, None)
    img_of = table.image_id[table.item_image]
    j = int(np.flatnonzero(table.item_source == 1)[0])
    shop = np.flatnonzero(table.item_source == 0)[:5]
    entry = {"query_image_id": int(img_of[j]), "query_bbox": table.bbox_xyxy[j].tolist(), "query_cls": int(table.category_id[j]),
             "gallery_image_id": [int(img_of[g]) for g in shop], "gallery_bbox": [table.bbox_xyxy[g].tolist() for g in shop]}
    res = tmp_path / "ret.json"
    res.write_text(json.dumps([dict(entry, query_score=s) for s in (0.2, 0.9, 0.5, 0.7)]))
    heights = {}
    for n in (1, 3):
        assert main(["-q", "show", str(res), "--images", str(split), "--out", str(tmp_path / f"o{n}"), "--strips", str(n),
                     "--score-threshold", "0.3"]) == 0
        (path,) = capsys.readouterr().out.split()
        with Image.open(path) as im:
            heights[n] = im.size[1]
    assert 2.5 * heights[1] < heights[3] < 3.5 * heights[1]  # 3 strips (0.9, 0.7, 0.5); 0.2 is below the threshold
    assert main(["-q", "show", str(res), "--images", str(split), "--score-threshold", "0.95", "--out", str(tmp_path / "x")]) == 1
    assert "no retrieval entry with query_score >= 0.95" in capsys.readouterr().err
