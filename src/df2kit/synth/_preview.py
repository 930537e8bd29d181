"""A small private drawing helper: annotations over an image, and a grid of samples (for the README picture
and for looking at the generator's output). The real drawing module belongs to df2kit.viz.

>>> from df2kit.synth import generate_image
>>> img, ann = generate_image(seed=0, size=128)
>>> overlay(img, ann).size == img.size
True
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from ..structures.records import ImageAnnotation

__all__ = ["overlay", "sample_grid"]


def overlay(
    img: Image.Image, ann: ImageAnnotation, *, masks: bool = True, boxes: bool = True, radius: int = 2
) -> Image.Image:
    """A copy of ``img`` with each item's mask (tinted), box, skeleton and landmarks (v = 2 filled, v = 1 hollow)."""
    out = img.convert("RGB").copy()
    if masks:
        tint = Image.new("RGB", out.size)
        alpha = Image.new("L", out.size, 0)
        td, ad = ImageDraw.Draw(tint), ImageDraw.Draw(alpha)
        for it in ann.items:
            for p in it.segmentation:
                if len(p) >= 3:
                    td.polygon(p.ravel().tolist(), fill=it.category.colour)
                    ad.polygon(p.ravel().tolist(), fill=110)
        out = Image.composite(tint, out, alpha)
    d = ImageDraw.Draw(out)
    for it in ann.items:
        col = it.category.colour
        if boxes:
            d.rectangle(it.bbox_xyxy, outline=col, width=1)
        for p in it.segmentation:
            if len(p) >= 2:
                q = p.ravel().tolist()
                d.line(q + q[:2], fill=col, width=1)
        lm = it.landmarks
        for a, b in it.category.skeleton:
            if lm[a - 1, 2] > 0 and lm[b - 1, 2] > 0:
                d.line([tuple(lm[a - 1, :2]), tuple(lm[b - 1, :2])], fill=(255, 255, 255), width=3)
                d.line([tuple(lm[a - 1, :2]), tuple(lm[b - 1, :2])], fill=col, width=1)
        for x, y, v in lm:
            if v == 2:
                d.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 255, 255), outline=(0, 0, 0))
            elif v == 1:
                d.ellipse([x - radius, y - radius, x + radius, y + radius], outline=(255, 40, 40), width=1)
    return out


def sample_grid(
    pairs: list[tuple[Image.Image, ImageAnnotation]], *, columns: int = 4, cell: int = 256, annotate: bool = True
) -> Image.Image:
    """Images (annotated) letterboxed into ``cell``-pixel squares, ``columns`` per row."""
    rows = (len(pairs) + columns - 1) // columns
    grid = Image.new("RGB", (columns * cell, rows * cell), (24, 24, 24))
    for k, (img, ann) in enumerate(pairs):
        im = overlay(img, ann, radius=max(2, round(max(img.size) / cell * 2))) if annotate else img
        f = cell / max(im.size)
        im = im.resize((max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f))), Image.Resampling.LANCZOS)
        x = (k % columns) * cell + (cell - im.size[0]) // 2
        y = (k // columns) * cell + (cell - im.size[1]) // 2
        grid.paste(im, (x, y))
    return grid


def readme_picture(path: str, *, seed: int = 1, pairs: int = 4, columns: int = 4, cell: int = 256) -> None:
    """The README's sample: the first images of a few pair_ids of a synthetic validation split, annotated
    (each row a pair_id: consumer photos, then shop photos)."""
    from .generate import plan_split
    from .scene import render_scene

    specs = plan_split("validation", 120, seed=seed, size=512)
    rows: list[tuple[Image.Image, ImageAnnotation]] = []
    groups = [[s for s in specs if s.pair_id == pid] for pid in sorted({s.pair_id for s in specs})]
    for group in [g for g in groups if len(g) >= columns - 1][:pairs]:
        group = group[:columns]
        row = []
        for s in group:
            res = render_scene(s)
            assert res.image is not None
            row.append((res.image, res.annotation))
        blank = (Image.new("RGB", (8, 8), (24, 24, 24)), ImageAnnotation(stem="000000", source="shop", pair_id=0))
        rows.extend(row + [blank] * (columns - len(row)))
    sample_grid(rows, columns=columns, cell=cell).save(path, quality=82, optimize=True)
