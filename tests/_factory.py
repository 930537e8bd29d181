"""Small random DeepFashion2-format splits for tests of the readers (the synthetic generator makes the rich
ones). Everything is drawn from a seeded RNG, so a seed always gives the same files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image

from df2kit.io import write_annotation
from df2kit.layout import CATEGORIES, Category
from df2kit.structures import ClothingItem, ImageAnnotation


def random_item(rng: random.Random, key: str, w: int, h: int, *, style: int, category: int | None = None) -> ClothingItem:
    cat = Category(category or rng.choice(CATEGORIES).id)
    x1, y1 = rng.randint(0, w // 2), rng.randint(0, h // 2)
    x2, y2 = rng.randint(x1 + 5, w), rng.randint(y1 + 5, h)
    lm = np.zeros((cat.num_landmarks, 3))
    for j in range(cat.num_landmarks):
        v = rng.choice((0, 1, 2, 2))
        if v:
            lm[j] = (rng.randint(x1, x2), rng.randint(y1, y2), v)
    polys = []
    for _ in range(rng.choice((1, 1, 2))):
        n = rng.randint(3, 12)
        polys.append([round(rng.uniform(x1, x2), 2) if i % 2 == 0 else round(rng.uniform(y1, y2), 2) for i in range(2 * n)])
    return ClothingItem(
        key=key,
        category=cat,
        style=style,
        bbox_xyxy=(x1, y1, x2, y2),
        landmarks=lm,
        segmentation=polys,
        scale=rng.randint(1, 3),
        occlusion=rng.randint(1, 3),
        zoom_in=rng.randint(1, 3),
        viewpoint=rng.randint(1, 3),
    )


def random_annotation(rng: random.Random, stem: str, *, source: str, pair_id: int, w: int = 320, h: int = 240) -> ImageAnnotation:
    n = rng.randint(1, 3)
    keys = [f"item{k}" for k in range(1, n + 1)]
    rng.shuffle(keys)  # arbitrary key order, as in the real files
    items = [random_item(rng, k, w, h, style=rng.choice((0, 1, 1, 2))) for k in keys]
    return ImageAnnotation(stem=stem, source=source, pair_id=pair_id, items=tuple(items))


def make_split(root: Path, n_images: int = 30, *, seed: int = 0, split: str = "validation", images: bool = True) -> Path:
    """Write ``root/split/{annos,image}`` with ``n_images`` random annotated images; returns the split dir."""
    rng = random.Random(seed)
    d = root / split
    (d / "annos").mkdir(parents=True, exist_ok=True)
    (d / "image").mkdir(parents=True, exist_ok=True)
    pair = 1
    for i in range(1, n_images + 1):
        if i % 4 == 1:
            pair += 1
        ann = random_annotation(rng, f"{i:06d}", source="user" if i % 4 in (1, 2) else "shop", pair_id=pair)
        write_annotation(ann, d / "annos" / f"{ann.stem}.json")
        if images:
            Image.new("RGB", (320, 240), (i % 255, 100, 100)).save(d / "image" / f"{ann.stem}.jpg", quality=50)
    return d
