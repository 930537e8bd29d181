"""Pixel checks on drawn pictures: landmarks where they should be, mask colour inside polygons, inputs unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from df2kit.errors import ResultsError
from df2kit.layout import NUM_LANDMARKS, Category
from df2kit.structures import ClothingItem, ImageAnnotation
from df2kit.viz import check_entry, compare, draw_annotation, draw_predictions, image_grid, side_by_side
from df2kit.viz._draw import dot_radius

BG = (100, 110, 120)
W, H = 400, 300
CAT = Category.TROUSERS  # 14 landmarks


def _item(*, landmarks=None, polygon=None, box=(100, 50, 300, 250), style=1, key="item1") -> ClothingItem:
    lm = np.zeros((CAT.num_landmarks, 3)) if landmarks is None else landmarks
    return ClothingItem(
        key=key, category=CAT, style=style, bbox_xyxy=box, landmarks=lm,
        segmentation=[polygon or [120, 70, 280, 70, 280, 230, 120, 230]],
        scale=2, occlusion=1, zoom_in=1, viewpoint=2,
    )


def _ann(*items: ClothingItem) -> ImageAnnotation:
    return ImageAnnotation(stem="000042", source="user", pair_id=7, items=tuple(items))


def _plain() -> Image.Image:
    return Image.new("RGB", (W, H), BG)


def _px(img: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(img)[y, x])


def test_visible_landmark_is_a_filled_dot_at_its_coordinates() -> None:
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (150, 100, 2)
    out = draw_annotation(_plain(), _ann(_item(landmarks=lm)), boxes=False, masks=False, labels=False, caption=False)
    assert out.size == (W, H)
    assert _px(out, 150, 100) == CAT.colour
    r = dot_radius(W, H)
    assert _px(out, 150 + r - 1, 100) == CAT.colour  # filled out to the radius
    assert _px(out, 150 + r + 4, 100) == BG  # and no further


def test_occluded_landmark_is_a_ring_and_unlabeled_is_not_drawn() -> None:
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (150, 100, 1)  # occluded
    lm[1] = (250, 200, 0)  # not labeled: never drawn (coordinates are ignored)
    out = draw_annotation(_plain(), _ann(_item(landmarks=lm)), boxes=False, masks=False, labels=False, caption=False)
    a = np.asarray(out)
    r = dot_radius(W, H)
    assert _px(out, 150, 100) == BG  # the middle of a ring shows the picture
    ring = a[100 - r : 100 + r + 1, 150 - r : 150 + r + 1].reshape(-1, 3)
    assert (ring == CAT.colour).all(axis=1).sum() >= 4  # the ring itself is in the category colour
    assert _px(out, 250, 200) == BG


def test_skeleton_edge_joins_labeled_points_only() -> None:
    a, b = CAT.skeleton[0]
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[a - 1] = (120, 150, 2)
    lm[b - 1] = (280, 150, 2)
    out = draw_annotation(_plain(), _ann(_item(landmarks=lm)), boxes=False, masks=False, labels=False, caption=False)
    assert _px(out, 200, 150) == CAT.colour  # the middle of the edge
    lm[b - 1, 2] = 0  # one end unlabeled: no edge
    out = draw_annotation(_plain(), _ann(_item(landmarks=lm)), boxes=False, masks=False, labels=False, caption=False)
    assert _px(out, 200, 150) == BG


def test_mask_is_a_translucent_fill_inside_the_polygon_only() -> None:
    out = draw_annotation(_plain(), _ann(_item()), boxes=False, landmarks=False, labels=False, caption=False, mask_alpha=0.5)
    inside = np.array(_px(out, 200, 150))
    expect = 0.5 * np.array(BG) + 0.5 * np.array(CAT.colour)
    assert np.abs(inside - expect).max() <= 1
    assert _px(out, 110, 60) == BG  # inside the box, outside the polygon
    assert _px(out, 10, 10) == BG


def test_box_outline_in_the_category_colour() -> None:
    out = draw_annotation(_plain(), _ann(_item()), masks=False, landmarks=False, labels=False, caption=False)
    assert _px(out, 200, 250) == CAT.colour  # bottom edge
    assert _px(out, 100, 150) == CAT.colour  # left edge
    assert _px(out, 200, 150) == BG


def test_label_is_drawn_above_the_box() -> None:
    out = draw_annotation(_plain(), _ann(_item()), masks=False, landmarks=False, boxes=False, caption=False)
    strip = np.asarray(out)[30:50, 100:180].reshape(-1, 3)
    assert (strip == CAT.colour).all(axis=1).sum() > 50  # the label's background


def test_caption_band_below_keeps_the_picture_in_place() -> None:
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (150, 100, 2)
    plain = draw_annotation(_plain(), _ann(_item(landmarks=lm)), caption=False)
    cap = draw_annotation(_plain(), _ann(_item(landmarks=lm)))
    assert cap.size[0] == W and cap.size[1] > H
    assert np.array_equal(np.asarray(cap)[:H], np.asarray(plain))
    band = np.asarray(cap)[H:]
    assert (band > 200).all(axis=2).any()  # some caption text


def test_max_size_scales_the_drawing_with_the_picture() -> None:
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (300, 200, 2)
    out = draw_annotation(_plain(), _ann(_item(landmarks=lm)), masks=False, boxes=False, labels=False, caption=False,
                          max_size=200)
    assert out.size == (200, 150)
    assert _px(out, 150, 100) == CAT.colour


def test_inputs_are_never_modified() -> None:
    img = _plain()
    before = img.tobytes()
    arr = np.full((H, W, 3), 77, np.uint8)
    arr_before = arr.copy()
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (150, 100, 2)
    ann = _ann(_item(landmarks=lm))
    ann_before = ann.to_dict()
    entries = [{"image_id": 42, "category_id": 8, "bbox": [100.0, 50.0, 200.0, 200.0], "score": 0.9,
                "keypoints": [0.0] * (3 * NUM_LANDMARKS)}]
    entries_before = [dict(e, keypoints=list(e["keypoints"])) for e in entries]
    for src in (img, arr):
        draw_annotation(src, ann)
        draw_predictions(src, entries)
        compare(src, ann, entries)
        image_grid([src, src])
        side_by_side([src, src])
    assert img.tobytes() == before
    assert np.array_equal(arr, arr_before)
    assert ann.to_dict() == ann_before
    assert entries == entries_before


def test_array_input_and_array_output_agree() -> None:
    arr = np.full((H, W, 3), BG, np.uint8)
    a = draw_annotation(arr, _ann(_item()))
    b = draw_annotation(_plain(), _ann(_item()))
    assert np.array_equal(np.asarray(a), np.asarray(b))


def _pred(**kw):  # one prediction entry for image 42
    e = {"image_id": 42, "category_id": 8, "bbox": [100, 50, 200, 200], "score": 0.9}
    e.update(kw)
    return e


def test_predicted_landmarks_use_the_category_slice_of_294() -> None:
    kp = np.zeros((NUM_LANDMARKS, 3))
    kp[CAT.offset + 2] = (210, 120, 1)  # predicted v carries no meaning: drawn as a dot
    kp[0] = (60, 60, 2)  # another category's slice: never drawn
    out = draw_predictions(_plain(), [_pred(keypoints=kp.ravel().tolist())], boxes=False, labels=False, caption=False)
    assert _px(out, 210, 120) == CAT.colour
    assert _px(out, 60, 60) == BG


def test_prediction_boxes_are_dashed_and_filtered_by_score_and_image() -> None:
    entries = [_pred(), _pred(bbox=[10, 10, 50, 50], score=0.1), _pred(image_id=43, bbox=[320, 10, 50, 50])]
    out = draw_predictions(_plain(), entries, image_id=42, score_threshold=0.3, labels=False, caption=False)
    edge = np.asarray(out)[50, 100:300]  # top edge of the kept box
    on = (edge == CAT.colour).all(axis=1)
    assert 0.2 < on.mean() < 0.8  # dashed: partly drawn
    assert _px(out, 30, 10) == BG  # score 0.1: not drawn
    assert _px(out, 345, 10) == BG  # other image: not drawn


def test_several_images_without_image_id_is_an_error() -> None:
    with pytest.raises(ResultsError, match="image_id="):
        draw_predictions(_plain(), [_pred(), _pred(image_id=43)])


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"image_id": 1, "category_id": 14, "bbox": [0, 0, 1, 1], "score": 1}, "category_id"),
        ({"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}, "image_id"),
        ({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 1}, "bbox"),
        ({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, float("nan")], "score": 1}, "bbox"),
        ({"image_id": 1, "category_id": 1, "keypoints": [0.0] * 10, "score": 1}, "keypoints"),
        ({"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1, 1, 2, 2]], "score": 1}, "segmentation"),
        ({"image_id": 1, "category_id": 1, "score": "high"}, "score"),
    ],
)
def test_bad_entries_name_the_field(entry, field) -> None:
    with pytest.raises(ResultsError) as ei:
        check_entry(entry, 3, "res.json")
    assert ei.value.field == field and ei.value.item == "[3]" and ei.value.path == "res.json"


def test_predicted_rle_mask_is_filled() -> None:
    from df2kit.structures import masks
    m = np.zeros((H, W), bool)
    m[100:200, 150:250] = True
    rle = masks.encode_mask(m)
    out = draw_predictions(_plain(), [_pred(segmentation=rle)], boxes=False, labels=False, caption=False, mask_alpha=0.5)
    expect = 0.5 * np.array(BG) + 0.5 * np.array(CAT.colour)
    assert np.abs(np.array(_px(out, 200, 150)) - expect).max() <= 1
    assert _px(out, 100, 150) == BG


def test_compare_puts_ground_truth_left_and_predictions_right() -> None:
    lm = np.zeros((CAT.num_landmarks, 3))
    lm[0] = (150, 100, 2)
    kp = np.zeros((NUM_LANDMARKS, 3))
    kp[CAT.offset] = (350, 150, 2)
    out = compare(_plain(), _ann(_item(landmarks=lm)), [_pred(keypoints=kp.ravel().tolist())])
    a = np.asarray(out)
    assert out.size[0] == 2 * W + 6
    top = a.shape[0] - draw_annotation(_plain(), _ann(_item())).size[1]  # title band height
    assert tuple(a[top + 100, 150]) == CAT.colour  # GT dot in the left panel
    assert tuple(a[top + 150, W + 6 + 350]) == CAT.colour  # predicted dot in the right panel
    assert tuple(a[top + 150, 350]) == BG  # not in the left one
    assert tuple(a[top + 100, W + 6 + 150]) != CAT.colour  # and the GT dot not in the right one


def test_grid_places_tiles_in_cells() -> None:
    red, blue = Image.new("RGB", (50, 50), (255, 0, 0)), Image.new("RGB", (100, 50), (0, 0, 255))
    g = image_grid([red, blue, red], columns=2, cell=(100, 100), gap=10)
    assert g.size == (2 * 100 + 3 * 10, 2 * 100 + 3 * 10)
    assert _px(g, 10 + 50, 10 + 50) == (255, 0, 0)  # small tile scaled up to fit its cell
    assert _px(g, 120 + 50, 10 + 50) == (0, 0, 255)  # wide tile: centred vertically
    assert _px(g, 120 + 50, 12) == (255, 255, 255)  # letterbox above it
    assert _px(g, 120 + 50, 120 + 50) == (255, 255, 255)  # empty last cell
    with pytest.raises(ValueError, match="titles"):
        image_grid([red, blue], titles=["one"])


def test_labels_of_items_sharing_a_corner_do_not_hide_each_other() -> None:
    a = _item(key="item1", box=(100, 50, 300, 250))
    b = ClothingItem(key="item2", category=Category.SHORT_SLEEVE_TOP, style=0, bbox_xyxy=(100, 50, 250, 200),
                     landmarks=np.zeros((25, 3)), segmentation=[[110, 60, 200, 60, 150, 150]], scale=2, occlusion=1,
                     zoom_in=1, viewpoint=2)
    out = np.asarray(draw_annotation(_plain(), _ann(a, b), masks=False, landmarks=False, boxes=False, caption=False))
    for colour in (CAT.colour, Category.SHORT_SLEEVE_TOP.colour):
        assert (out == colour).all(axis=2).sum() > 200, colour  # both label backgrounds are visible


def test_a_broken_rle_is_a_clear_error() -> None:
    with pytest.raises(ResultsError, match="image 42") as ei:
        draw_predictions(_plain(), [_pred(segmentation={"size": [H, W], "counts": "zz"})])
    assert ei.value.field == "segmentation"


def test_masks_follow_max_size_and_must_fit_the_image() -> None:
    from df2kit.structures import masks

    m = np.zeros((H, W), bool)
    m[100:200, 200:300] = True
    e = _pred(segmentation=masks.encode_mask(m))
    out = draw_predictions(_plain(), [e], boxes=False, labels=False, caption=False, mask_alpha=1.0, max_size=200)
    assert out.size == (200, 150) and _px(out, 125, 75) == CAT.colour and _px(out, 50, 75) == BG
    small = _pred(segmentation=masks.encode_mask(np.ones((10, 10), bool)))
    with pytest.raises(ResultsError, match="10x10"):
        draw_predictions(_plain(), [small])
