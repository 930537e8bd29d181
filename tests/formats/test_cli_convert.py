"""`df2kit convert` and `df2kit pairs` in-process: each target, the summaries, usage errors (exit 2) and bad
input (exit 1, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from df2kit.cli.main import main
from df2kit.formats.pairs import positive_pairs
from df2kit.formats.retrieval import load_retrieval_ground_truth, retrieval_ground_truth
from df2kit.io import scan_split

from .._factory import make_split


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = tmp_path_factory.mktemp("cli")
    make_split(r, 16, seed=21)
    return r


def test_to_coco_prints_the_summary(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v.json"
    assert main(["-q", "convert", str(root), "--split", "validation", "--to", "coco", str(out)]) == 0
    text = capsys.readouterr().out
    assert "annotations (one per item, none dropped)" in text and "box width x height (official)" in text
    c = json.loads(out.read_text())
    assert len(c["images"]) == 16
    assert main(["-q", "convert", str(root / "validation"), "--to", "coco", str(out), "--area", "mask",
                 "--keypoints", "per-category", "--vis-only", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["area"], d["keypoints"], d["vis_only"], d["images"]) == ("mask", "per-category", True, 16)


def test_to_yolo_and_from_coco(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "convert", str(root), "--split", "validation", "--to", "yolo", str(tmp_path / "y"),
                 "--task", "pose", "--copy-images"]) == 0
    assert "label lines" in capsys.readouterr().out
    y = yaml.safe_load((tmp_path / "y" / "dataset.yaml").read_text())
    assert y["kpt_shape"] == [294, 3]
    assert not (tmp_path / "y" / "images" / "validation" / "000001.jpg").is_symlink()
    assert main(["-q", "convert", str(root), "--split", "validation", "--to", "coco", str(tmp_path / "c.json")]) == 0
    capsys.readouterr()
    assert main(["-q", "convert", "--from", "coco", str(tmp_path / "c.json"), str(tmp_path / "back"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == 16
    for f in (root / "validation" / "annos").iterdir():
        assert (tmp_path / "back" / "annos" / f.name).read_bytes() == f.read_bytes()


def test_to_retrieval(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "convert", str(root), "--split", "validation", "--to", "retrieval", str(tmp_path / "r")]) == 0
    assert "scored queries" in capsys.readouterr().out
    got = load_retrieval_ground_truth(tmp_path / "r")
    want = retrieval_ground_truth(scan_split(root, "validation"))
    assert got.num_queries == want.num_queries > 0 and got.num_gallery == want.num_gallery
    assert (got.query_image_id == want.query_image_id).all() and (got.gallery_bbox_xyxy == want.gallery_bbox_xyxy).all()


def test_pairs_command(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.jsonl"
    assert main(["-q", "pairs", str(root), "--split", "validation", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(ln) for ln in out.read_text().splitlines()]
    t = scan_split(root, "validation")
    p = positive_pairs(t)
    assert summary["positive_pairs"] == len(rows) == len(p) > 0
    for r, s, u in zip(rows, p.shop_item, p.user_item, strict=True):
        assert r["shop_image_id"] == t.image_id[t.item_image[s]] and r["user_item"] == t.item_key[u]
        assert r["shop_bbox"] == t.bbox_xyxy[s].tolist() and r["style"] == t.style[s] > 0
        assert r["pair_id"] == t.item_pair_id[u] == t.item_pair_id[s]
        assert set(r) == {"pair_id", "style", "shop_image_id", "shop_item", "shop_category_id", "shop_bbox",
                          "user_image_id", "user_item", "user_category_id", "user_bbox"}
    assert main(["-q", "pairs", str(root), "--split", "validation", str(out)]) == 0
    assert "positive pairs" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "R", "X.json"],  # neither --to nor --from
        ["convert", "R", "X", "--to", "coco", "--from", "coco"],
        ["convert", "R", "X", "--to", "parquet"],
    ],
)
def test_usage_errors_from_the_parser(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2


@pytest.mark.parametrize(
    "extra,msg",
    [
        (["--to", "coco", "--task", "pose"], "--task does not apply to --to coco"),
        (["--to", "yolo", "--area", "mask"], "--area does not apply"),
        (["--to", "yolo", "--vis-only"], "--task pose only"),
        (["--to", "retrieval", "--vis-only"], "--vis-only does not apply"),
        (["--from", "coco", "--split", "train"], "--split does not apply"),
        (["--from", "coco", "--task", "pose"], "--task does not apply to --from coco"),
    ],
)
def test_options_that_do_not_apply_exit_2(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], msg: str) -> None:
    assert main(["-q", "convert", str(root), str(tmp_path / "o")] + extra) == 2
    assert msg in capsys.readouterr().err


def test_bad_input_is_one_line_exit_1(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "convert", str(tmp_path / "nowhere"), "--to", "coco", str(tmp_path / "c.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("df2kit: error:") and "\n" not in err
    (tmp_path / "bad.json").write_text('{"images": [{"id": 1, "file_name": "../../x.jpg"}], "annotations": []}')
    assert main(["-q", "convert", "--from", "coco", str(tmp_path / "bad.json"), str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert "refusing file name" in err and "\n" not in err
