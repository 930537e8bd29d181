"""Frozen, validated records for one annotated image and its clothing items.

Records are what a user handles one image at a time (``read_annotation``, iterating a split, the synthetic
generator). They are checked on construction with the same rules as the file readers, so a record that
exists is a valid DeepFashion2 annotation. Arrays inside records are read-only.

>>> import numpy as np
>>> from df2kit.structures import ClothingItem
>>> item = ClothingItem(key="item1", category=7, style=1, bbox_xyxy=(10, 20, 110, 220),
...                     landmarks=np.zeros((10, 3)), segmentation=[[10, 20, 110, 20, 60, 220]],
...                     scale=2, occlusion=1, zoom_in=1, viewpoint=2)
>>> item.category.dataset_name, item.bbox_xywh
('shorts', (10.0, 20.0, 100.0, 200.0))
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnnotationError
from ..layout import ATTRIBUTES, NUM_LANDMARKS, Category

__all__ = ["ClothingItem", "ImageAnnotation", "image_id_from_stem"]

_ITEM_KEY = re.compile(r"^item[1-9][0-9]*$")


def image_id_from_stem(stem: str, *, path: str | None = None) -> int:
    """Image id = integer of the file stem (``000123`` -> 123). Raises AnnotationError otherwise."""
    if not stem.isdigit() or not stem.isascii():
        raise AnnotationError(f"expected a file name made of digits like 000123, got {stem!r}", path=path)
    return int(stem)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check_level(value: Any, name: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= 3:
        raise AnnotationError(f"expected 1, 2 or 3, got {value!r}", item=key, field=name)
    return int(value)


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it holds anything but numbers (strings, booleans, None,
    ragged lists): ``float("12")`` would accept a string."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        arr = np.array(value)
    except (ValueError, TypeError):
        return None
    if arr.dtype.kind not in "iuf" or (isinstance(value, (list, tuple)) and _has_bool(value)):
        return None
    return arr.astype(np.float64, copy=False)


def _has_bool(value: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a (nested) list holds a boolean, which numpy would silently read as 0 or 1.

    The element types are collected at C speed (``set(map(type, ...))``): records are built per item when
    converting whole splits, so this must not loop in Python over every number.
    """
    types = set(map(type, value))
    if bool in types:
        return True
    if types <= {list, tuple}:  # a list of lists: look one level down at once
        return bool(value) and _has_bool(list(itertools.chain.from_iterable(value)))
    if list in types or tuple in types:
        return any(_has_bool(v) for v in value if isinstance(v, (list, tuple)))
    return False


@dataclass(frozen=True, eq=False)
class ClothingItem:
    """One clothing item of an image, as in a native annotation file.

    ``landmarks`` is ``(K, 3)`` float64 ``[x, y, v]`` with K the category's own landmark count;
    ``segmentation`` a tuple of ``(P, 2)`` float64 polygons (degenerate polygons are kept as they are:
    real files contain them, and the converters repair them).
    """

    key: str
    category: Category
    style: int
    bbox_xyxy: tuple[float, float, float, float]
    landmarks: np.ndarray
    segmentation: tuple[np.ndarray, ...]
    scale: int
    occlusion: int
    zoom_in: int
    viewpoint: int

    def __post_init__(self) -> None:
        key = self.key
        if not isinstance(key, str) or not key:
            raise AnnotationError(f"expected a non-empty item key like 'item1', got {key!r}")
        try:
            cat = Category(int(self.category))
        except (ValueError, TypeError):
            raise AnnotationError(
                f"expected a category id 1..13, got {self.category!r}", item=key, field="category_id"
            ) from None
        object.__setattr__(self, "category", cat)
        if isinstance(self.style, bool) or not isinstance(self.style, (int, np.integer)) or self.style < 0:
            raise AnnotationError(f"expected an integer >= 0, got {self.style!r}", item=key, field="style")
        object.__setattr__(self, "style", int(self.style))
        bb = _numbers(self.bbox_xyxy)
        if bb is None or bb.shape != (4,) or not np.isfinite(bb).all():
            raise AnnotationError(f"expected 4 finite numbers, got {self.bbox_xyxy!r}", item=key, field="bounding_box")
        if not (bb[2] > bb[0] and bb[3] > bb[1]):
            raise AnnotationError(
                f"expected x1 < x2 and y1 < y2 (an empty or inverted box), got {bb.tolist()}",
                item=key,
                field="bounding_box",
            )
        object.__setattr__(self, "bbox_xyxy", tuple(float(v) for v in bb))
        k = cat.num_landmarks
        lm = _numbers(self.landmarks)
        if lm is None:
            raise AnnotationError("expected a list of numbers", item=key, field="landmarks")
        if lm.ndim == 1 and lm.size == 3 * k:
            lm = lm.reshape(k, 3)
        if lm.shape != (k, 3):
            raise AnnotationError(
                f"expected {k} landmarks x 3 values for {cat.dataset_name!r}, got shape {lm.shape}",
                item=key,
                field="landmarks",
            )
        if not np.isfinite(lm).all():
            raise AnnotationError("expected finite numbers, got NaN or infinity", item=key, field="landmarks")
        bad_v = ~np.isin(lm[:, 2], (0.0, 1.0, 2.0))
        if bad_v.any():
            j = int(np.flatnonzero(bad_v)[0])
            raise AnnotationError(
                f"expected visibility 0, 1 or 2, got {lm[j, 2]:g} at landmark {j + 1}",
                item=key,
                field=f"landmarks[{3 * j + 2}]",
            )
        object.__setattr__(self, "landmarks", _readonly(lm))
        polys = []
        for p_i, poly in enumerate(self.segmentation):
            arr = _numbers(poly)
            if arr is None:
                raise AnnotationError(
                    "expected a flat list of finite x, y numbers", item=key, field=f"segmentation[{p_i}]"
                )
            if arr.ndim == 1:
                if arr.size % 2:
                    raise AnnotationError(
                        f"expected an even count of numbers (x, y pairs), got {arr.size}",
                        item=key,
                        field=f"segmentation[{p_i}]",
                    )
                arr = arr.reshape(-1, 2)
            if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
                raise AnnotationError(
                    "expected a flat list of finite x, y numbers", item=key, field=f"segmentation[{p_i}]"
                )
            polys.append(_readonly(arr))
        object.__setattr__(self, "segmentation", tuple(polys))
        for name in ATTRIBUTES:
            object.__setattr__(self, name, _check_level(getattr(self, name), name, key))

    # ---- derived views -------------------------------------------------------------------------------
    @property
    def category_id(self) -> int:
        return int(self.category)

    @property
    def category_name(self) -> str:
        return self.category.dataset_name

    @property
    def bbox_xywh(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.bbox_xyxy
        return (x1, y1, x2 - x1, y2 - y1)

    @property
    def box_area(self) -> float:
        _, _, w, h = self.bbox_xywh
        return w * h

    @property
    def landmarks_294(self) -> np.ndarray:
        """The item's landmarks placed in the global ``(294, 3)`` layout, zeros outside its slice."""
        out = np.zeros((NUM_LANDMARKS, 3), dtype=np.float64)
        out[self.category.landmark_slice] = self.landmarks
        return out

    @property
    def num_labeled(self) -> int:
        """Landmarks with v > 0 (COCO's ``num_keypoints``)."""
        return int(np.count_nonzero(self.landmarks[:, 2] > 0))

    @property
    def attributes(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def to_dict(self) -> dict[str, Any]:
        """The item as a native annotation dict (numbers that are whole are written as ints)."""
        return {
            "category_name": self.category.dataset_name,
            "category_id": int(self.category),
            "style": self.style,
            "bounding_box": [_num(v) for v in self.bbox_xyxy],
            "landmarks": [_num(v) for v in self.landmarks.ravel().tolist()],
            "segmentation": [[_num(v) for v in p.ravel().tolist()] for p in self.segmentation],
            "scale": self.scale,
            "occlusion": self.occlusion,
            "zoom_in": self.zoom_in,
            "viewpoint": self.viewpoint,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClothingItem):
            return NotImplemented
        return (
            self.key == other.key
            and self.category == other.category
            and self.style == other.style
            and self.bbox_xyxy == other.bbox_xyxy
            and np.array_equal(self.landmarks, other.landmarks)
            and len(self.segmentation) == len(other.segmentation)
            and all(np.array_equal(a, b) for a, b in zip(self.segmentation, other.segmentation))
            and self.attributes == other.attributes
        )

    __hash__ = None  # type: ignore[assignment]


def _num(v: float) -> int | float:
    """Whole numbers as int (as the dataset writes pixel coordinates), others as float."""
    if v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


@dataclass(frozen=True)
class ImageAnnotation:
    """One annotated image: image-level ``source`` / ``pair_id`` and its items, in file order.

    ``stem`` is the file stem (``"000123"``); ``image_id`` its integer. ``width``/``height`` are filled
    when known (from the image header), else ``None``.
    """

    stem: str
    source: str
    pair_id: int
    items: tuple[ClothingItem, ...] = field(default_factory=tuple)
    width: int | None = None
    height: int | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        image_id_from_stem(self.stem, path=self.path)
        if self.source not in ("shop", "user"):
            raise AnnotationError(f"expected 'shop' or 'user', got {self.source!r}", path=self.path, field="source")
        if isinstance(self.pair_id, bool) or not isinstance(self.pair_id, (int, np.integer)):
            raise AnnotationError(f"expected an integer, got {self.pair_id!r}", path=self.path, field="pair_id")
        object.__setattr__(self, "pair_id", int(self.pair_id))
        items = tuple(self.items)
        keys = [it.key for it in items]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise AnnotationError("duplicate item key", path=self.path, item=dup)
        for k in keys:
            if k in ("source", "pair_id"):
                raise AnnotationError("item key clashes with an image-level field", path=self.path, item=k)
        object.__setattr__(self, "items", items)

    @property
    def image_id(self) -> int:
        return int(self.stem)

    @property
    def file_name(self) -> str:
        """The image file name (``000123.jpg``)."""
        return f"{self.stem}.jpg"

    def to_dict(self) -> dict[str, Any]:
        """The native annotation dict: ``source``, ``pair_id``, then the items by key in record order."""
        out: dict[str, Any] = {"source": self.source, "pair_id": self.pair_id}
        for it in self.items:
            out[it.key] = it.to_dict()
        return out

    def with_items(self, items: Iterable[ClothingItem]) -> ImageAnnotation:
        """A copy with other items (records are frozen: this never mutates)."""
        return ImageAnnotation(self.stem, self.source, self.pair_id, tuple(items), self.width, self.height, self.path)


def is_item_key(key: str) -> bool:
    """Item keys look like ``item1``, ``item12``."""
    return bool(_ITEM_KEY.match(key))


def items_by_key(items: Sequence[ClothingItem]) -> dict[str, ClothingItem]:
    return {it.key: it for it in items}
