"""validate_split finds each kind of problem of a split and stays quiet on a clean one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from df2kit.io import validate_split

from .._factory import make_split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "native"


def test_clean_split_is_ok(tmp_path: Path) -> None:
    d = make_split(tmp_path, 24, seed=5)
    r = validate_split(d)
    errors = [i for i in r.issues if i.severity == "error"]
    assert r.ok and not errors, errors
    assert r.num_images == 24 and r.num_annotation_files == 24
    assert set(r.counts()) <= {"unpaired-style"}


def _one(tmp_path: Path) -> Path:
    d = tmp_path / "validation"
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir()
    return d


def _add(d: Path, stem: str, fixture: str = "good", size=(320, 240), fmt="JPEG", data: dict | None = None) -> None:
    if data is not None:
        (d / "annos" / f"{stem}.json").write_text(json.dumps(data))
    else:
        shutil.copy(FIXTURES / f"{fixture}.json", d / "annos" / f"{stem}.json")
    Image.new("RGB", size).save(d / "image" / f"{stem}.jpg", format=fmt)


def test_each_split_level_problem(tmp_path: Path) -> None:
    d = _one(tmp_path)
    _add(d, "000001")
    _add(d, "000002", "landmarks_wrong_length")
    _add(d, "000003", size=(150, 200))  # item1 box (100..200, 40..161) leaves the 150x200 image
    _add(d, "000004", fmt="PNG")  # a PNG named .jpg
    shutil.copy(FIXTURES / "good.json", d / "annos" / "000005.json")  # no image
    Image.new("RGB", (50, 50)).save(d / "image" / "000006.jpg")  # no annotation
    (d / "image" / "000007.jpg").write_bytes(b"")  # 0-byte image
    shutil.copy(FIXTURES / "good.json", d / "annos" / "000007.json")
    r = validate_split(d)
    c = r.counts()
    assert not r.ok
    assert c["landmark-count"] == 1
    assert c["box-outside-image"] == 1
    assert c["image-format-mismatch"] == 1
    assert c["image-missing"] == 1
    assert c["annotation-missing"] == 1
    assert c["image-unreadable"] == 1
    box = next(i for i in r.issues if i.code == "box-outside-image")
    assert box.path.endswith("000003.json") and box.item == "item1" and box.field == "bounding_box"
    assert "150x200" in box.message
    d_json = r.to_dict()
    assert d_json["ok"] is False and d_json["errors"] == len(r.errors)
    assert {k["code"] for k in d_json["kinds"]} == set(c)


def test_unpaired_style_warning(tmp_path: Path) -> None:
    d = _one(tmp_path)
    _add(d, "000001")  # user, pair 7: item1 style 1, item2 style 0 -> style 1 has no shop partner
    r = validate_split(d)
    assert r.ok
    w = [i for i in r.issues if i.code == "unpaired-style"]
    assert len(w) == 1 and "pair_id 7 style 1 has user items but no shop item" in w[0].message
    good = json.loads((FIXTURES / "good.json").read_text())
    good["source"] = "shop"
    _add(d, "000002", data=good)
    assert validate_split(d).counts() == {}


def test_test_split_without_annos_is_fine(tmp_path: Path) -> None:
    d = tmp_path / "test" / "image"
    d.mkdir(parents=True)
    Image.new("RGB", (10, 10)).save(d / "000001.jpg")
    r = validate_split(tmp_path, "test")
    assert r.ok and r.num_images == 1
    (tmp_path / "validation" / "image").mkdir(parents=True)
    r2 = validate_split(tmp_path, "validation")
    assert not r2.ok and r2.counts() == {"missing-folder": 1}
