"""Drawing primitives: one internal shape per clothing item, rendered with Pillow onto a copy of the image.

Everything here works on a private copy; callers' images and arrays are never written to.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import ImageError
from ..layout import Category

ImageLike = Union[Image.Image, np.ndarray, str, "os.PathLike[str]"]

#: Colours that are not category facts: caption band, text on it, retrieval hit / miss / query frames.
CAPTION_BG = (24, 24, 24)
CAPTION_FG = (245, 245, 245)
HIT = (30, 170, 60)
MISS = (215, 40, 40)
QUERY = (30, 100, 220)
BACKGROUND = (255, 255, 255)


@dataclass(frozen=True, eq=False)
class Shape:
    """One item to draw, in the drawing's pixel coordinates (already scaled).

    ``landmarks`` is the category-local ``(K, 3)`` array ``[x, y, v]``; ``occluded_style`` says whether v = 1
    is drawn as occluded (ground truth) or like a visible point (predictions, whose v carries no meaning).
    """

    category: Category
    bbox_xyxy: tuple[float, float, float, float] | None = None
    polygons: tuple[np.ndarray, ...] = ()
    mask: np.ndarray | None = None  #: bool (H, W) in drawing coordinates
    landmarks: np.ndarray | None = None
    label: str = ""
    occluded_style: bool = True
    dashed: bool = False


# ---- images in, images out -------------------------------------------------------------------------
def to_rgb(image: ImageLike) -> Image.Image:
    """A new RGB Pillow image from a Pillow image, an ``(H, W[, 3|4])`` uint8 array, or a file path.

    Always a copy: drawing on the result never touches the input.
    """
    if isinstance(image, Image.Image):
        return image.convert("RGB").copy()
    if isinstance(image, np.ndarray):
        arr = np.ascontiguousarray(image)
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.size and float(np.nanmax(arr)) <= 1.0:
                arr = np.clip(arr * 255.0 + 0.5, 0, 255)
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        else:
            arr = arr.copy()
        if arr.ndim == 2:
            return Image.fromarray(arr, "L").convert("RGB")
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            return Image.fromarray(arr[:, :, :3].copy(), "RGB")
        raise ValueError(f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    return load_image(image)


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Read an image file as RGB; :class:`~df2kit.errors.ImageError` naming the file if it cannot be read."""
    p = os.fspath(path)
    try:
        with Image.open(p) as im:
            im.load()
            return im.convert("RGB")
    except FileNotFoundError:
        raise ImageError("image file not found", path=p) from None
    except IsADirectoryError:
        raise ImageError("expected an image file, got a folder", path=p) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"not a readable image ({e})", path=p) from None


def fit_scale(width: int, height: int, max_size: int | None) -> float:
    """The factor that brings the longer side down to ``max_size`` (1.0 when it already fits or no limit)."""
    if not max_size or max(width, height) <= max_size:
        return 1.0
    return max_size / float(max(width, height))


def resized(img: Image.Image, scale: float) -> Image.Image:
    if scale == 1.0:
        return img
    w, h = img.size
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)


# ---- fonts and sizes -------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` pixels (a scalable one when Pillow has FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size only
        return ImageFont.load_default()


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt: Any) -> tuple[int, int]:
    l, t, r, b = draw.textbbox((0, 0), text, font=fnt)
    return int(r - l), int(b - t)


def line_width(w: int, h: int) -> int:
    return max(1, round(min(w, h) / 220))


def dot_radius(w: int, h: int) -> int:
    return max(2, round(min(w, h) / 110))


def font_size(w: int, h: int) -> int:
    return int(np.clip(round(min(w, h) / 28), 10, 28))


def readable_on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``colour``."""
    r, g, b = colour
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


# ---- rendering -------------------------------------------------------------------------------------
def polygons_mask(polygons: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Rasterize the union of polygons to a bool ``(H, W)`` mask (Pillow's polygon fill)."""
    m = Image.new("L", size, 0)
    d = ImageDraw.Draw(m)
    for p in polygons:
        pts = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        if len(pts) >= 3:
            d.polygon([tuple(xy) for xy in pts.tolist()], fill=255)
        elif len(pts) == 2:
            d.line([tuple(xy) for xy in pts.tolist()], fill=255)
    return np.asarray(m) > 0


def _blend_masks(img: Image.Image, shapes: Sequence[Shape], alpha: float) -> Image.Image:
    if alpha <= 0:
        return img
    arr = np.asarray(img).astype(np.float32)
    size = img.size
    for s in shapes:
        m = s.mask if s.mask is not None else (polygons_mask(s.polygons, size) if s.polygons else None)
        if m is None or not m.any():
            continue
        colour = np.array(s.category.colour, dtype=np.float32)
        arr[m] = arr[m] * (1.0 - alpha) + colour * alpha
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")


def _dashed_rectangle(draw: ImageDraw.ImageDraw, box: Sequence[float], colour: Any, width: int) -> None:
    x1, y1, x2, y2 = box
    dash = max(4, 4 * width)
    for (ax, ay, bx, by) in ((x1, y1, x2, y1), (x2, y1, x2, y2), (x2, y2, x1, y2), (x1, y2, x1, y1)):
        length = float(np.hypot(bx - ax, by - ay))
        n = max(1, int(length // dash))
        for k in range(0, n, 2):
            t0, t1 = k / n, min(1.0, (k + 1) / n)
            draw.line([(ax + (bx - ax) * t0, ay + (by - ay) * t0), (ax + (bx - ax) * t1, ay + (by - ay) * t1)],
                      fill=colour, width=width)


def render(
    image: Image.Image,
    shapes: Sequence[Shape],
    *,
    boxes: bool = True,
    masks: bool = True,
    landmarks: bool = True,
    labels: bool = True,
    mask_alpha: float = 0.45,
) -> Image.Image:
    """Draw ``shapes`` on a copy of ``image`` (RGB): masks, box outlines, skeletons, landmark dots, labels."""
    w, h = image.size
    out = _blend_masks(image.copy(), shapes, mask_alpha) if masks else image.copy()
    draw = ImageDraw.Draw(out)
    lw, r = line_width(w, h), dot_radius(w, h)
    if masks:
        for s in shapes:
            for p in s.polygons:
                pts = [tuple(xy) for xy in np.asarray(p, dtype=np.float64).reshape(-1, 2).tolist()]
                if len(pts) >= 2:
                    draw.line(pts + [pts[0]], fill=s.category.colour, width=max(1, lw // 2))
    if boxes:
        for s in shapes:
            if s.bbox_xyxy is None:
                continue
            if s.dashed:
                _dashed_rectangle(draw, s.bbox_xyxy, s.category.colour, lw)
            else:
                draw.rectangle(s.bbox_xyxy, outline=s.category.colour, width=lw)
    if landmarks:
        for s in shapes:
            if s.landmarks is not None:
                _draw_landmarks(draw, s, lw, r)
    if labels:
        fnt = font(font_size(w, h))
        placed: list[tuple[float, float, float, float]] = []
        for s in shapes:
            if s.label and s.bbox_xyxy is not None:
                _draw_label(draw, s, fnt, w, h, placed)
    return out


def _draw_landmarks(draw: ImageDraw.ImageDraw, s: Shape, lw: int, r: int) -> None:
    lm = np.asarray(s.landmarks, dtype=np.float64)
    colour = s.category.colour
    labeled = lm[:, 2] > 0
    for a, b in s.category.skeleton:
        if a - 1 < len(lm) and b - 1 < len(lm) and labeled[a - 1] and labeled[b - 1]:
            draw.line([tuple(lm[a - 1, :2]), tuple(lm[b - 1, :2])], fill=colour, width=lw)
    for x, y, v in lm.tolist():
        if v <= 0:
            continue
        bbox = (x - r, y - r, x + r, y + r)
        if v == 1 and s.occluded_style:
            # occluded: a ring (the picture shows through the middle)
            draw.ellipse(bbox, outline=colour, width=max(1, (r + 1) // 2))
        else:
            # visible: a filled dot with a thin white rim so it reads on any background
            draw.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), fill=(255, 255, 255))
            draw.ellipse(bbox, fill=colour)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draw_label(draw: ImageDraw.ImageDraw, s: Shape, fnt: Any, w: int, h: int,
                placed: list[tuple[float, float, float, float]]) -> None:
    """The label in a box of the item's colour: above the box's top-left corner when there is room, else just
    inside it; moved down (then up) past labels already drawn so that none hides another."""
    if s.bbox_xyxy is None:
        return
    x1, y1, _, _ = s.bbox_xyxy
    tw, th = text_size(draw, s.label, fnt)
    pad = max(2, th // 5)
    bw, bh = tw + 2 * pad, th + 2 * pad
    lx = float(np.clip(x1, 0, max(0, w - bw)))
    y0 = y1 - bh if y1 - bh >= 0 else y1
    rect = (lx, y0, lx + bw, y0 + bh)
    for k in range(1, 12):
        if not any(_overlaps(rect, r) for r in placed):
            break
        for ly in (y0 + k * bh, y0 - k * bh):
            cand = (lx, ly, lx + bw, ly + bh)
            if 0 <= ly <= h - bh and not any(_overlaps(cand, r) for r in placed):
                rect = cand
                break
        else:
            continue
        break
    lx, ly = rect[0], float(np.clip(rect[1], 0, max(0, h - bh)))
    placed.append((lx, ly, lx + bw, ly + bh))
    colour = s.category.colour
    draw.rectangle((lx, ly, lx + bw, ly + bh), fill=colour)
    l, t, _, _ = draw.textbbox((0, 0), s.label, font=fnt)
    draw.text((lx + pad - l, ly + pad - t), s.label, font=fnt, fill=readable_on(colour))


def add_caption(image: Image.Image, text: str, *, size: int | None = None) -> Image.Image:
    """A new image: ``image`` with a dark caption band holding ``text`` below it (the picture is not moved)."""
    w, h = image.size
    fnt = font(size or max(12, font_size(w, h)))
    probe = ImageDraw.Draw(image.copy())
    lines = _wrap(probe, text, fnt, w - 8)
    _, th = text_size(probe, "Ag", fnt)
    pad = max(3, th // 3)
    band = len(lines) * (th + pad) + pad
    out = Image.new("RGB", (w, h + band), CAPTION_BG)
    out.paste(image, (0, 0))
    d = ImageDraw.Draw(out)
    y = h + pad
    for ln in lines:
        l, t, _, _ = d.textbbox((0, 0), ln, font=fnt)
        d.text((4 - l, y - t), ln, font=fnt, fill=CAPTION_FG)
        y += th + pad
    return out


def _wrap(draw: ImageDraw.ImageDraw, text: str, fnt: Any, width: int) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        words = para.split(" ")
        cur = ""
        for word in words:
            trial = f"{cur} {word}" if cur else word
            if cur and text_size(draw, trial, fnt)[0] > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
    return lines
