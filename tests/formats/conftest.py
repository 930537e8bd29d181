"""Hand-made splits for the converter tests: every rule has an item that exercises it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from df2kit.io import write_annotation
from df2kit.layout import Category
from df2kit.structures import ClothingItem, ImageAnnotation


def _lm(cat: Category, rows: dict[int, tuple[float, float, int]]) -> np.ndarray:
    """Landmarks of ``cat`` with the given 1-based rows set, others (0, 0, 0)."""
    out = np.zeros((cat.num_landmarks, 3))
    for j, v in rows.items():
        out[j - 1] = v
    return out


def handmade_images() -> list[tuple[ImageAnnotation, tuple[int, int]]]:
    """Three images (ids with gaps) and their (width, height)."""
    tr, top, sd = Category.TROUSERS, Category.SHORT_SLEEVE_TOP, Category.SLING_DRESS
    img2 = ImageAnnotation(
        stem="000002",
        source="user",
        pair_id=7,
        items=(
            ClothingItem(  # listed first although its key is item2: file order is kept
                key="item2",
                category=tr,
                style=1,
                bbox_xyxy=(10, 20, 110, 220),
                landmarks=_lm(tr, {1: (12, 22, 2), 2: (50, 25, 1), 14: (100, 210, 2)}),
                segmentation=[[10, 20, 110, 20, 60, 220]],
                scale=2, occlusion=1, zoom_in=1, viewpoint=2,
            ),
            ClothingItem(  # float coordinates, two parts and one degenerate 2-point polygon
                key="item1",
                category=top,
                style=0,
                bbox_xyxy=(5.5, 6.25, 100.5, 90.75),
                landmarks=_lm(top, {1: (7.5, 8.25, 2), 25: (99.5, 90.0, 1)}),
                segmentation=[[6, 7, 40, 7, 40, 40, 6, 40], [60.5, 50, 100, 50, 100, 90, 60.5, 90], [1, 1, 2, 2]],
                scale=1, occlusion=2, zoom_in=3, viewpoint=1,
            ),
        ),
    )
    img5 = ImageAnnotation(
        stem="000005",
        source="shop",
        pair_id=7,
        items=(
            ClothingItem(  # no polygon at all, no labeled landmark
                key="item1",
                category=tr,
                style=1,
                bbox_xyxy=(30, 40, 90, 160),
                landmarks=_lm(tr, {}),
                segmentation=[],
                scale=3, occlusion=3, zoom_in=2, viewpoint=3,
            ),
        ),
    )
    img10 = ImageAnnotation(
        stem="000010",
        source="user",
        pair_id=9,
        items=(
            ClothingItem(  # box and a landmark beyond the image's right edge; only a 2-point polygon
                key="item1",
                category=sd,
                style=2,
                bbox_xyxy=(100, 50, 260, 190),
                landmarks=_lm(sd, {1: (150, 60, 2), 19: (255, 180, 2), 10: (120, 100, 1)}),
                segmentation=[[100, 50, 250, 190]],
                scale=2, occlusion=1, zoom_in=1, viewpoint=2,
            ),
        ),
    )
    return [(img2, (320, 240)), (img5, (200, 300)), (img10, (240, 200))]


def write_split(d: Path, images: list[tuple[ImageAnnotation, tuple[int, int]]], *, with_images: bool = True) -> Path:
    (d / "annos").mkdir(parents=True, exist_ok=True)
    (d / "image").mkdir(parents=True, exist_ok=True)
    for ann, (w, h) in images:
        write_annotation(ann, d / "annos" / f"{ann.stem}.json")
        if with_images:
            Image.new("RGB", (w, h), (90, 120, 150)).save(d / "image" / f"{ann.stem}.jpg", quality=30)
    return d


@pytest.fixture()
def handmade(tmp_path: Path) -> Path:
    """ROOT/validation with the hand-made images; returns the split folder."""
    return write_split(tmp_path / "root" / "validation", handmade_images())
