"""Composing one image: outfit, body, framing, occluders, and the annotation of what was drawn.

A scene is built in *person units* (see :mod:`~df2kit.synth.templates`) and mapped to pixels by one
homography (scale, rotation, a little perspective for consumer photos). Then:

* each item's silhouette is clipped to the image and cut by *cutters* (poles, cables, ropes in front of the
  person: they split a mask into parts and, by construction, never cover a labelled landmark);
* what is drawn over an item (garments layered on top, the neck and head, hair, an arm, a bag, a phone, a
  foreground object) occludes it: landmarks under it get v = 1 and the covered share of the item's
  silhouette gives its ``occlusion`` level; masks are not cut by these (layered items overlap, as in the
  dataset's instance masks);
* landmarks outside the image or not seen from this view get v = 0 (x = y = 0);
* attributes come from these measurements (:mod:`~df2kit.synth.attributes`).

Two random streams are used: one for everything that shapes the annotation, one for drawing only, so an
annotation does not depend on whether its image is drawn (``--no-images`` gives the same annotations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..layout import Category
from ..structures.records import ClothingItem, ImageAnnotation
from . import attributes as A
from ._geometry import (
    apply_homography,
    clip_to_rect,
    distance_to_boundary,
    points_in_polygon,
    signed_area,
    subtract_strip,
)
from ._targets import CATEGORY_COUNTS
from .identity import Identity, random_identity
from .render import HAIR_COLOURS, SKIN_TONES, background, camera_effects, draw_garment, fill, logo_polygon, shade
from .templates import BOTTOMS, DRESSES, OUTWEAR, TOPS, Garment, Pose, build_garment

__all__ = ["QUIRKS", "ImageSpec", "SceneResult", "ShownItem", "render_scene"]

#: Oddities of the released files a scene can reproduce: landmarks just outside the image put exactly on the
#: border, an item with no labelled landmark, an extra degenerate (2-point) polygon, closed polygons (first
#: point repeated). Gaps in the numbering are the planner's.
QUIRKS = ("border", "no-landmarks", "degenerate-polygon", "closed-polygons")


@dataclass(frozen=True)
class ShownItem:
    """A product shown in an image, with its style number (> 0)."""

    identity: Identity
    style: int


@dataclass(frozen=True)
class ImageSpec:
    """Everything that decides one image: its file stem, pair, source, seed and the products it shows."""

    stem: str
    pair_id: int
    source: str
    seed: int
    shown: tuple[ShownItem, ...] = ()
    size: int = 512
    quirks: tuple[str, ...] = ()  #: real-data oddities to add, from :data:`QUIRKS`


@dataclass
class SceneResult:
    """A rendered scene: the annotation, the image (None when not drawn) and the drawn geometry (pixels)."""

    annotation: ImageAnnotation
    image: Image.Image | None
    width: int
    height: int
    silhouettes: list[list[np.ndarray]] = field(default_factory=list)  #: per annotated item, full silhouette
    occluders: list[list[np.ndarray]] = field(default_factory=list)  #: per annotated item, shapes drawn over it
    cutters: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)  #: (point, direction, half width)
    measures: list[dict[str, float]] = field(default_factory=list)  #: per annotated item: area, covered, outside
    self_occluded: list[np.ndarray] = field(default_factory=list)  #: per annotated item: (K,) hidden by itself


# ---- probabilities of the scene choices (tuned with the attribute shares; see attributes.py) -------------
_P_FLAT = {"shop": 0.19, "user": 0.025}
_P_VIEW = {"shop": (0.91, 0.04, 0.05), "user": (0.73, 0.10, 0.17)}  # front, back, side
_ASPECTS = {
    "shop": ((1.0, 0.75, 2 / 3, 0.8, 4 / 3), (0.30, 0.35, 0.15, 0.15, 0.05)),
    "user": ((0.75, 2 / 3, 9 / 16, 0.8, 1.0, 4 / 3, 1.5), (0.30, 0.15, 0.10, 0.10, 0.12, 0.15, 0.08)),
}
# companions (style 0) of each kind follow the dataset's category frequencies within the kind
_TOP_W = {c: CATEGORY_COUNTS[int(c)] for c in TOPS}
_BOTTOM_W = {c: CATEGORY_COUNTS[int(c)] for c in BOTTOMS}
_DRESS_W = {c: CATEGORY_COUNTS[int(c)] for c in DRESSES}
_OUT_W = {c: CATEGORY_COUNTS[int(c)] for c in OUTWEAR}
_P_OUTWEAR_COMPANION = 0.045
_P_DRESS_INSTEAD = 0.12
_P_TUCKED = 0.22
HEAD_TOP, FEET = -1.02, 4.66


def _choice(rng: np.random.Generator, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _homography(
    scale: float, theta: float, centre: np.ndarray, target: np.ndarray, persp: tuple[float, float], size: float
) -> np.ndarray:
    t1 = np.array([[1.0, 0, -centre[0]], [0, 1.0, -centre[1]], [0, 0, 1.0]])
    s = np.diag([scale, scale, 1.0])
    p = np.array([[1.0, 0, 0], [0, 1.0, 0], [persp[0] / size, persp[1] / size, 1.0]])
    t2 = np.array([[1.0, 0, target[0]], [0, 1.0, target[1]], [0, 0, 1.0]])
    return t2 @ p @ _rot(theta) @ s @ t1


_CIRCLES: dict[int, np.ndarray] = {}


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> np.ndarray:
    unit = _CIRCLES.get(n)
    if unit is None:
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        unit = _CIRCLES[n] = np.stack([np.cos(t), np.sin(t)], axis=1)
    return unit * (rx, ry) + (cx, cy)


def _quad(a: np.ndarray, b: np.ndarray, wa: float, wb: float) -> np.ndarray:
    d = b - a
    n = np.array([-d[1], d[0]]) / max(float(np.hypot(d[0], d[1])), 1e-9)
    return np.array([a + n * wa / 2, b + n * wb / 2, b - n * wb / 2, a - n * wa / 2])


def _bbox(polys: list[np.ndarray]) -> np.ndarray:
    allp = np.vstack(polys)
    return np.array([allp[:, 0].min(), allp[:, 1].min(), allp[:, 0].max(), allp[:, 1].max()])


@dataclass
class _Worn:
    identity: Identity
    style: int
    garment: Garment
    layer: int


@dataclass
class _Shape:
    """Something drawn over garments (or under them, for body parts)."""

    polys: list[np.ndarray]
    colour: tuple[int, int, int]
    kind: str


def _outfit(products: list[ShownItem], rng: np.random.Generator) -> list[tuple[Identity, int]]:
    """The products plus companion items (style 0) that make a plausible outfit."""
    out = [(p.identity, p.style) for p in products]
    cats = {p.identity.category for p in products}
    has_dress = bool(cats & set(DRESSES))
    has_top = bool(cats & set(TOPS))
    has_bottom = bool(cats & set(BOTTOMS))
    has_out = bool(cats & set(OUTWEAR))
    if not has_dress and not has_top:
        if not has_bottom and rng.random() < _P_DRESS_INSTEAD * (3.0 if has_out else 1.0):
            out.append((random_identity(_choice(rng, _DRESS_W), rng), 0))
            has_dress = True
        else:
            out.append((random_identity(_choice(rng, _TOP_W), rng), 0))
    if not has_dress and not has_bottom:
        out.append((random_identity(_choice(rng, _BOTTOM_W), rng), 0))
    if not has_out and rng.random() < _P_OUTWEAR_COMPANION:
        out.append((random_identity(_choice(rng, _OUT_W), rng), 0))
    return out


def _layer_of(cat: Category) -> int:
    if cat in BOTTOMS:
        return 0
    if cat in OUTWEAR:
        return 2
    return 1


# ---- the body ---------------------------------------------------------------------------------------------


def _body(
    garments: list[Garment], arm_angles: tuple[float, float], view: str, squeeze: float, rng: np.random.Generator
):  # type: ignore[no-untyped-def]
    """Skin shapes under the garments (torso, arms, legs, shoes) and the head; person units."""
    under: list[tuple[str, np.ndarray]] = []
    half = [
        (0.16, -0.02),
        (0.45, 0.06),
        (0.72, 0.14),
        (0.80, 0.24),
        (0.66, 0.70),
        (0.56, 1.40),
        (0.66, 2.00),
        (0.52, 2.40),
    ]
    torso = np.array([(-x, y) for x, y in half] + [(x, y) for x, y in reversed(half)])
    under.append(("skin", torso))
    for s in (-1, 1):  # shoulder caps
        under.append(("skin", _ellipse(s * 0.76, 0.30, 0.17, 0.20, 14)))
    cuff: dict[str, np.ndarray] = {}
    armhole: dict[str, np.ndarray] = {}
    legs = None
    for g in garments:
        for side in ("l", "r"):
            if f"cuff_{side}" in g.anchors:
                c = g.anchors[f"cuff_{side}"]
                prev = cuff.get(side)
                # the outermost cuff (the longest sleeve) decides where the arm comes out
                if prev is None or np.linalg.norm(c[0] - c[2]) >= 0 and c[0][1] > prev[0][1]:
                    cuff[side] = c
            if f"armhole_{side}" in g.anchors:
                armhole[side] = g.anchors[f"armhole_{side}"]
        if "legs" in g.anchors and g.category in (Category.TROUSERS, Category.SHORTS):
            legs = (g.category, g.anchors["legs"], g.anchors.get("leg_w"))
    far = None
    if view == "side":
        far = "l" if rng.random() < 0.5 else "r"
    for k, side in enumerate(("l", "r")):
        s = -1 if side == "l" else 1
        ang = math.radians(arm_angles[k])
        u = np.array([s * math.sin(ang), math.cos(ang)])
        joint = np.array([s * 0.80, 0.30])
        if side in cuff:
            c_out, c_in, _ = cuff[side]
            m = 0.5 * (c_out + c_in)
            length = max(2.30 - float(np.linalg.norm(m - joint)), 0.18)
            end = m + u * length
            w_c = min(float(np.linalg.norm(c_out - c_in)) * 0.75, 0.24)
            under.append(("skin", _quad(joint, m, 0.28, w_c)))
            under.append(("skin", _quad(m - u * 0.05, end, w_c, 0.17)))
        else:
            end = joint + u * 2.3
            under.append(("skin", _quad(joint, end, 0.30, 0.17)))
        under.append(("skin", _ellipse(end[0] + u[0] * 0.08, end[1] + u[1] * 0.08, 0.11, 0.14, 12)))
    for s in (-1, 1):
        if legs is not None and legs[0] == Category.TROUSERS:
            hem_c = legs[1][0 if s < 0 else 1]
            foot = hem_c + np.array([0.0, 0.05])
        else:
            hip = np.array([s * 0.36, 2.0])
            foot = np.array([s * 0.42, 4.45])
            under.append(("skin", _quad(hip, foot, 0.40, 0.20)))
        shoe = np.array(
            [
                foot + (-0.16, -0.02),
                foot + (0.16, -0.02),
                foot + (0.20 + s * 0.05, 0.16),
                foot + (-0.20 + s * 0.05, 0.16),
            ]
        )
        under.append(("shoe", shoe))
    head = _ellipse(0.0, -0.62, 0.27, 0.36, 24)
    neck = np.array([(-0.13, -0.35), (0.13, -0.35), (0.14, 0.11), (-0.14, 0.11)])
    if squeeze != 1.0:
        sq = np.array([squeeze, 1.0])
        under = [(k, p * sq) for k, p in under]
        head = head * np.array([0.92, 1.0])
        neck = neck * sq
    if far is not None:
        # the far arm hides behind the body: drop the arm shapes on that side
        keep = []
        for kind, p in under:
            cx = float(p[:, 0].mean())
            if (
                kind == "skin"
                and ((far == "l" and cx < -0.75 * squeeze) or (far == "r" and cx > 0.75 * squeeze))
                and p[:, 1].max() < 4.0
            ):
                continue
            keep.append((kind, p))
        under = keep
    return under, head, neck


# ---- the scene --------------------------------------------------------------------------------------------


def render_scene(spec: ImageSpec, *, draw: bool = True) -> SceneResult:
    """Compose, annotate and (unless ``draw=False``) draw one image.

    A product (style > 0) always ends up annotated: a framing that loses one is drawn again (a few tries)."""
    wanted = {s.style for s in spec.shown if s.style > 0}
    for attempt in range(4):
        res = _render(spec, draw, attempt)
        if wanted <= {it.style for it in res.annotation.items}:
            break
    return res


def _render(spec: ImageSpec, draw: bool, attempt: int) -> SceneResult:
    rng = np.random.default_rng([spec.seed, 1, attempt] if attempt else [spec.seed, 1])
    drng = np.random.default_rng([spec.seed, 2])
    source = spec.source
    shown = list(spec.shown)
    if not shown:
        # an image without a product: one random outfit item plays the product (style 0)
        cat = _choice(rng, _TOP_W | _BOTTOM_W | _DRESS_W)
        shown = [ShownItem(random_identity(cat, rng), 0)]
    aspects, weights = _ASPECTS[source]
    aspect = float(aspects[int(rng.choice(len(aspects), p=np.array(weights) / sum(weights)))])
    size = int(spec.size)
    if aspect >= 1.0:
        W, H = size, max(16, round(size / aspect))
    else:
        W, H = max(16, round(size * aspect)), size
    flat = len(shown) == 1 and rng.random() < _P_FLAT[source]
    if flat:
        view = "flat"
    else:
        view = str(rng.choice(["front", "back", "side"], p=np.array(_P_VIEW[source])))
    facing = 1 if rng.random() < 0.5 else -1

    # ---- garments in person units
    if flat:
        outfit = [(shown[0].identity, shown[0].style)]
    else:
        outfit = _outfit(shown, rng)
    has_outwear = any(o[0].category in OUTWEAR for o in outfit)
    base_arm = float(rng.uniform(20.0, 34.0)) if has_outwear else float(rng.uniform(6.0, 30.0))
    arm_angles = (
        float(np.clip(base_arm + rng.normal(0, 5), 4, 40)),
        float(np.clip(base_arm + rng.normal(0, 5), 4, 40)),
    )
    spread = float(rng.uniform(-0.05, 0.12))
    worn: list[_Worn] = []
    tucked = rng.random() < _P_TUCKED
    outer = next((o[0].param_dict for o in outfit if o[0].category in OUTWEAR), None)
    for ident, style in outfit:
        cat = ident.category
        params = ident.param_dict
        if outer is not None and cat not in OUTWEAR and cat not in BOTTOMS:
            # what is worn under a jacket fits inside it
            for k, margin in (("shoulder_w", 0.04), ("chest_w", 0.03), ("cuff_w", 0.03)):
                if k in params and k in outer:
                    params[k] = min(params[k], outer[k] - margin)
        if flat:
            pose = Pose.sample(cat, rng, flat=True)
        else:
            flare = float(rng.uniform(2.0, 7.0)) if has_outwear else float(rng.uniform(14.0, 30.0))
            if cat in (Category.SHORT_SLEEVE_TOP, Category.SHORT_SLEEVE_OUTWEAR, Category.SHORT_SLEEVE_DRESS):
                pose = Pose(
                    float(np.clip(arm_angles[0] + flare, 24, 62)), float(np.clip(arm_angles[1] + flare, 24, 62)), spread
                )
            else:
                pose = Pose(arm_angles[0], arm_angles[1], spread)
        g = build_garment(cat, params, pose, "flat" if flat else view, facing)  # type: ignore[arg-type]
        layer = _layer_of(cat)
        if tucked and cat in TOPS and any(o[0].category in BOTTOMS for o in outfit):
            layer = -1
        worn.append(_Worn(ident, style, g, layer))
    order = sorted(range(len(worn)), key=lambda i: (worn[i].layer, i))
    worn = [worn[i] for i in order]
    product_idx = next(i for i, w in enumerate(worn) if w.identity is shown[0].identity)

    squeeze = 1.0
    if view == "side":
        squeeze = 0.72
    under: list[tuple[str, np.ndarray]] = []
    head = neck = np.zeros((0, 2))  # no body when laid flat
    if not flat:
        under, head, neck = _body([w.garment for w in worn], arm_angles, view, squeeze, rng)
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    hair_c = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))]

    # ---- framing
    gboxes = [_bbox(w.garment.polygons) for w in worn]
    allbox = _bbox([b.reshape(2, 2) for b in gboxes] + ([p for _, p in under] if under else []))
    pbox = gboxes[product_idx]
    shown_idx = [i for i, w in enumerate(worn) if any(w.identity is x.identity for x in shown)]
    if len(shown_idx) > 1:  # two products: frame them both
        pbox = np.concatenate(
            [np.min([gboxes[i][:2] for i in shown_idx], axis=0), np.max([gboxes[i][2:] for i in shown_idx], axis=0)]
        )
    pcat = worn[product_idx].identity.category
    kind = "flat"
    if flat:
        frame = pbox.copy()
    else:
        kinds: dict[str, float] = {"full": 0.34, "mid": 0.16, "product": 0.12}
        if pcat not in BOTTOMS:
            kinds["upper"] = 0.26
        if pcat in BOTTOMS or pcat in DRESSES:
            kinds["lower"] = 0.26
        if source == "shop":
            kinds = {"product": 0.36, "full": 0.34, **({"upper": 0.30} if pcat not in BOTTOMS else {"lower": 0.30})}
        if len(shown_idx) > 1:
            kinds = {k: v for k, v in kinds.items() if k in ("full", "product")}
        kind = _choice(rng, kinds)
        x0, x1 = allbox[0], allbox[2]
        if kind == "full":
            frame = np.array([x0, HEAD_TOP, x1, FEET])
        elif kind == "upper":
            hem = max(b[3] for w, b in zip(worn, gboxes) if w.identity.category not in BOTTOMS)
            frame = np.array([x0, HEAD_TOP, x1, min(hem + rng.uniform(0.3, 1.6), FEET)])
        elif kind == "lower":
            tops = [b[1] for w, b in zip(worn, gboxes) if w.identity.category in BOTTOMS]
            top = tops[0] if tops else pbox[1] + 1.2
            frame = np.array([x0, max(top - rng.uniform(0.4, 1.3), HEAD_TOP), x1, FEET])
        elif kind == "mid":
            frame = np.array([x0, -0.3, x1, 3.2])
        else:
            frame = pbox.copy()
            frame[1] -= rng.uniform(0.0, 0.5)
            frame[3] += rng.uniform(0.0, 0.8)
        # the product must be in the frame's height
        frame[1] = min(frame[1], pbox[1])
        frame[3] = max(frame[3], min(pbox[3], frame[1] + 6.0))
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]
    if source == "shop":
        fill_f = float(rng.uniform(0.80, 0.97))
        theta = math.radians(float(rng.uniform(-3, 3))) if flat else 0.0
        persp = (0.0, 0.0)
        offset = np.array([rng.uniform(-0.03, 0.03) * W, rng.uniform(-0.03, 0.03) * H])
    else:
        fill_f = float(rng.uniform(0.55, 0.97))
        theta = (
            math.radians(float(np.clip(rng.normal(0, 9), -28, 28)))
            if not flat
            else math.radians(float(rng.uniform(-35, 35)))
        )
        persp = (float(rng.normal(0, 0.12)), float(rng.normal(0, 0.12)))
        free = (1.0 - fill_f) * 0.5
        offset = np.array([rng.uniform(-free, free) * W, rng.uniform(-free, free) * H])
    scale = min(W / fw, H / fh) * fill_f
    centre = np.array([(frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2])
    target = np.array([W / 2, H / 2]) + offset
    h = _homography(scale, theta, centre, target, persp, float(max(W, H)))
    # zoom-in: sometimes push the product across a border
    p_cut = 0.22 if source == "shop" else 0.46
    if rng.random() < p_cut and len(shown_idx) == 1:
        pp = apply_homography(h, np.vstack(worn[product_idx].garment.polygons))
        lo, hi = pp.min(axis=0), pp.max(axis=0)
        if source == "shop":  # a shop photo trims a little at the bottom or the sides, never the top
            frac = float(rng.uniform(0.03, 0.22))
            side = int(rng.choice([0, 1, 3, 3]))
        else:
            frac = float(rng.uniform(0.03, 0.45))
            side = int(rng.integers(4))
        shift = np.zeros(2)
        if side == 0:
            shift[0] = -(lo[0] + frac * (hi[0] - lo[0]))
        elif side == 1:
            shift[0] = W - (hi[0] - frac * (hi[0] - lo[0]))
        elif side == 2:
            shift[1] = -(lo[1] + frac * (hi[1] - lo[1]))
        else:
            shift[1] = H - (hi[1] - frac * (hi[1] - lo[1]))
        h = np.array([[1.0, 0, shift[0]], [0, 1.0, shift[1]], [0, 0, 1.0]]) @ h
    inv_h = np.linalg.inv(h)

    def to_px(p: np.ndarray) -> np.ndarray:
        return apply_homography(h, p)

    gpx = [w.garment.transformed(to_px) for w in worn]
    px_per_unit = scale

    # ---- occluders drawn over the garments (person units -> pixels), in drawing order
    over: list[_Shape] = []
    if not flat:
        if view != "back":
            over.append(_Shape([to_px(neck), to_px(head)], skin, "head"))
        upper_present = any(w.identity.category not in BOTTOMS for w in worn)
        p_hair = 0.42 if source == "user" else 0.28
        if upper_present and rng.random() < p_hair:
            strands = []
            for s in (-1, 1):
                if rng.random() < 0.75:
                    low = float(rng.uniform(0.15, 1.25))
                    wdt = float(rng.uniform(0.16, 0.36))
                    x_in = s * float(rng.uniform(0.14, 0.30))
                    strands.append(
                        np.array(
                            [
                                (s * 0.24, -0.75),
                                (s * 0.33, -0.35),
                                (x_in + s * wdt, low * 0.6),
                                (x_in + s * wdt * 0.8, low),
                                (x_in, low - 0.05),
                                (s * 0.12, -0.2),
                            ]
                        )
                    )
            if view == "back":
                strands.append(
                    np.array(
                        [
                            (-0.3, -0.7),
                            (0.3, -0.7),
                            (0.36, float(rng.uniform(0.0, 1.0))),
                            (-0.36, float(rng.uniform(0.0, 1.0))),
                        ]
                    )
                )
            if strands:
                over.append(_Shape([to_px(q) for q in strands], hair_c, "hair"))
        if source == "user" and rng.random() < 0.13:  # an arm across the body
            s = -1 if rng.random() < 0.5 else 1
            a = np.array([s * 0.85, float(rng.uniform(0.9, 1.6))])
            b = np.array([s * float(rng.uniform(-0.35, 0.2)), a[1] + float(rng.uniform(-0.3, 0.5))])
            over.append(
                _Shape([to_px(_quad(a, b, 0.26, 0.2)), to_px(_ellipse(b[0], b[1], 0.13, 0.12, 12))], skin, "arm")
            )
        if rng.random() < (0.14 if source == "user" else 0.04):  # a bag
            s = -1 if rng.random() < 0.5 else 1
            bx, by = s * float(rng.uniform(0.3, 1.25)), float(rng.uniform(1.3, 2.6))
            bw, bh = float(rng.uniform(0.45, 0.95)), float(rng.uniform(0.35, 0.8))
            bag = np.array(
                [(bx - bw / 2, by), (bx + bw / 2, by), (bx + bw / 2 + 0.05, by + bh), (bx - bw / 2 - 0.05, by + bh)]
            )
            col = (int(rng.integers(20, 200)), int(rng.integers(10, 150)), int(rng.integers(10, 120)))
            strap = _quad(np.array([bx - s * bw * 0.3, by]), np.array([-s * 0.55, 0.15]), 0.07, 0.07)
            over.append(_Shape([to_px(strap), to_px(bag)], col, "bag"))
        if source == "user" and rng.random() < 0.06:  # a phone held in front (mirror selfie)
            cx, cy = float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.7, 0.9))
            ph = np.array([(cx - 0.16, cy - 0.3), (cx + 0.16, cy - 0.3), (cx + 0.16, cy + 0.3), (cx - 0.16, cy + 0.3)])
            hand = _ellipse(cx + 0.05, cy + 0.28, 0.15, 0.13, 12)
            over.append(_Shape([to_px(hand), to_px(ph)], (30, 30, 35), "phone"))
    if source == "user" and rng.random() < 0.07:  # something in the foreground, in pixels
        edge = int(rng.integers(4))
        depth = float(rng.uniform(0.12, 0.4))
        wob = rng.uniform(-0.06, 0.06, 2)
        if edge == 0:
            fg = np.array([(0, 0), (depth * W, 0), ((depth + wob[0]) * W, H), (0, H)])
        elif edge == 1:
            fg = np.array([(W, 0), ((1 - depth) * W, 0), ((1 - depth + wob[0]) * W, H), (W, H)])
        elif edge == 2:
            fg = np.array([(0, H), (W, H), (W, (1 - depth + wob[1]) * H), (0, (1 - depth) * H)])
        else:
            fg = np.array([(0, 0), (W, 0), (W, (depth + wob[1]) * H), (0, depth * H)])
        over.append(
            _Shape(
                [fg.astype(np.float64)],
                (int(rng.integers(20, 230)), int(rng.integers(20, 230)), int(rng.integers(20, 230))),
                "foreground",
            )
        )

    # ---- landmark visibility and masks
    n = len(worn)
    in_image = []
    for g in gpx:
        p = g.landmarks
        in_image.append((p[:, 0] >= 0) & (p[:, 1] >= 0) & (p[:, 0] <= W) & (p[:, 1] <= H) & ~g.view_hidden)
    # cutters: poles and cables across the image that never touch a labelled landmark
    cutters: list[tuple[np.ndarray, np.ndarray, float]] = []
    if source == "user" and rng.random() < 0.07:
        labelled = np.vstack([g.landmarks[m] for g, m in zip(gpx, in_image)] + [np.zeros((0, 2))])
        ang = math.radians(float(rng.choice([90.0, 90.0, 75.0, 105.0, 0.0, 20.0, -20.0]) + rng.normal(0, 4)))
        d = np.array([math.cos(ang), math.sin(ang)])
        nrm = np.array([-d[1], d[0]])
        hw = float(rng.uniform(1.5, 0.012 * max(W, H) + 2.0))
        for _ in range(12):
            pt = np.array([rng.uniform(0.15, 0.85) * W, rng.uniform(0.15, 0.85) * H])
            if len(labelled) == 0 or np.abs((labelled - pt) @ nrm).min() > hw + 2.0:
                cutters.append((pt, d, hw))
                break

    shapes_over_item: list[list[np.ndarray]] = []
    for i in range(n):
        above = [p for g in gpx[i + 1 :] for p in g.polygons] + [p for s in over for p in s.polys]
        shapes_over_item.append(above)
    f = min(1.0, 128.0 / max(W, H))
    rw, rh = max(1, math.ceil(W * f)), max(1, math.ceil(H * f))

    def raster(polys: list[np.ndarray]) -> np.ndarray:
        im = Image.new("1", (rw, rh), 0)
        d = ImageDraw.Draw(im)
        for p in polys:
            if len(p) >= 3:
                d.polygon((p * f).ravel().tolist(), fill=1)
        return np.asarray(im, dtype=bool)

    cut_strips = []
    for pt, d, hw in cutters:
        nrm = np.array([-d[1], d[0]])
        big = float(W + H) * 2
        strip = np.array(
            [pt - d * big + nrm * hw, pt + d * big + nrm * hw, pt + d * big - nrm * hw, pt - d * big - nrm * hw]
        )
        cut_strips.append(strip)
    over_rasters = [raster(s.polys) for s in over] + [raster([c]) for c in cut_strips]
    over_union = np.zeros((rh, rw), dtype=bool)
    for r in over_rasters:
        over_union |= r
    garment_rasters = [raster(g.polygons) for g in gpx]
    above_union = over_union.copy()
    area_img = float(W * H)
    records: list[tuple[int, dict[str, Any]]] = []
    for i in range(n - 1, -1, -1):
        g = gpx[i]
        full_area = sum(abs(signed_area(p)) for p in g.polygons)
        pieces: list[np.ndarray] = []
        for p in g.polygons:
            pieces.extend(clip_to_rect(p, W, H))
        in_area = sum(abs(signed_area(p)) for p in pieces)
        for pt, d, hw in cutters:
            nxt: list[np.ndarray] = []
            for p in pieces:
                nxt.extend(subtract_strip(p, pt, d, hw))
            pieces = nxt
        pieces = [p for p in pieces if abs(signed_area(p)) >= 1.0]
        vis_area = sum(abs(signed_area(p)) for p in pieces)
        sil = garment_rasters[i]
        sil_n = int(sil.sum())
        covered = float((sil & above_union).sum()) / sil_n if sil_n else 0.0
        above_union |= sil
        outside = 1.0 - in_area / full_area if full_area > 0 else 1.0
        records.append(
            (
                i,
                {
                    "pieces": pieces,
                    "vis_area": vis_area,
                    "covered": covered,
                    "outside": max(outside, 0.0),
                    "full_area": full_area,
                },
            )
        )
    records.sort(key=lambda r: r[0])

    # landmarks
    ann_items: list[tuple[int, dict[str, Any]]] = []
    kept_idx: list[int] = []
    for i, rec in records:
        g = gpx[i]
        w_ = worn[i]
        pieces = rec["pieces"]
        min_area = max(0.002 * area_img, 48.0)
        if rec["vis_area"] < min_area or not pieces:
            continue
        lm = np.zeros((g.category.num_landmarks, 3))
        pts = g.landmarks
        rounded = np.round(pts)
        inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] <= W) & (pts[:, 1] <= H) & ~g.view_hidden
        if inside.any() and (rec["outside"] > 0 or cutters):
            # a landmark whose bit of the item was too small to keep in the mask is not labelled
            near = np.zeros(len(pts), dtype=bool)
            for p in pieces:
                near |= points_in_polygon(rounded, p) | (distance_to_boundary(rounded, p) <= 0.99)
            inside &= near
        occ = g.self_occluded.copy()
        for q in shapes_over_item[i]:
            if len(q) >= 3:
                occ |= points_in_polygon(pts, q)
        vis = np.where(inside, np.where(occ, 1.0, 2.0), 0.0)
        lm[:, 0] = np.where(vis > 0, rounded[:, 0], 0.0)
        lm[:, 1] = np.where(vis > 0, rounded[:, 1], 0.0)
        lm[:, 2] = vis
        if "border" in spec.quirks:
            lm = _quirk_border_landmarks(lm, pts, pieces, g, W, H, occ)
        segs = [np.round(p, 2) for p in pieces]
        allp = np.vstack(segs)
        x1 = max(0.0, math.floor(allp[:, 0].min()))
        y1 = max(0.0, math.floor(allp[:, 1].min()))
        x2 = min(float(W), math.ceil(allp[:, 0].max()))
        y2 = min(float(H), math.ceil(allp[:, 1].max()))
        if x2 <= x1 or y2 <= y1:
            continue
        viewpoint = A.VIEW_FLAT if flat else A.VIEW_FRONT if view == "front" else A.VIEW_SIDE_OR_BACK
        measures = {
            "area_share": rec["vis_area"] / area_img,
            "covered": rec["covered"],
            "outside": rec["outside"],
            "product": float(i == product_idx),
            "frame": ("flat", "full", "upper", "lower", "mid", "product").index(kind),
        }
        item: dict[str, Any] = {
            "category": g.category,
            "style": w_.style,
            "bbox_xyxy": (x1, y1, x2, y2),
            "landmarks": lm,
            "segmentation": segs,
            "scale": A.scale_level(measures["area_share"]),
            "occlusion": A.occlusion_level(measures["covered"]),
            "zoom_in": A.zoom_level(measures["outside"]),
            "viewpoint": viewpoint,
        }
        ann_items.append((i, item))
        kept_idx.append(i)
        rec["measures"] = measures
    # quirks on the item level: each asked-for quirk hits one item of the image
    item_dicts = [it for _, it in ann_items]
    if item_dicts:
        if "no-landmarks" in spec.quirks:
            victim = item_dicts[int(rng.integers(len(item_dicts)))]
            victim["landmarks"] = np.zeros_like(victim["landmarks"])
        if "degenerate-polygon" in spec.quirks:
            victim = item_dicts[int(rng.integers(len(item_dicts)))]
            victim["segmentation"] = [*victim["segmentation"], victim["segmentation"][0][:2].copy()]
        if "closed-polygons" in spec.quirks:
            victim = item_dicts[int(rng.integers(len(item_dicts)))]
            victim["segmentation"] = [np.vstack([p, p[:1]]) if len(p) >= 3 else p for p in victim["segmentation"]]
    keys = [f"item{j + 1}" for j in range(len(item_dicts))]
    order_items = list(range(len(item_dicts)))
    if len(order_items) > 1 and rng.random() < 0.3:
        rng.shuffle(order_items)
    clothing = tuple(ClothingItem(key=keys[j], **item_dicts[j]) for j in order_items)  # type: ignore[arg-type]
    ann = ImageAnnotation(stem=spec.stem, source=source, pair_id=spec.pair_id, items=clothing, width=W, height=H)

    result = SceneResult(ann, None, W, H)
    rec_by = dict(records)
    for j in order_items:
        i = kept_idx[j]
        result.silhouettes.append(gpx[i].polygons)
        result.occluders.append(shapes_over_item[i])
        result.measures.append(rec_by[i]["measures"])
        result.self_occluded.append(gpx[i].self_occluded)
    result.cutters = cutters

    if not draw:
        return result

    # ---- drawing
    bg_kind = "shop" if source == "shop" else ("bed" if flat else "user")
    img = background(W, H, bg_kind, drng)
    dr = ImageDraw.Draw(img)
    lw = max(1, round(px_per_unit * 0.018))
    if not flat:
        if drng.random() < 0.85:
            back_hair = _ellipse(0.0, -0.66, 0.31, 0.40, 20)
            if drng.random() < 0.5:
                back_hair = np.vstack(
                    [
                        back_hair[:11],
                        np.array([(-0.34, 0.0 + drng.uniform(0, 0.8)), (0.34, 0.0 + drng.uniform(0, 0.8))])[::-1],
                    ]
                )
            fill(dr, [to_px(back_hair * np.array([squeeze if view == "side" else 1.0, 1.0]))], hair_c)
        for kind_, p in under:
            col = skin if kind_ == "skin" else (int(drng.integers(10, 120)),) * 3
            fill(dr, [to_px(p)], col)  # type: ignore[arg-type]
        if view == "back":
            fill(dr, [to_px(neck), to_px(head)], skin)
            fill(dr, [to_px(_ellipse(0.0, -0.66, 0.29, 0.38, 20))], hair_c)
    for w_, g in zip(worn, gpx):
        look = w_.identity.look
        logo = None
        if look.pattern == "logo" and view != "back":
            c = w_.garment.anchors.get("neck")
            if c is not None and w_.identity.category not in BOTTOMS:
                centre = np.array([0.0, 0.55 + look.logo_dy])
            else:
                wa = w_.garment.anchors["waist"]
                centre = np.array([0.35 * (1 if look.logo % 2 else -1), float(wa[0][1]) + 0.45 + look.logo_dy])
            if view == "side":
                centre = centre * np.array([squeeze, 1.0])
            logo = to_px(logo_polygon(look, centre))
        folds = []
        if not flat:
            for _ in range(int(drng.integers(0, 4))):
                bb = _bbox(w_.garment.polygons)
                a = np.array([drng.uniform(bb[0], bb[2]) * 0.8, drng.uniform(bb[1], bb[3])])
                b = a + np.array([drng.normal(0, 0.15), drng.uniform(0.2, 0.6)])
                folds.append(to_px(np.array([a, b])))
        draw_garment(
            img, g.polygons, look, inv_h, inner=g.inner, details=g.details, logo=logo, folds=folds, line_width=lw,
            shading=0.08 if flat else float(drng.uniform(0.12, 0.3)),
        )  # fmt: skip
    dr = ImageDraw.Draw(img)
    for shp in over:
        if shp.kind == "head":
            fill(dr, shp.polys[:1], shade(shp.colour, 0.97))
            fill(dr, shp.polys[1:], shp.colour)
            if view == "front":
                for ex in (-0.1, 0.1):
                    fill(dr, [to_px(_ellipse(ex, -0.66, 0.035, 0.025, 8))], (40, 30, 30))
                fill(dr, [to_px(_ellipse(0.0, -0.45, 0.07, 0.018, 8))], shade(shp.colour, 0.7))
                fill(dr, [to_px(_ellipse(0.0, -0.9, 0.28, 0.14, 16))], hair_c)
        elif shp.kind == "phone":
            fill(dr, shp.polys[:1], skin)
            fill(dr, shp.polys[1:], shp.colour)
        else:
            fill(dr, shp.polys, shp.colour)
    for strip in cut_strips:
        fill(dr, [strip], (int(drng.integers(40, 200)),) * 3)  # type: ignore[arg-type]
    img = camera_effects(img, drng, 1.0 if source == "user" else 0.0)
    result.image = img
    return result


def _quirk_border_landmarks(
    lm: np.ndarray, pts: np.ndarray, pieces: list[np.ndarray], g: Garment, W: int, H: int, occ: np.ndarray
) -> np.ndarray:
    """Landmarks just outside the image (within a pixel) put exactly on the border, as annotators did."""
    out = lm.copy()
    near = (~g.view_hidden) & (lm[:, 2] == 0)
    for j in np.flatnonzero(near):
        x, y = pts[j]
        cx, cy = min(max(x, 0.0), float(W)), min(max(y, 0.0), float(H))
        if math.hypot(cx - x, cy - y) > 1.0:
            continue
        q = np.array([[round(cx), round(cy)]], dtype=np.float64)
        q[0, 0] = min(max(q[0, 0], 0.0), float(W))
        q[0, 1] = min(max(q[0, 1], 0.0), float(H))
        ok = any(points_in_polygon(q, p)[0] or distance_to_boundary(q, p)[0] <= 0.99 for p in pieces)
        if ok and (q[0, 0] in (0.0, float(W)) or q[0, 1] in (0.0, float(H))):
            out[j] = (q[0, 0], q[0, 1], 1.0 if occ[j] else 2.0)
    return out
