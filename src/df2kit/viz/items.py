"""Ground truth and predictions drawn on an image: boxes with category names, translucent masks, landmarks
with their category's skeleton, and a caption (image id, shop/user, pair_id).

>>> from df2kit.io import read_annotation
>>> from df2kit.viz import draw_annotation, draw_predictions, compare
>>> ann = read_annotation("ROOT/validation/annos/000001.json")                          # doctest: +SKIP
>>> pic = draw_annotation("ROOT/validation/image/000001.jpg", ann)                      # doctest: +SKIP
>>> pic.save("000001_gt.jpg")                                                            # doctest: +SKIP
>>> entries = [{"image_id": 1, "category_id": 1, "bbox": [10, 20, 100, 200], "score": 0.9}]
>>> pred = draw_predictions("ROOT/validation/image/000001.jpg", entries)               # doctest: +SKIP
>>> both = compare("ROOT/validation/image/000001.jpg", ann, entries)                   # doctest: +SKIP

Ground-truth landmarks: visible points (v = 2) are filled dots, occluded points (v = 1) rings, unlabeled
points (v = 0) are not drawn; skeleton edges join labeled points. Predicted landmarks are all drawn as dots
(the scorer ignores predicted visibility, so it carries no meaning here); only the predicted category's slice
of the 294 is read. Every function returns a new image and never modifies its inputs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ResultsError
from ..layout import NUM_LANDMARKS, Category
from ..structures.records import ClothingItem, ImageAnnotation
from ._draw import ImageLike, Shape, add_caption, fit_scale, render, resized, to_rgb

__all__ = ["check_entry", "compare", "draw_annotation", "draw_predictions", "item_shapes", "prediction_shapes"]


def _scaled_polys(polys: Sequence[np.ndarray], s: float) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(p, dtype=np.float64).reshape(-1, 2) * s for p in polys)


def _scaled_landmarks(lm: np.ndarray, s: float) -> np.ndarray:
    out = np.array(lm, dtype=np.float64).reshape(-1, 3)
    out[:, :2] *= s
    return out


def _scaled_box(b: Sequence[float], s: float) -> tuple[float, float, float, float]:
    return (float(b[0]) * s, float(b[1]) * s, float(b[2]) * s, float(b[3]) * s)


def item_label(item: ClothingItem) -> str:
    name = item.category.dataset_name
    return f"{name} (style {item.style})" if item.style > 0 else name


def item_shapes(items: Sequence[ClothingItem], scale: float = 1.0) -> list[Shape]:
    """Internal shapes for ground-truth items (coordinates multiplied by ``scale``)."""
    return [
        Shape(
            category=it.category,
            bbox_xyxy=_scaled_box(it.bbox_xyxy, scale),
            polygons=_scaled_polys(it.segmentation, scale),
            landmarks=_scaled_landmarks(it.landmarks, scale),
            label=item_label(it),
            occluded_style=True,
        )
        for it in items
    ]


def annotation_caption(ann: ImageAnnotation) -> str:
    n = len(ann.items)
    return f"{ann.stem}   {ann.source}   pair_id {ann.pair_id}   {n} item{'s' if n != 1 else ''}"


def draw_annotation(
    image: ImageLike,
    annotation: ImageAnnotation,
    *,
    boxes: bool = True,
    masks: bool = True,
    landmarks: bool = True,
    labels: bool = True,
    caption: bool | str = True,
    max_size: int | None = None,
    mask_alpha: float = 0.45,
) -> Image.Image:
    """Draw an annotation's items on a copy of ``image`` (a Pillow image, an array or a file path).

    ``max_size`` shrinks the picture first so that its longer side is at most that many pixels (coordinates
    follow), which makes thumbnails fast. ``caption=True`` adds a band below the picture with the image id,
    shop/user and pair_id; a string gives your own caption; ``False`` none.
    """
    img = to_rgb(image)
    s = fit_scale(*img.size, max_size)
    img = resized(img, s)
    out = render(img, item_shapes(annotation.items, s), boxes=boxes, masks=masks, landmarks=landmarks,
                 labels=labels, mask_alpha=mask_alpha)
    if caption:
        out = add_caption(out, caption if isinstance(caption, str) else annotation_caption(annotation))
    return out


# ---- predictions -----------------------------------------------------------------------------------
def _bad(msg: str, path: str | None, idx: int, field: str | None = None) -> ResultsError:
    return ResultsError(msg, path=path, item=f"[{idx}]", field=field)


def _finite_numbers(v: Any, n: int | None) -> bool:
    if not isinstance(v, (list, tuple)) or (n is not None and len(v) != n):
        return False
    if len(v) > 8:  # long lists (882 keypoint numbers): one numpy pass
        try:
            arr = np.array(v)
        except (TypeError, ValueError):
            return False
        return arr.ndim == 1 and arr.dtype.kind in "iuf" and bool(np.isfinite(arr).all())
    return all(type(x) in (int, float) and math.isfinite(x) for x in v)


def check_entry(entry: Any, idx: int = 0, path: str | None = None, *, deep: bool = True) -> Mapping[str, Any]:
    """Check one detection / landmark / segmentation result entry well enough to draw it.

    Raises :class:`~df2kit.errors.ResultsError` naming the file, the entry index and the field.
    ``deep=False`` skips the long fields (keypoints, segmentation).
    """
    if not isinstance(entry, Mapping):
        raise _bad(f"expected an object, got {type(entry).__name__}", path, idx)
    if type(entry.get("image_id")) is not int:
        raise _bad(f"expected an integer, got {entry.get('image_id')!r}", path, idx, "image_id")
    cat = entry.get("category_id")
    if type(cat) is not int or not 1 <= cat <= 13:
        raise _bad(f"expected a category id 1..13, got {cat!r}", path, idx, "category_id")
    score = entry.get("score", 1.0)
    if type(score) not in (int, float) or not math.isfinite(score):
        raise _bad(f"expected a finite number, got {score!r}", path, idx, "score")
    if "bbox" in entry and not _finite_numbers(entry["bbox"], 4):
        raise _bad(f"expected [x, y, w, h] (4 finite numbers), got {entry['bbox']!r}", path, idx, "bbox")
    if not deep:
        return entry
    if "keypoints" in entry:
        k = Category(cat).num_landmarks
        kp = entry["keypoints"]
        if not _finite_numbers(kp, None) or len(kp) not in (3 * NUM_LANDMARKS, 3 * k):
            got = len(kp) if isinstance(kp, (list, tuple)) else type(kp).__name__
            raise _bad(f"expected {3 * NUM_LANDMARKS} (or {3 * k}) finite numbers, got {got}", path, idx, "keypoints")
    if "segmentation" in entry:
        rle = entry["segmentation"]
        ok = isinstance(rle, Mapping) and isinstance(rle.get("size"), (list, tuple)) and len(rle["size"]) == 2
        if not ok or not isinstance(rle.get("counts"), (str, bytes, list)):
            raise _bad("expected an RLE {size: [h, w], counts: ...}", path, idx, "segmentation")
    return entry


def _decode_rle(rle: Mapping[str, Any], image_id: Any) -> np.ndarray:
    from ..structures.masks import decode_rle

    try:
        return np.asarray(decode_rle(dict(rle)), dtype=bool)
    except ValueError as e:
        raise ResultsError(f"cannot decode the mask of a result of image {image_id}: {e}", field="segmentation") from None


def _entry_landmarks(entry: Mapping[str, Any], cat: Category) -> np.ndarray | None:
    kp = entry.get("keypoints")
    if kp is None:
        return None
    arr = np.asarray(kp, dtype=np.float64).reshape(-1, 3)
    if len(arr) == NUM_LANDMARKS:
        arr = arr[cat.landmark_slice]
    return arr


def prediction_shapes(
    entries: Sequence[Mapping[str, Any]],
    size: tuple[int, int],
    scale: float = 1.0,
    *,
    masks: bool = True,
    image_size: tuple[int, int] | None = None,
) -> list[Shape]:
    """Internal shapes for result entries of one image drawn at ``size`` (the scaled picture's size).

    ``image_size`` (width, height) is the picture's own size: a mask of another size is a ResultsError.
    """
    shapes = []
    w, h = size
    for e in entries:
        cat = Category(int(e["category_id"]))
        box = None
        if "bbox" in e:
            x, y, bw, bh = (float(v) for v in e["bbox"])
            box = _scaled_box((x, y, x + bw, y + bh), scale)
        mask = None
        if masks and "segmentation" in e:
            m = _decode_rle(e["segmentation"], e.get("image_id"))
            if image_size is not None and m.shape != (image_size[1], image_size[0]):
                raise ResultsError(
                    f"a mask of image {e.get('image_id')} is {m.shape[1]}x{m.shape[0]} (w x h), the image "
                    f"{image_size[0]}x{image_size[1]}", field="segmentation")
            if m.shape != (h, w):
                m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)) > 0
            mask = m
        lm = _entry_landmarks(e, cat)
        if lm is not None:
            lm = _scaled_landmarks(lm, scale)
        score = float(e.get("score", 1.0))
        shapes.append(
            Shape(category=cat, bbox_xyxy=box, mask=mask, landmarks=lm,
                  label=f"{cat.dataset_name} {score:.2f}", occluded_style=False, dashed=True)
        )
    return shapes


def _select_entries(
    entries: Sequence[Mapping[str, Any]], image_id: int | None, score_threshold: float, path: str | None = None
) -> tuple[list[Mapping[str, Any]], int | None]:
    checked = [check_entry(e, i, path) for i, e in enumerate(entries)]
    ids = {int(e["image_id"]) for e in checked}
    if image_id is None:
        if len(ids) > 1:
            raise ResultsError(
                f"entries of {len(ids)} images given; pass image_id= to choose one", path=path
            )
        image_id = next(iter(ids)) if ids else None
    keep = [e for e in checked if e["image_id"] == image_id and float(e.get("score", 1.0)) >= score_threshold]
    keep.sort(key=lambda e: -float(e.get("score", 1.0)))
    return keep, image_id


def draw_predictions(
    image: ImageLike,
    entries: Sequence[Mapping[str, Any]],
    *,
    image_id: int | None = None,
    score_threshold: float = 0.3,
    boxes: bool = True,
    masks: bool = True,
    landmarks: bool = True,
    labels: bool = True,
    caption: bool | str = True,
    max_size: int | None = None,
    mask_alpha: float = 0.45,
) -> Image.Image:
    """Draw official result entries (``bbox`` [x, y, w, h], ``keypoints``, RLE ``segmentation``, ``score``).

    Only entries of ``image_id`` (default: the one image the entries are about) with ``score >=
    score_threshold`` are drawn, boxes dashed and labelled with category and score, masks decoded from their
    RLE (at the picture's size: one of another size is scaled to fit).
    """
    keep, image_id = _select_entries(entries, image_id, score_threshold)
    img = to_rgb(image)
    full = img.size
    s = fit_scale(*full, max_size)
    img = resized(img, s)
    shapes = prediction_shapes(keep, img.size, s, masks=masks, image_size=full)
    out = render(img, shapes, boxes=boxes, masks=masks, landmarks=landmarks, labels=labels, mask_alpha=mask_alpha)
    if caption:
        if isinstance(caption, str):
            text = caption
        else:
            text = (f"{image_id:06d}   " if image_id is not None else "") + \
                f"predictions: {len(keep)} with score >= {score_threshold:g}"
        out = add_caption(out, text)
    return out


def compare(
    image: ImageLike,
    annotation: ImageAnnotation | None,
    entries: Sequence[Mapping[str, Any]],
    *,
    score_threshold: float = 0.3,
    max_size: int | None = None,
    **kwargs: Any,
) -> Image.Image:
    """Ground truth (left) and predictions (right) of one image side by side, each with its caption.

    With ``annotation=None`` (a split without annotations) only the predictions are drawn.
    """
    from .grid import side_by_side

    img = to_rgb(image)
    image_id = annotation.image_id if annotation is not None else None
    pred = draw_predictions(img, entries, image_id=image_id, score_threshold=score_threshold, max_size=max_size,
                            caption=True, **kwargs)
    if annotation is None:
        return pred
    gt = draw_annotation(img, annotation, max_size=max_size, caption=True, **kwargs)
    return side_by_side([gt, pred], titles=["ground truth", "predictions"])


def entries_by_image(entries: Sequence[Mapping[str, Any]], path: str | os.PathLike[str] | None = None) -> dict[int, list[Mapping[str, Any]]]:
    """Group result entries by ``image_id`` (boxes, categories and scores checked; the long fields are
    checked when an image's entries are drawn)."""
    out: dict[int, list[Mapping[str, Any]]] = {}
    p = os.fspath(path) if path is not None else None
    for i, e in enumerate(entries):
        check_entry(e, i, p, deep=False)
        out.setdefault(int(e["image_id"]), []).append(e)
    return out
