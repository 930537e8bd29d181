"""The output is a DeepFashion2 root: the reader takes it strictly, validate finds no error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from df2kit.io import scan_split, validate_split
from df2kit.io.images import image_size

from .conftest import QUIRKY


@pytest.mark.parametrize("split", ["train", "validation"])
def test_strict_reader_takes_every_file(quirky_root: Path, split: str) -> None:
    table = scan_split(quirky_root / split, strict=True, cache=False)
    assert len(table) == QUIRKY[split]
    assert table.num_items >= len(table)
    assert set(table.source.tolist()) == {0, 1}


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_validate_finds_no_errors_and_quirks_warn_only(quirky_root: Path, split: str) -> None:
    report = validate_split(quirky_root, split, cache=False)
    assert report.ok, report.format()
    assert set(report.counts()) <= {"degenerate-polygon"}
    if split != "test":
        assert report.counts().get("degenerate-polygon", 0) >= 1


def test_without_quirks_there_is_nothing_to_warn_about(clean_root: Path) -> None:
    for split in ("validation", "test"):
        report = validate_split(clean_root, split, cache=False)
        assert report.ok and not report.issues, report.format()


def test_test_split_has_images_only(quirky_root: Path) -> None:
    d = quirky_root / "test"
    assert not (d / "annos").exists()
    assert len(list((d / "image").glob("*.jpg"))) == QUIRKY["test"]


def test_files_look_like_the_released_ones(quirky_root: Path) -> None:
    d = quirky_root / "validation"
    stems = sorted(p.stem for p in (d / "annos").glob("*.json"))
    numbers = [int(s) for s in stems]
    assert stems[0] == "000001" and all(len(s) == 6 for s in stems)
    assert numbers[-1] > len(numbers), "quirks leave gaps in the numbering"
    shuffled = closed = empty_items = 0
    aspects = set()
    for stem in stems:
        obj = json.loads((d / "annos" / f"{stem}.json").read_text())
        assert list(obj)[:2] == ["source", "pair_id"] and isinstance(obj["pair_id"], int)
        keys = [k for k in obj if k.startswith("item")]
        assert sorted(keys) == sorted(f"item{i}" for i in range(1, len(keys) + 1))
        shuffled += keys != sorted(keys, key=lambda k: int(k[4:]))
        for k in keys:
            it = obj[k]
            assert all(type(v) is int for v in it["bounding_box"])
            assert all(type(v) is int for v in it["landmarks"])
            assert all(type(v) in (int, float) for p in it["segmentation"] for v in p)
            assert it["category_name"] and isinstance(it["category_id"], int) and isinstance(it["style"], int)
            closed += any(len(p) >= 8 and p[:2] == p[-2:] for p in it["segmentation"])
            empty_items += all(v == 0 for v in it["landmarks"][2::3])
        w, h, fmt = image_size(d / "image" / f"{stem}.jpg")
        assert fmt == "jpeg" and max(w, h) == QUIRKY["size"]
        aspects.add(round(w / h, 2))
    assert shuffled >= 1, "item keys come in arbitrary order in some files"
    assert closed >= 1 and empty_items >= 1
    assert len(aspects) >= 3, "image aspect ratios vary"


def test_landmarks_on_the_border_exist(quirky_root: Path) -> None:
    on_border = 0
    for split in ("train", "validation"):
        t = scan_split(quirky_root / split, cache=False)
        for r in range(len(t)):
            w, h = Image.open(quirky_root / split / "image" / f"{t.stems[r]}.jpg").size
            for it in t[r].items:
                lm = it.landmarks[it.landmarks[:, 2] > 0]
                on_border += int(((lm[:, 0] == 0) | (lm[:, 0] == w) | (lm[:, 1] == 0) | (lm[:, 1] == h)).sum())
    assert on_border >= 1
