"""Drawing: backgrounds, garments with their prints and textures, bodies, occluders, camera effects.

Everything is drawn with Pillow on an RGB image from shapes already mapped to pixels (the scene maps person
units through the image's homography, so rotation and perspective are exact for outlines, prints and
landmarks alike). Prints are computed in person units through the inverse homography, so a product's stripes
run the same way across its shop and consumer images.

>>> from PIL import Image
>>> import numpy as np
>>> img = background(64, 48, "shop", np.random.default_rng(0))
>>> img.size, img.mode
((64, 48), 'RGB')
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image, ImageDraw

from .identity import Look

__all__ = [
    "HAIR_COLOURS",
    "SKIN_TONES",
    "background",
    "camera_effects",
    "draw_garment",
    "fill",
    "mix",
    "shade",
]

SKIN_TONES = (
    (255, 219, 172),
    (241, 194, 125),
    (224, 172, 105),
    (198, 134, 66),
    (141, 85, 36),
    (92, 58, 32),
    (233, 190, 170),
)
HAIR_COLOURS = ((20, 16, 14), (60, 40, 25), (110, 75, 40), (170, 130, 70), (200, 170, 110), (90, 90, 90), (140, 40, 30))

Colour = tuple[int, int, int]


def shade(c: Colour, f: float) -> Colour:
    """A colour scaled by ``f`` (darker below 1, lighter above), clipped to 0..255."""
    return (min(255, int(c[0] * f)), min(255, int(c[1] * f)), min(255, int(c[2] * f)))


def mix(a: Colour, b: Colour, t: float) -> Colour:
    return (int(a[0] + (b[0] - a[0]) * t), int(a[1] + (b[1] - a[1]) * t), int(a[2] + (b[2] - a[2]) * t))


def _edge_colour(c: Colour) -> Colour:
    lum = 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
    return shade(c, 0.55) if lum > 60 else shade((c[0] + 40, c[1] + 40, c[2] + 40), 1.3)


@functools.lru_cache(maxsize=2)
def _noise_big(seed: int = 12345) -> Image.Image:
    """A fixed 1024 x 1024 grey noise image (the same in every process: textures stay deterministic)."""
    rng = np.random.default_rng(seed)
    size = 1024
    a = rng.normal(128, 40, (size // 8, size // 8)).clip(0, 255).astype(np.uint8)
    small = Image.fromarray(a, "L").resize((size // 2, size // 2), Image.Resampling.BILINEAR)
    fine = rng.normal(0, 18, (size // 2, size // 2))
    b = (np.asarray(small, dtype=np.float64) + fine).clip(0, 255).astype(np.uint8)
    return Image.fromarray(b, "L").resize((size, size), Image.Resampling.BILINEAR)


def _tiled_noise(w: int, h: int, ox: int = 0, oy: int = 0) -> Image.Image:
    big = _noise_big()
    bs = big.size[0]
    if w <= bs and h <= bs:
        x, y = ox % (bs - w + 1), oy % (bs - h + 1)
        return big.crop((x, y, x + w, y + h))
    out = Image.new("L", (w, h))
    for y in range(0, h, bs):
        for x in range(0, w, bs):
            out.paste(big, (x, y))
    return out


def _lut(fn) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(fn(v)) for v in range(256)]


_LUT_BED = _lut(lambda v: 255 if v > 110 else 170)
_LUT_USER = _lut(lambda v: 255 if v > 100 else 200)


def fill(draw: ImageDraw.ImageDraw, polys: list[np.ndarray], colour: Colour, outline: Colour | None = None) -> None:
    """Fill polygons (pixel coordinates) on a draw context."""
    for p in polys:
        if len(p) >= 3:
            draw.polygon(p.ravel().tolist(), fill=colour, outline=outline)


# ---- backgrounds ------------------------------------------------------------------------------------------


def _gradient(w: int, h: int, a: Colour, b: Colour, vertical: bool = True) -> Image.Image:
    n = h if vertical else w
    t = np.linspace(0.0, 1.0, n)[:, None]
    row = (np.array(a)[None, :] * (1 - t) + np.array(b)[None, :] * t).astype(np.uint8)
    if vertical:
        return Image.fromarray(row[:, None, :].repeat(1, axis=1), "RGB").resize((w, h), Image.Resampling.NEAREST)
    return Image.fromarray(row[None, :, :], "RGB").resize((w, h), Image.Resampling.NEAREST)


def _rand_colour(rng: np.random.Generator, lo: int = 30, hi: int = 230) -> Colour:
    c = rng.integers(lo, hi, 3)
    return (int(c[0]), int(c[1]), int(c[2]))


def background(w: int, h: int, kind: str, rng: np.random.Generator) -> Image.Image:
    """A background: ``shop`` (clean studio), ``user`` (a cluttered room or street) or ``bed`` (flat lay)."""
    if kind == "shop":
        base = int(rng.integers(225, 256))
        tint = rng.integers(-12, 8, 3)
        c = tuple(int(np.clip(base + t, 0, 255)) for t in tint)
        if rng.random() < 0.4:
            c2 = shade(c, float(rng.uniform(0.82, 0.95)))  # type: ignore[arg-type]
            img = _gradient(w, h, c, c2)  # type: ignore[arg-type]
        else:
            img = Image.new("RGB", (w, h), c)  # type: ignore[arg-type]
        return img
    if kind == "bed":
        c = _rand_colour(rng, 120, 250)
        img = Image.new("RGB", (w, h), c)
        d = ImageDraw.Draw(img)
        if rng.random() < 0.5:  # planks or sheet stripes
            step = int(rng.integers(18, 60))
            c2 = shade(c, float(rng.uniform(0.75, 0.92)))
            for x in range(int(rng.integers(0, step)), w, step):
                d.line([(x, 0), (x, h)], fill=c2, width=max(1, step // 10))
        noise = _tiled_noise(w, h, int(rng.integers(0, 128)), int(rng.integers(0, 128)))
        return Image.composite(img, Image.new("RGB", (w, h), shade(c, 0.85)), noise.point(_LUT_BED))
    # user: a wall, a floor and clutter
    wall = _rand_colour(rng, 60, 240)
    img = _gradient(w, h, wall, shade(wall, float(rng.uniform(0.6, 1.1))), vertical=bool(rng.random() < 0.7))
    d = ImageDraw.Draw(img)
    horizon = int(h * rng.uniform(0.55, 0.9))
    floor = _rand_colour(rng, 40, 200)
    d.rectangle([0, horizon, w, h], fill=floor)
    if rng.random() < 0.5:
        step = int(rng.integers(20, 70))
        for x in range(int(rng.integers(0, step)), w, step):
            d.line([(x, horizon), (x + (x - w / 2) * 0.6, h)], fill=shade(floor, 0.8), width=1)
    for _ in range(int(rng.integers(3, 12))):
        c = _rand_colour(rng)
        x0, y0 = rng.uniform(-0.1, 1.0) * w, rng.uniform(-0.1, 0.95) * h
        bw, bh = rng.uniform(0.05, 0.45) * w, rng.uniform(0.05, 0.6) * h
        r = rng.random()
        if r < 0.55:
            d.rectangle([x0, y0, x0 + bw, y0 + bh], fill=c, outline=shade(c, 0.7))
            if rng.random() < 0.3:  # a window or a frame: an inner lighter panel
                m = min(bw, bh) * 0.12
                d.rectangle([x0 + m, y0 + m, x0 + bw - m, y0 + bh - m], fill=shade(c, 1.35))
        elif r < 0.8:
            d.ellipse([x0, y0, x0 + bw * 0.6, y0 + bw * 0.6], fill=c)
        else:
            d.line([(x0, y0), (x0 + bw, y0 + bh)], fill=c, width=int(rng.integers(2, 9)))
    if rng.random() < 0.6:
        noise = _tiled_noise(w, h, int(rng.integers(0, 128)), int(rng.integers(0, 128)))
        img = Image.composite(img, Image.new("RGB", (w, h), shade(wall, 0.8)), noise.point(_LUT_USER))
    return img


# ---- garments ---------------------------------------------------------------------------------------------


def _pattern_index(u: np.ndarray, v: np.ndarray, look: Look) -> np.ndarray | None:
    """Per-pixel 0/1/2 print index (0 = base colour) from person-unit coordinates, or None for a solid look."""
    p = look.period
    kind = look.pattern
    if kind == "hstripe":
        return (np.mod(v / p, 1.0) < look.duty).astype(np.uint8)
    if kind == "vstripe":
        return (np.mod(u / p, 1.0) < look.duty).astype(np.uint8)
    if kind == "dstripe":
        ang = math.radians(look.angle or 45.0)
        return (np.mod((u * math.cos(ang) + v * math.sin(ang)) / p, 1.0) < look.duty).astype(np.uint8)
    if kind == "check":
        a = np.mod(u / p, 1.0) < 0.5
        b = np.mod(v / p, 1.0) < 0.5
        return (a.astype(np.uint8) + b.astype(np.uint8)).astype(np.uint8)
    if kind == "dots":
        fu = np.mod(u / p, 1.0) - 0.5
        fv = np.mod(v / p + 0.5 * (np.floor(u / p) % 2), 1.0) - 0.5
        return ((fu * fu + fv * fv) < (0.5 * look.duty) ** 2).astype(np.uint8) * 2
    if kind == "colorblock":
        return (v > 1.0 + look.logo_dy).astype(np.uint8) * 2
    return None


_LOGOS = (
    [
        (0.0, -1.0),
        (0.29, -0.4),
        (0.95, -0.31),
        (0.47, 0.15),
        (0.59, 0.81),
        (0.0, 0.5),
        (-0.59, 0.81),
        (-0.47, 0.15),
        (-0.95, -0.31),
        (-0.29, -0.4),
    ],
    [(math.cos(t), math.sin(t)) for t in np.linspace(0, 2 * math.pi, 16, endpoint=False)],
    [(-1.0, -0.6), (1.0, -0.6), (1.0, 0.6), (-1.0, 0.6)],
    [(0.0, -1.0), (1.0, 0.8), (-1.0, 0.8)],
    [
        (-1.0, -0.25),
        (1.0, -0.25),
        (1.0, 0.25),
        (-1.0, 0.25),
        (-0.25, 0.25),
        (-0.25, 1.0),
        (0.25, 1.0),
        (0.25, -1.0),
        (-0.25, -1.0),
        (-0.25, -0.25),
    ],
    [(-1.0, -1.0), (-0.3, -1.0), (0.0, -0.2), (0.3, -1.0), (1.0, -1.0), (0.3, 1.0), (-0.3, 1.0)],
)


def logo_polygon(look: Look, centre: np.ndarray) -> np.ndarray:
    """The logo of a look, in person units, centred at ``centre``."""
    pts = np.array(_LOGOS[look.logo % len(_LOGOS)], dtype=np.float64) * look.logo_size * 0.5
    return pts + centre


def draw_garment(
    img: Image.Image,
    polys: list[np.ndarray],
    look: Look,
    inv_h: np.ndarray,
    *,
    inner: list[np.ndarray] = (),  # type: ignore[assignment]
    details: list[tuple[np.ndarray, bool, str]] = (),  # type: ignore[assignment]
    logo: np.ndarray | None = None,
    folds: list[np.ndarray] = (),  # type: ignore[assignment]
    line_width: int = 1,
    shading: float = 0.0,
) -> None:
    """Paint one garment (pixel-space shapes) with its look; prints follow person units through ``inv_h``."""
    w, h = img.size
    allp = np.vstack([p for p in polys if len(p)])
    x0 = max(math.floor(allp[:, 0].min()) - 1, 0)
    y0 = max(math.floor(allp[:, 1].min()) - 1, 0)
    x1 = min(math.ceil(allp[:, 0].max()) + 2, w)
    y1 = min(math.ceil(allp[:, 1].max()) + 2, h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    bw, bh = x1 - x0, y1 - y0
    off = np.array([x0, y0], dtype=np.float64)
    mask = Image.new("L", (bw, bh), 0)
    md = ImageDraw.Draw(mask)
    for p in polys:
        if len(p) >= 3:
            md.polygon((p - off).ravel().tolist(), fill=255)
    c1 = look.c1
    idx = None
    if look.pattern not in ("solid", "logo"):
        step = 2 if bw * bh > 4000 else 1
        xs = np.arange(x0, x1, step, dtype=np.float32) + 0.5 * step
        ys = np.arange(y0, y1, step, dtype=np.float32) + 0.5 * step
        X, Y = np.meshgrid(xs, ys)
        hh = inv_h.astype(np.float32)
        den = X * hh[2, 0] + Y * hh[2, 1] + hh[2, 2]
        U = (X * hh[0, 0] + Y * hh[0, 1] + hh[0, 2]) / den
        V = (X * hh[1, 0] + Y * hh[1, 1] + hh[1, 2]) / den
        idx = _pattern_index(U, V, look)
    # shading rounds the garment a little: darker towards its left and right edges
    if idx is None:
        if shading > 0:
            t = np.linspace(-1.0, 1.0, bw)
            row = np.array(c1, dtype=np.float64)[None, :] * (1.0 - shading * t * t)[:, None]
            layer = Image.fromarray(row.astype(np.uint8)[None], "RGB").resize((bw, bh), Image.Resampling.NEAREST)
        else:
            layer = Image.new("RGB", (bw, bh), c1)
    else:
        pal = np.array([c1, mix(c1, look.c2, 0.55), look.c2], dtype=np.uint8)
        arr = pal[idx]
        if shading > 0:
            t = np.linspace(-1.0, 1.0, arr.shape[1])
            arr = (arr * (1.0 - shading * t * t)[None, :, None]).astype(np.uint8)
        layer = Image.fromarray(arr, "RGB")
        if layer.size != (bw, bh):
            layer = layer.resize((bw, bh), Image.Resampling.BILINEAR)
    if look.texture > 0:
        noise = _tiled_noise(bw, bh, x0, y0)
        dark = Image.new("RGB", (bw, bh), shade(c1, 1.0 - 0.45 * look.texture))
        layer = Image.composite(layer, dark, noise.point(lambda v: 255 if v > 125 else int(255 * (1 - look.texture))))
    ld = ImageDraw.Draw(layer)
    inside = shade(c1, 0.62)
    for p in inner:
        if len(p) >= 3:
            ld.polygon((p - off).ravel().tolist(), fill=inside)
    if logo is not None and len(logo) >= 3:
        ld.polygon((logo - off).ravel().tolist(), fill=look.c3)
    edge = _edge_colour(c1)
    fold_c = shade(c1, 0.82)
    for f in folds:
        ld.line((f - off).ravel().tolist(), fill=fold_c, width=line_width)
    for pts, closed, kind in details:
        q = (pts - off).ravel().tolist()
        if closed:
            q = q + q[:2]
        col = look.c3 if kind in ("band",) and look.pattern == "colorblock" else edge
        ld.line(q, fill=col, width=line_width + (1 if kind in ("band", "hem", "cuff") else 0))
    img.paste(layer, (x0, y0), mask)
    d = ImageDraw.Draw(img)
    for p in polys:
        if len(p) >= 3:
            d.polygon(p.ravel().tolist(), outline=edge)


# ---- camera -----------------------------------------------------------------------------------------------


def camera_effects(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Consumer-photo look: colour cast and exposure, blur, sensor noise (``strength`` 0..1)."""
    if strength <= 0:
        return img
    gains = 1.0 + rng.normal(0.0, 0.08 * strength, 3) + rng.normal(0.0, 0.12 * strength)
    ramp = np.arange(256, dtype=np.float64)
    lut = np.clip(ramp[None, :] * gains[:, None], 0, 255).astype(np.uint8).ravel().tolist()
    img = img.point(lut)
    r = rng.random()
    if r < 0.45 * strength:
        # a soft blur: down and up again (a Gaussian blur costs ten times as much)
        w, h = img.size
        f = float(rng.uniform(1.3, 2.2))
        img = img.resize((max(1, int(w / f)), max(1, int(h / f))), Image.Resampling.BILINEAR).resize(
            (w, h), Image.Resampling.BILINEAR
        )
    if rng.random() < 0.5 * strength:
        w, h = img.size
        noise = _tiled_noise(w, h, int(rng.integers(0, 1024)), int(rng.integers(0, 1024)))
        img = Image.blend(img, Image.merge("RGB", (noise, noise, noise)), float(rng.uniform(0.03, 0.09)))
    return img
