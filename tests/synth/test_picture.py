"""Pictures: the skeleton drawn from the annotation lies on the garment in the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from df2kit.layout import Category
from df2kit.synth import generate_image
from df2kit.synth._preview import overlay, sample_grid

README_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "images" / "synth_sample.jpg"


def _mask(size: tuple[int, int], polys) -> np.ndarray:  # type: ignore[no-untyped-def]
    m = Image.new("L", size, 0)
    d = ImageDraw.Draw(m)
    for p in polys:
        if len(p) >= 3:
            d.polygon(p.ravel().tolist(), fill=1)
    return np.asarray(m, dtype=bool)


@pytest.mark.parametrize("cat", list(Category), ids=lambda c: c.name.lower())
def test_skeleton_drawn_over_the_image_runs_on_the_garment(cat: Category) -> None:
    img, ann = generate_image(seed=int(cat) * 7, source="shop", category=cat, size=256)
    item = next(it for it in ann.items if it.category == cat)
    drawn = np.asarray(overlay(img, ann, masks=False, boxes=False), dtype=np.int16)
    plain = np.asarray(img, dtype=np.int16)
    inside = _mask(img.size, item.segmentation)
    # a little slack: skeleton edges cut corners of concave outlines (necklines, armholes)
    grown = (
        np.asarray(
            Image.fromarray(inside.astype(np.uint8) * 255).filter(
                __import__("PIL.ImageFilter").ImageFilter.MaxFilter(5)
            )
        )
        > 0
    )
    lm = item.landmarks
    n_edges = on = 0
    for a, b in cat.skeleton:
        if lm[a - 1, 2] > 0 and lm[b - 1, 2] > 0:
            n_edges += 1
            x, y = np.round((lm[a - 1, :2] + lm[b - 1, :2]) / 2).astype(int)
            x, y = min(x, img.size[0] - 1), min(y, img.size[1] - 1)
            assert np.abs(drawn[y, x] - plain[y, x]).sum() > 0, "the skeleton is drawn where the landmarks are"
            on += bool(grown[y, x])
    assert n_edges >= len(cat.skeleton) // 2
    assert on >= 0.9 * n_edges, f"{n_edges - on} of {n_edges} skeleton edges of {cat.dataset_name} leave the garment"


def test_sample_grid_tiles_the_images() -> None:
    pairs = [generate_image(seed=s, size=96) for s in range(3)]
    grid = sample_grid(pairs, columns=2, cell=64)
    assert grid.size == (128, 128)
    assert np.asarray(grid)[64:, 64:].max() <= 24 + 0, "the empty fourth cell stays background"


def test_readme_picture_is_committed_and_small() -> None:
    assert README_PICTURE.is_file()
    assert README_PICTURE.stat().st_size < 300_000
    with Image.open(README_PICTURE) as im:
        assert im.format == "JPEG" and min(im.size) >= 400
