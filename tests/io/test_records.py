"""Records validate on construction, derive the right views, and round-trip through the writer."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from df2kit.errors import AnnotationError
from df2kit.io import annotation_to_bytes, parse_annotation, read_annotation, write_annotation
from df2kit.layout import Category
from df2kit.structures import ClothingItem, ImageAnnotation, box_iou, xywh_to_xyxy, xyxy_to_xywh

from .._factory import random_annotation


def _item(**kw):
    base = {
        "key": "item1", "category": 7, "style": 1, "bbox_xyxy": (10, 20, 110, 220), "landmarks": np.zeros((10, 3)),
        "segmentation": [[10, 20, 110, 20, 60, 220]], "scale": 2, "occlusion": 1, "zoom_in": 1, "viewpoint": 2,
    }
    base.update(kw)
    return ClothingItem(**base)


def test_derived_views() -> None:
    lm = np.zeros((10, 3))
    lm[0] = (12, 22, 2)
    lm[3] = (30, 40, 1)
    it = _item(landmarks=lm)
    assert it.bbox_xywh == (10.0, 20.0, 100.0, 200.0)
    assert it.box_area == 20000.0
    assert it.num_labeled == 2
    g = it.landmarks_294
    assert g.shape == (294, 3)
    assert np.array_equal(g[Category.SHORTS.landmark_slice], lm)
    assert np.count_nonzero(g) == np.count_nonzero(lm)
    assert it.segmentation[0].shape == (3, 2)
    with pytest.raises(ValueError):
        it.landmarks[0, 0] = 5  # read-only


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"category": 14}, "category_id"),
        ({"style": -1}, "style"),
        ({"bbox_xyxy": (10, 20, 5, 220)}, "bounding_box"),
        ({"landmarks": np.zeros((9, 3))}, "landmarks"),
        ({"landmarks": np.full((10, 3), 3.0)}, "landmarks[2]"),
        ({"segmentation": [[1, 2, 3]]}, "segmentation[0]"),
        ({"scale": 4}, "scale"),
        ({"viewpoint": True}, "viewpoint"),
    ],
)
def test_construction_errors_name_item_and_field(kw, field) -> None:
    with pytest.raises(AnnotationError) as ei:
        _item(**kw)
    assert ei.value.item == "item1" and ei.value.field == field


def test_image_errors() -> None:
    with pytest.raises(AnnotationError, match="digits"):
        ImageAnnotation(stem="abc", source="shop", pair_id=1)
    with pytest.raises(AnnotationError, match="'shop' or 'user'"):
        ImageAnnotation(stem="000001", source="store", pair_id=1)
    with pytest.raises(AnnotationError, match="duplicate item key"):
        ImageAnnotation(stem="000001", source="shop", pair_id=1, items=(_item(), _item()))


def test_box_helpers() -> None:
    b = np.array([[0, 0, 10, 10], [5, 5, 15, 15]])
    assert np.allclose(xywh_to_xyxy(xyxy_to_xywh(b)), b)
    iou = box_iou(b, b)
    assert np.allclose(np.diag(iou), 1) and np.isclose(iou[0, 1], 25 / 175)
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_write_read_round_trip_is_byte_stable(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    ann = random_annotation(rng, "000123", source="user", pair_id=5)
    p = tmp_path / "000123.json"
    write_annotation(ann, p)
    back = read_annotation(p)
    assert back.items == ann.items and back.pair_id == 5 and back.source == "user"
    assert [i.key for i in back.items] == [i.key for i in ann.items]
    assert annotation_to_bytes(back) == p.read_bytes()


def test_reading_real_style_files_keeps_numbers(tmp_path: Path) -> None:
    raw = (Path(__file__).resolve().parents[1] / "fixtures" / "native" / "good.json").read_bytes()
    rec, issues = parse_annotation(raw, stem="000001")
    assert not issues and rec is not None
    once = annotation_to_bytes(rec)
    rec2, _ = parse_annotation(once, stem="000001")
    assert rec2 is not None and annotation_to_bytes(rec2) == once
    assert rec.items[1].segmentation[0][0, 0] == 100.5 and rec.items[1].bbox_xyxy == (100.0, 40.0, 200.0, 161.0)


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = random_annotation(random.Random(1), "000001", source="shop", pair_id=1)
    p = tmp_path / "000001.json"
    write_annotation(ann, p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("df2kit.io.native.annotation_to_bytes", lambda a: b'{"partial": ')
    import df2kit._atomic as atomic

    real_replace = atomic.os.replace
    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_annotation(ann, p)
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert p.read_bytes() == before  # the old file is untouched
    assert [f.name for f in tmp_path.iterdir()] == ["000001.json"]  # no partial file left behind
