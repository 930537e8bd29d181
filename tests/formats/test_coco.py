"""COCO writer and reader: each official rule on hand-made files, the df2kit extras and options, repairs
counted and never dropping an item, pycocotools at AP = 1 on our own file, and native -> COCO -> native."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from df2kit.errors import DatasetError, FormatError
from df2kit.formats.coco import MISSING_ATTRIBUTE_LEVELS, _needs_repair, coco_categories, from_coco, to_coco
from df2kit.io import read_annotation, scan_split
from df2kit.layout import CATEGORIES, LANDMARK_NAMES_294, NUM_LANDMARKS, SIGMAS_294, Category
from df2kit.structures.polygons import polygons_area, repair_polygons

from .._factory import make_split
from .conftest import handmade_images, write_split


def _load(p: Path) -> dict:
    return json.loads(p.read_text())


def _anns_by_key(coco: dict) -> dict[tuple[int, str], dict]:
    return {(a["image_id"], a["item_key"]): a for a in coco["annotations"]}


def test_paths_may_start_with_a_tilde(handmade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    shutil.copytree(handmade, tmp_path / "split")
    to_coco("~/split", "~/out/c.json", workers=1)
    assert (tmp_path / "out" / "c.json").is_file() and not (tmp_path / "~").exists()
    s = from_coco("~/out/c.json", "~/back", images="~/split/image")
    assert s.images == 3 and len(list((tmp_path / "back" / "annos").iterdir())) == 3


# ---- the official rules, one by one ---------------------------------------------------------------------
def test_images_ids_names_and_header_sizes(handmade: Path, tmp_path: Path) -> None:
    s = to_coco(handmade, tmp_path / "c.json", workers=1)
    c = _load(tmp_path / "c.json")
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in c["images"]] == [
        (2, "000002.jpg", 320, 240),
        (5, "000005.jpg", 200, 300),
        (10, "000010.jpg", 240, 200),
    ]
    assert [(i["source"], i["pair_id"]) for i in c["images"]] == [("user", 7), ("shop", 7), ("user", 9)]
    assert s.images == 3 and s.annotations == 4


def test_annotation_rules(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    c = _load(tmp_path / "c.json")
    anns = c["annotations"]
    assert [a["id"] for a in anns] == [1, 2, 3, 4]  # ids from 1, image order then file order of items
    assert [(a["image_id"], a["item_key"]) for a in anns] == [(2, "item2"), (2, "item1"), (5, "item1"), (10, "item1")]
    a = anns[0]
    assert a["bbox"] == [10, 20, 100, 200] and a["area"] == 100 * 200  # xywh; area = box area
    assert a["iscrowd"] == 0 and a["category_id"] == 8 and a["style"] == 1 and a["pair_id"] == 7
    assert a["segmentation"] == [[10, 20, 110, 20, 60, 220]]
    kp = np.array(a["keypoints"]).reshape(NUM_LANDMARKS, 3)
    assert kp.shape == (294, 3)
    sl = Category.TROUSERS.landmark_slice  # 168..181
    assert kp[168].tolist() == [12, 22, 2] and kp[169].tolist() == [50, 25, 1] and kp[181].tolist() == [100, 210, 2]
    outside = np.ones(294, bool)
    outside[sl] = False
    assert not kp[outside].any()
    assert a["num_keypoints"] == 3  # v > 0 counts, occluded included
    b = anns[1]
    assert b["bbox"] == [5.5, 6.25, 95.0, 84.5] and b["area"] == pytest.approx(95.0 * 84.5)
    kb = np.array(b["keypoints"]).reshape(294, 3)
    assert kb[0].tolist() == [7.5, 8.25, 2] and kb[24].tolist() == [99.5, 90.0, 1] and b["num_keypoints"] == 2
    assert anns[2]["num_keypoints"] == 0 and not any(anns[2]["keypoints"])
    # extras carried on each annotation
    assert (a["source"], a["scale"], a["occlusion"], a["zoom_in"], a["viewpoint"]) == ("user", 2, 1, 1, 2)
    assert (b["scale"], b["occlusion"], b["zoom_in"], b["viewpoint"]) == (1, 2, 3, 1)
    assert anns[2]["source"] == "shop"


def test_categories_names_and_global_skeleton(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    cats = _load(tmp_path / "c.json")["categories"]
    assert [c["id"] for c in cats] == list(range(1, 14))
    assert [c["name"] for c in cats] == [c.coco_name for c in CATEGORIES]
    assert cats[0]["name"] == "short_sleeved_shirt" and all(c["supercategory"] == "clothes" for c in cats)
    for c, info in zip(cats, CATEGORIES, strict=True):
        assert c["keypoints"] == list(LANDMARK_NAMES_294) and len(c["keypoints"]) == 294
        sk = np.array(c["skeleton"])
        # 1-based global indices that stay inside the category's own slice
        assert sk.min() >= info.offset + 1 and sk.max() <= info.offset + info.num_landmarks
        assert [tuple(e) for e in (sk - info.offset).tolist()] == list(info.skeleton)
        names = [c["keypoints"][i - 1] for i in sk.ravel()]
        assert all(n.startswith(info.slug + "_") for n in names)


def test_repairs_are_counted_and_no_item_is_dropped(handmade: Path, tmp_path: Path) -> None:
    s = to_coco(handmade, tmp_path / "c.json", workers=1)
    by = _anns_by_key(_load(tmp_path / "c.json"))
    assert len(by) == 4
    # item1 of image 2: the 2-point polygon dropped, the two real parts kept as they were
    assert by[(2, "item1")]["segmentation"] == [[6, 7, 40, 7, 40, 40, 6, 40], [60.5, 50, 100, 50, 100, 90, 60.5, 90]]
    # no polygon at all -> the box as polygon
    assert by[(5, "item1")]["segmentation"] == [[30, 40, 90, 40, 90, 160, 30, 160]]
    # only a degenerate polygon -> dropped, then the box
    assert by[(10, "item1")]["segmentation"] == [[100, 50, 260, 50, 260, 190, 100, 190]]
    assert s.repairs == {"dropped-degenerate": 2, "box-as-polygon": 2} and s.items_repaired == 3
    assert "degenerate polygons dropped" in s.format()


def test_fast_repair_test_agrees_with_repair_polygons(tmp_path: Path) -> None:
    """The writer calls repair_polygons only on items _needs_repair flags: it must flag exactly the items
    that repair_polygons would change."""
    rng = random.Random(5)
    from df2kit.structures import ClothingItem, ImageAnnotation

    anns = []
    for i in range(1, 41):
        items = []
        for k in range(1, 4):
            polys = [[rng.randint(0, 50) for _ in range(2 * rng.choice((1, 2, 3, 3, 5)))] for _ in range(rng.choice((0, 1, 2, 3)))]
            items.append(
                ClothingItem(f"item{k}", 7, 0, (0, 0, 60, 60), np.zeros((10, 3)), polys, scale=1, occlusion=1, zoom_in=1, viewpoint=1)
            )
        anns.append((ImageAnnotation(f"{i:06d}", "shop", 1, tuple(items)), (64, 64)))
    t = scan_split(write_split(tmp_path / "v", anns, with_images=False), None, cache=False)
    flagged = _needs_repair(t)
    for j in range(t.num_items):
        polys, notes = repair_polygons(t.item_polygons(j), t.bbox_xyxy[j])
        assert bool(notes) == bool(flagged[j])
        if not notes:
            assert all(np.array_equal(a, b) for a, b in zip(polys, t.item_polygons(j), strict=True))
    assert flagged.any() and not flagged.all()


# ---- options -------------------------------------------------------------------------------------------
def test_area_mask_is_the_repaired_polygon_area(handmade: Path, tmp_path: Path) -> None:
    s = to_coco(handmade, tmp_path / "c.json", area="mask", workers=1)
    by = _anns_by_key(_load(tmp_path / "c.json"))
    assert by[(2, "item2")]["area"] == pytest.approx(100 * 200 / 2)  # the triangle
    assert by[(2, "item1")]["area"] == pytest.approx(34 * 33 + 39.5 * 40)
    assert by[(5, "item1")]["area"] == 60 * 120  # box as polygon
    t = scan_split(handmade, None, cache=False)
    for j in range(t.num_items):
        polys, _ = repair_polygons(t.item_polygons(j), t.bbox_xyxy[j])
        key = (int(t.image_id[t.item_image[j]]), str(t.item_key[j]))
        assert by[key]["area"] == pytest.approx(polygons_area(polys))
    assert s.area == "mask"


def test_keypoints_per_category(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", keypoints="per-category", workers=1)
    c = _load(tmp_path / "c.json")
    by = _anns_by_key(c)
    a = by[(2, "item2")]
    assert len(a["keypoints"]) == 3 * 14 and a["keypoints"][:6] == [12, 22, 2, 50, 25, 1]
    assert len(by[(10, "item1")]["keypoints"]) == 3 * 19
    tr = c["categories"][7]
    assert tr["keypoints"] == list(Category.TROUSERS.landmark_names)
    assert [tuple(e) for e in tr["skeleton"]] == list(Category.TROUSERS.skeleton)


def test_vis_only_hides_occluded_landmarks(handmade: Path, tmp_path: Path) -> None:
    s = to_coco(handmade, tmp_path / "c.json", vis_only=True, workers=1)
    by = _anns_by_key(_load(tmp_path / "c.json"))
    kp = np.array(by[(2, "item2")]["keypoints"]).reshape(294, 3)
    assert kp[169].tolist() == [0, 0, 0] and kp[168].tolist() == [12, 22, 2]
    assert by[(2, "item2")]["num_keypoints"] == 2 and by[(2, "item1")]["num_keypoints"] == 1
    assert by[(10, "item1")]["num_keypoints"] == 2
    assert s.landmarks_hidden == 3


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="area"):
        to_coco("x", "y.json", area="polygon")
    with pytest.raises(ValueError, match="keypoints"):
        coco_categories("local")


# ---- streaming, workers, inputs ------------------------------------------------------------------------
def test_workers_and_table_input_give_identical_bytes(tmp_path: Path) -> None:
    d = make_split(tmp_path, 40, seed=4)
    for f, kw in (("a", {"workers": 1}), ("b", {"workers": 2})):
        to_coco(d, tmp_path / f"{f}.json", **kw)
    table = scan_split(d, None, cache=False)
    to_coco(table, tmp_path / "c.json", workers=2)
    a = (tmp_path / "a.json").read_bytes()
    assert a == (tmp_path / "b.json").read_bytes() == (tmp_path / "c.json").read_bytes()
    assert len(json.loads(a)["annotations"]) == table.num_items


def test_many_chunks_keep_ids_and_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import df2kit.formats._stream as stream

    monkeypatch.setattr(stream, "FILES_PER_CHUNK", 7)
    d = make_split(tmp_path, 50, seed=8, images=True)
    chunks, _, _ = stream.file_chunks(d, 7)
    assert len(chunks) == 8
    to_coco(d, tmp_path / "a.json", workers=2)
    c = _load(tmp_path / "a.json")
    t = scan_split(d, None, cache=False)
    assert [a["id"] for a in c["annotations"]] == list(range(1, t.num_items + 1))
    assert [a["image_id"] for a in c["annotations"]] == t.image_id[t.item_image].tolist()
    assert [a["item_key"] for a in c["annotations"]] == t.item_key.tolist()


def test_missing_image_is_an_error_and_writes_nothing(handmade: Path, tmp_path: Path) -> None:
    (handmade / "image" / "000005.jpg").unlink()
    out = tmp_path / "c.json"
    with pytest.raises(DatasetError, match="000005.jpg"):
        to_coco(handmade, out, workers=1)
    assert not out.exists() and not list(tmp_path.glob(".c.json*"))


def test_broken_file_is_skipped_and_counted(handmade: Path, tmp_path: Path) -> None:
    (handmade / "annos" / "000007.json").write_text('{"source": "user", "pair_id": 1, "item1": {"category_id": 99}}')
    (handmade / "annos" / "000008.json").write_text("{not json")
    (handmade / "image" / "000007.jpg").write_bytes((handmade / "image" / "000002.jpg").read_bytes())
    s = to_coco(handmade, tmp_path / "c.json", workers=1)
    c = _load(tmp_path / "c.json")
    assert s.skipped_by_reader == 2  # the broken item and the broken file
    assert [i["id"] for i in c["images"]] == [2, 5, 7, 10] and s.annotations == 4
    assert "skipped by the reader" in s.format()


def test_test_split_without_annotations(tmp_path: Path) -> None:
    (tmp_path / "test" / "image").mkdir(parents=True)
    with pytest.raises(DatasetError, match="withheld"):
        to_coco(tmp_path, tmp_path / "c.json", split="test")


# ---- pycocotools ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
def test_pycocotools_scores_our_file_against_itself_at_ap_1(tmp_path: Path, iou_type: str) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    d = make_split(tmp_path, 24, seed=6)
    write_split(d, handmade_images())  # adds the repaired and out-of-image cases
    to_coco(d, tmp_path / "gt.json", workers=1)
    gt = COCO(str(tmp_path / "gt.json"))
    dets = []
    for a in gt.dataset["annotations"]:
        e = {"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0}
        if iou_type == "bbox":
            e["bbox"] = a["bbox"]
        elif iou_type == "segm":
            e["segmentation"] = gt.annToRLE(a)
        else:
            e["keypoints"] = a["keypoints"]
        dets.append(e)
    dt = gt.loadRes(dets)
    ev = COCOeval(gt, dt, iou_type)
    if iou_type == "keypoints":
        ev.params.kpt_oks_sigmas = SIGMAS_294
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0) and ev.stats[1] == pytest.approx(1.0)
    assert len(ev.params.catIds) == 13


# ---- back to native ------------------------------------------------------------------------------------
def test_round_trip_native_coco_native_is_byte_identical(tmp_path: Path) -> None:
    d = make_split(tmp_path / "src", 30, seed=9)
    to_coco(d, tmp_path / "c.json", workers=2)
    s = from_coco(tmp_path / "c.json", tmp_path / "back")
    assert s.images == 30 and s.attributes_filled == s.source_filled == s.keys_assigned == 0
    for f in sorted((d / "annos").iterdir()):
        assert (tmp_path / "back" / "annos" / f.name).read_bytes() == f.read_bytes()


def test_round_trip_of_repaired_and_per_category_files(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", keypoints="per-category", workers=1)
    from_coco(tmp_path / "c.json", tmp_path / "back")
    for img, _ in handmade_images():
        back = read_annotation(tmp_path / "back" / "annos" / f"{img.stem}.json")
        assert (back.source, back.pair_id) == (img.source, img.pair_id)
        assert [it.key for it in back.items] == [it.key for it in img.items]
        for a, b in zip(img.items, back.items, strict=True):
            assert a.bbox_xyxy == b.bbox_xyxy and a.attributes == b.attributes and a.style == b.style
            assert np.array_equal(a.landmarks, b.landmarks)
            want, _ = repair_polygons(a.segmentation, a.bbox_xyxy)  # what the COCO file keeps
            assert [p.tolist() for p in b.segmentation] == [p.tolist() for p in want]


def _officialize(c: dict) -> dict:
    """What the official converter keeps: no source, attributes or item keys; pair_id on annotations."""
    for im in c["images"]:
        im.pop("source"), im.pop("pair_id")
    for a in c["annotations"]:
        for k in ("source", "scale", "occlusion", "zoom_in", "viewpoint", "item_key"):
            a.pop(k)
    for cat in c["categories"]:
        cat["keypoints"] = [str(i) for i in range(1, 295)]
        cat["skeleton"] = []
    return c


def test_official_style_file_needs_a_source_and_fills_what_it_lacks(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    off = tmp_path / "official.json"
    off.write_text(json.dumps(_officialize(_load(tmp_path / "c.json"))))
    with pytest.raises(FormatError, match="source"):
        from_coco(off, tmp_path / "x")
    s = from_coco(off, tmp_path / "back", source="user")
    assert (s.images, s.items, s.attributes_filled, s.source_filled, s.keys_assigned) == (3, 4, 4, 3, 4)
    back = read_annotation(tmp_path / "back" / "annos" / "000002.json")
    assert [it.key for it in back.items] == ["item1", "item2"]  # assigned in annotation order
    assert back.items[0].category == Category.TROUSERS and back.items[0].attributes == MISSING_ATTRIBUTE_LEVELS
    assert back.pair_id == 7 and back.source == "user"
    orig = handmade_images()[0][0]
    assert np.array_equal(back.items[0].landmarks, orig.items[0].landmarks)
    assert back.items[1].bbox_xyxy == orig.items[1].bbox_xyxy


def test_images_are_linked_or_copied(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    s = from_coco(tmp_path / "c.json", tmp_path / "a", images=handmade / "image")
    link = tmp_path / "a" / "image" / "000005.jpg"
    assert s.images_linked == 3 and link.is_symlink() and link.resolve() == (handmade / "image" / "000005.jpg").resolve()
    from_coco(tmp_path / "c.json", tmp_path / "b", images=handmade / "image", image_mode="copy")
    copy = tmp_path / "b" / "image" / "000005.jpg"
    assert not copy.is_symlink() and copy.read_bytes() == (handmade / "image" / "000005.jpg").read_bytes()


def test_missing_source_image_fails_before_writing(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    (handmade / "image" / "000010.jpg").unlink()
    with pytest.raises(DatasetError, match="1 image file"):
        from_coco(tmp_path / "c.json", tmp_path / "a", images=handmade / "image")
    assert not (tmp_path / "a" / "annos").exists() and not (tmp_path / "a" / "image").exists()


def test_existing_annotations_are_not_overwritten(handmade: Path, tmp_path: Path) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    from_coco(tmp_path / "c.json", tmp_path / "back")
    with pytest.raises(DatasetError, match="overwrite"):
        from_coco(tmp_path / "c.json", tmp_path / "back")
    (tmp_path / "back" / "annos" / "000099.json").write_text("{}")
    from_coco(tmp_path / "c.json", tmp_path / "back", overwrite=True)  # replaces the folder as a whole
    assert sorted(f.name for f in (tmp_path / "back" / "annos").iterdir()) == ["000002.json", "000005.json", "000010.json"]


@pytest.mark.parametrize("name", ["../000002.jpg", "/tmp/000002.jpg", "sub/000002.jpg", "..\\000002.jpg", "abc.jpg", ""])
def test_file_names_that_would_escape_are_refused(handmade: Path, tmp_path: Path, name: str) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    c = _load(tmp_path / "c.json")
    c["images"][0]["file_name"] = name
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(c))
    with pytest.raises(FormatError, match="file_name"):
        from_coco(bad, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "000002.json").exists() and not list((tmp_path / "out").rglob("*.json"))


def _broken(c: dict, how: str) -> dict:
    a = c["annotations"][0]
    if how == "id-mismatch":
        c["images"][0]["id"] = 3
        for x in c["annotations"]:
            if x["image_id"] == 2:
                x["image_id"] = 3
    elif how == "rle":
        a["segmentation"] = {"size": [240, 320], "counts": "abc"}
    elif how == "outside-slice":
        a["keypoints"][0] = 5
    elif how == "kp-length":
        a["keypoints"] = a["keypoints"][:30]
    elif how == "category-name":
        c["categories"][0]["name"] = "trousers"
    elif how == "unknown-image":
        a["image_id"] = 999
    elif how == "bad-visibility":
        a["keypoints"][3 * 168 + 2] = 3
    elif how == "disagreeing-pair":
        c["images"][0].pop("pair_id")
        c["annotations"][1]["pair_id"] = 8
    return c


@pytest.mark.parametrize(
    "how,match",
    [
        ("id-mismatch", "file stem"),
        ("rle", "RLE"),
        ("outside-slice", "outside the slice"),
        ("kp-length", "expected 882 numbers"),
        ("category-name", "category name"),
        ("unknown-image", "not in 'images'"),
        ("bad-visibility", "visibility"),
        ("disagreeing-pair", "disagree on pair_id"),
    ],
)
def test_bad_coco_files_give_one_clear_error(handmade: Path, tmp_path: Path, how: str, match: str) -> None:
    to_coco(handmade, tmp_path / "c.json", workers=1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken(_load(tmp_path / "c.json"), how)))
    with pytest.raises(FormatError, match=match) as e:
        from_coco(bad, tmp_path / "out")
    assert str(bad) in str(e.value)
    assert not (tmp_path / "out" / "annos").exists()  # nothing half-written
    assert not list(tmp_path.rglob("*.part"))


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(FormatError, match="invalid JSON"):
        from_coco(tmp_path / "x.json", tmp_path / "o")
    with pytest.raises(FormatError, match="not found"):
        from_coco(tmp_path / "none.json", tmp_path / "o")
    assert not os.path.exists(tmp_path / "o" / "annos" / "000001.json")


def _official_loop(split_dir: Path) -> dict:
    """The official converter's rules, written the plain way (json per file, one dict): the reference our
    default output must equal field by field (spec section 3)."""
    from PIL import Image

    out: dict = {"images": [], "annotations": []}
    ann_id = 0
    for f in sorted((split_dir / "annos").iterdir(), key=lambda p: int(p.stem)):
        d = json.loads(f.read_text())
        w, h = Image.open(split_dir / "image" / f"{f.stem}.jpg").size
        out["images"].append({"id": int(f.stem), "file_name": f"{f.stem}.jpg", "width": w, "height": h})
        for key, it in d.items():
            if key in ("source", "pair_id"):
                continue
            ann_id += 1
            x1, y1, x2, y2 = it["bounding_box"]
            cat = CATEGORIES[it["category_id"] - 1]
            pts = np.zeros(294 * 3)
            lm = it["landmarks"]
            pts[3 * cat.offset : 3 * (cat.offset + cat.num_landmarks)] = lm
            out["annotations"].append(
                {
                    "id": ann_id, "image_id": int(f.stem), "category_id": it["category_id"],
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
                    "segmentation": it["segmentation"], "keypoints": pts.tolist(),
                    "num_keypoints": sum(1 for v in lm[2::3] if v > 0), "style": it["style"], "pair_id": d["pair_id"],
                }
            )
    return out


def test_default_output_equals_the_official_rules(tmp_path: Path) -> None:
    d = make_split(tmp_path, 40, seed=14)
    write_split(d, handmade_images())
    to_coco(d, tmp_path / "c.json", workers=2)
    ours, ref = _load(tmp_path / "c.json"), _official_loop(d)
    assert [{k: i[k] for k in ("id", "file_name", "width", "height")} for i in ours["images"]] == ref["images"]
    assert len(ours["annotations"]) == len(ref["annotations"]) > 40
    t = scan_split(d, None, cache=False)
    repaired = _needs_repair(t)
    for j, (a, b) in enumerate(zip(ours["annotations"], ref["annotations"], strict=True)):
        for k in ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "num_keypoints", "style", "pair_id"):
            assert a[k] == pytest.approx(b[k]), (k, j)
        assert a["keypoints"] == pytest.approx(b["keypoints"])
        if not repaired[j]:  # the official script passes degenerate polygons through; df2kit repairs them
            assert a["segmentation"] == b["segmentation"]
    assert repaired.sum() == 3
