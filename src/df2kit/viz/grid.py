"""Put many pictures together: a grid (like Figure 1 of the DeepFashion2 README) and side-by-side panels.

>>> from PIL import Image
>>> from df2kit.viz import image_grid, side_by_side
>>> tiles = [Image.new("RGB", (64, 48), (200, 0, 0)) for _ in range(5)]
>>> image_grid(tiles, columns=3, cell=(64, 64)).size
(216, 146)
>>> side_by_side(tiles[:2]).size
(134, 48)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

from ._draw import BACKGROUND, ImageLike, font, text_size, to_rgb

__all__ = ["fit_into", "image_grid", "side_by_side"]


def fit_into(image: Image.Image, cell: tuple[int, int]) -> Image.Image:
    """A copy of ``image`` scaled (down or up) to fit ``cell`` = (width, height), keeping its aspect ratio."""
    w, h = image.size
    cw, ch = cell
    s = min(cw / w, ch / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    if (nw, nh) == (w, h):
        return image.copy()
    return image.resize((nw, nh), Image.Resampling.LANCZOS if s < 1 else Image.Resampling.BILINEAR)


def _title_band(width: int, title: str, size: int) -> Image.Image:
    fnt = font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    tw, th = text_size(probe, title, fnt)
    band = Image.new("RGB", (width, th + 8), BACKGROUND)
    d = ImageDraw.Draw(band)
    l, t, _, _ = d.textbbox((0, 0), title, font=fnt)
    d.text(((width - tw) // 2 - l, 4 - t), title, font=fnt, fill=(20, 20, 20))
    return band


def image_grid(
    images: Sequence[ImageLike],
    *,
    columns: int | None = None,
    cell: tuple[int, int] = (256, 256),
    gap: int = 6,
    titles: Sequence[str] | None = None,
    row_titles: Sequence[str] | None = None,
    background: tuple[int, int, int] = BACKGROUND,
) -> Image.Image:
    """Tile pictures into a grid of ``columns`` (default: about square), each fitted into ``cell`` and centred.

    ``titles`` puts a line of text above each tile; ``row_titles`` one at the left of each row.
    """
    n = len(images)
    if n == 0:
        raise ValueError("expected at least one image for the grid, got none")
    if columns is None:
        columns = max(1, math.ceil(math.sqrt(n)))
    if titles is not None and len(titles) != n:
        raise ValueError(f"expected {n} titles (one per image), got {len(titles)}")
    rows = math.ceil(n / columns)
    if row_titles is not None and len(row_titles) != rows:
        raise ValueError(f"expected {rows} row titles, got {len(row_titles)}")
    cw, ch = cell
    tsize = max(11, min(18, cw // 16))
    title_h = _title_band(cw, "Ag", tsize).size[1] if titles else 0
    left = 0
    if row_titles:
        probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        left = max(text_size(probe, t, font(tsize))[0] for t in row_titles) + 2 * gap
    width = left + columns * cw + (columns + 1) * gap
    height = rows * (ch + title_h) + (rows + 1) * gap
    out = Image.new("RGB", (width, height), background)
    d = ImageDraw.Draw(out)
    for k, im in enumerate(images):
        r, c = divmod(k, columns)
        x0 = left + gap + c * (cw + gap)
        y0 = gap + r * (ch + title_h + gap)
        if titles:
            out.paste(_title_band(cw, titles[k], tsize), (x0, y0))
        tile = fit_into(to_rgb(im), cell)
        out.paste(tile, (x0 + (cw - tile.size[0]) // 2, y0 + title_h + (ch - tile.size[1]) // 2))
    if row_titles:
        fnt = font(tsize)
        for r, t in enumerate(row_titles):
            _, th = text_size(d, t, fnt)
            y = gap + r * (ch + title_h + gap) + title_h + (ch - th) // 2
            l, tt, _, _ = d.textbbox((0, 0), t, font=fnt)
            d.text((gap - l, y - tt), t, font=fnt, fill=(20, 20, 20))
    return out


def side_by_side(
    images: Sequence[ImageLike],
    *,
    gap: int = 6,
    titles: Sequence[str] | None = None,
    background: tuple[int, int, int] = BACKGROUND,
) -> Image.Image:
    """Pictures next to each other at their own size, top-aligned, with optional titles above."""
    ims = [to_rgb(i) for i in images]
    if not ims:
        raise ValueError("expected at least one image, got none")
    if titles is not None and len(titles) != len(ims):
        raise ValueError(f"expected {len(ims)} titles, got {len(titles)}")
    bands = [_title_band(im.size[0], t, max(12, min(20, im.size[0] // 20))) for im, t in zip(ims, titles)] if titles else []
    th = max((b.size[1] for b in bands), default=0)
    width = sum(im.size[0] for im in ims) + gap * (len(ims) - 1)
    height = th + max(im.size[1] for im in ims)
    out = Image.new("RGB", (width, height), background)
    x = 0
    for k, im in enumerate(ims):
        if bands:
            out.paste(bands[k], (x, 0))
        out.paste(im, (x, th))
        x += im.size[0] + gap
    return out
