"""A tiny hand-made DeepFashion2-format split of simple garments (three categories) for the slow learning test:
df2kit.synth's scenes need far longer than a test may take to learn from scratch.

Each pair_id has one shop image (white background, one large centred garment) and one or two user images
(noisy background, the same garment smaller and off-centre, sometimes a style-0 distractor). A garment is
a per-category polygon in its box, filled with its identity's colour and stripes; its landmarks are points
of that polygon, so they sit at the same place of every garment of a category.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from df2kit.io import write_annotation
from df2kit.layout import Category
from df2kit.structures import ClothingItem, ImageAnnotation

#: Categories used by the toy data (distinct outlines).
TOY_CATEGORIES = (Category.SHORT_SLEEVE_TOP, Category.TROUSERS, Category.SKIRT)

# outlines in a unit box (x right, y down), symmetric about x = 0.5
_OUTLINES = {
    Category.SHORT_SLEEVE_TOP: [(0.35, 0.0), (0.65, 0.0), (1.0, 0.2), (0.85, 0.45), (0.75, 0.35), (0.75, 1.0),
                                (0.25, 1.0), (0.25, 0.35), (0.15, 0.45), (0.0, 0.2)],
    Category.TROUSERS: [(0.1, 0.0), (0.9, 0.0), (1.0, 1.0), (0.6, 1.0), (0.5, 0.3), (0.4, 1.0), (0.0, 1.0)],
    Category.SKIRT: [(0.3, 0.0), (0.7, 0.0), (1.0, 1.0), (0.0, 1.0)],
}


def _landmarks(cat: Category, poly: np.ndarray) -> np.ndarray:
    """K points spread along the outline (same fractions for every garment of the category)."""
    k = cat.num_landmarks
    closed = np.vstack([poly, poly[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    cum = np.concatenate([[0], np.cumsum(seg)])
    at = np.linspace(0, cum[-1], k, endpoint=False)
    pts = np.empty((k, 2))
    for i, a in enumerate(at):
        j = min(np.searchsorted(cum, a, side="right") - 1, len(seg) - 1)
        t = (a - cum[j]) / max(seg[j], 1e-9)
        pts[i] = closed[j] + t * (closed[j + 1] - closed[j])
    return np.column_stack([pts, np.full(k, 2.0)])


def _draw_item(img: Image.Image, cat: Category, box: tuple[float, float, float, float], colour: tuple[int, int, int],
               stripe: int) -> tuple[np.ndarray, np.ndarray]:
    x1, y1, x2, y2 = box
    unit = np.array(_OUTLINES[cat], dtype=np.float64)
    poly = np.column_stack([x1 + unit[:, 0] * (x2 - x1), y1 + unit[:, 1] * (y2 - y1)])
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in poly], fill=255)
    layer = Image.new("RGB", img.size, colour)
    d = ImageDraw.Draw(layer)
    dark = tuple(int(c * 0.45) for c in colour)
    for y in range(int(y1), int(y2) + 1, stripe):
        d.line([(x1, y), (x2, y)], fill=dark, width=max(1, stripe // 3))
    img.paste(layer, (0, 0), mask)
    return poly, _landmarks(cat, poly)


def _item(key: str, cat: Category, style: int, box: tuple[float, float, float, float], poly: np.ndarray,
          lm: np.ndarray) -> ClothingItem:
    return ClothingItem(key=key, category=cat, style=style, bbox_xyxy=box, landmarks=np.round(lm, 1),
                        segmentation=[np.round(poly, 1).ravel()], scale=2, occlusion=1, zoom_in=1, viewpoint=2)


def make_toy_split(root: Path, split: str, n_pairs: int, *, seed: int = 0, size: int = 128, first_id: int = 1) -> Path:
    """Write ``n_pairs`` pair_ids (1 shop + 1 or 2 user images each) into ``root/split``; returns the split dir."""
    rng = np.random.default_rng(seed)
    out = Path(root) / split
    (out / "image").mkdir(parents=True, exist_ok=True)
    img_id = first_id
    for pair in range(1, n_pairs + 1):
        cat = TOY_CATEGORIES[int(rng.integers(len(TOY_CATEGORIES)))]
        colour = tuple(int(v) for v in rng.integers(40, 256, 3))
        stripe = int(rng.integers(4, 12))
        views = [("shop", 0)] + [("user", u) for u in range(1 + int(rng.random() < 0.5))]
        for source, _ in views:
            if source == "shop":
                img = Image.new("RGB", (size, size), (250, 250, 250))
                w = rng.uniform(0.5, 0.7) * size
                h = rng.uniform(0.6, 0.8) * size
                x1, y1 = (size - w) / 2, (size - h) / 2
            else:
                noise = rng.integers(60, 200, (size, size, 3), dtype=np.uint8)
                img = Image.fromarray(noise)
                w = rng.uniform(0.3, 0.5) * size
                h = rng.uniform(0.4, 0.6) * size
                x1, y1 = rng.uniform(0, size - w), rng.uniform(0, size - h)
            box = (round(x1, 1), round(y1, 1), round(x1 + w, 1), round(y1 + h, 1))
            poly, lm = _draw_item(img, cat, box, colour, stripe)
            items = [_item("item1", cat, 1, box, poly, lm)]
            if source == "user" and rng.random() < 0.4:
                other = TOY_CATEGORIES[int(rng.integers(len(TOY_CATEGORIES)))]
                w2, h2 = rng.uniform(0.2, 0.3) * size, rng.uniform(0.25, 0.35) * size
                bx = (round(box[2] + 2 if box[2] + w2 + 2 < size else max(0.0, box[0] - w2 - 2), 1), round(rng.uniform(0, size - h2), 1))
                box2 = (bx[0], bx[1], round(bx[0] + w2, 1), round(bx[1] + h2, 1))
                poly2, lm2 = _draw_item(img, other, box2, tuple(int(v) for v in rng.integers(40, 256, 3)), 6)
                items.append(_item("item2", other, 0, box2, poly2, lm2))
            stem = f"{img_id:06d}"
            img.save(out / "image" / f"{stem}.jpg", quality=92)
            write_annotation(ImageAnnotation(stem, source, pair, tuple(items)), out / "annos" / f"{stem}.json")
            img_id += 1
    return out
