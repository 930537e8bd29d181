"""Garment shape generators, one per category, built around the category's landmark template.

Every generator returns a :class:`Garment` in *person units*: x = 0 is the body's centre line, y grows
downwards, the neck points of a top sit at y = 0 and the shoulders are about 1 unit from the centre (a
natural waist near y = 1.4, the crotch near 2.3, the ankles near 4.4). The garment's K landmarks are placed
where the dataset's definition figure puts them, in its numbering:

* tops, outwear and dresses: 1 = back-neckline centre, 2 / 6 = left / right neck points, 3-4-5 the front
  neckline (4 = centre front; for outwear 4 and its mirror are the tops of the front edges, as the layout's
  sigma-consistent reading of category 3 has it), then 7..K around the outer contour from the image-left
  shoulder down the sleeve, the side and the hem and back up the right side;
* bottoms: 1-2-3 the waistband left to right, then the contour (down the left side, round the legs).

Contour landmarks are vertices of the outline polygon, so drawing the layout's skeleton over an item traces
the garment. Shapes vary through :data:`PARAM_RANGES` (widths, lengths, neck depth, sleeve angles, flare,
front opening) and through the pose (each sleeve's angle; a flat garment lies with its sleeves spread).

Views: ``front`` and ``flat`` show everything; ``back`` hides the front neckline and the front edges of
outwear (those landmarks are not labelled, v = 0, and outwear has no opening from behind); ``side`` narrows
the garment and tucks the far sleeve behind the body (its landmarks are occluded, v = 1, and lie inside the
body of the garment).

>>> import numpy as np
>>> from df2kit.layout import Category
>>> rng = np.random.default_rng(0)
>>> g = build_garment(Category.TROUSERS, sample_params(Category.TROUSERS, rng), Pose(), "front")
>>> g.landmarks.shape, len(g.polygons)
((14, 2), 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..layout import Category
from ._geometry import points_in_polygon, smooth_contour, smooth_polyline

__all__ = [
    "BOTTOMS",
    "DRESSES",
    "OUTWEAR",
    "PARAM_RANGES",
    "TOPS",
    "UPPER",
    "Garment",
    "Pose",
    "build_garment",
    "jitter_params",
    "sample_params",
]

View = Literal["front", "back", "side", "flat"]

TOPS = (Category.SHORT_SLEEVE_TOP, Category.LONG_SLEEVE_TOP, Category.VEST, Category.SLING)
OUTWEAR = (Category.SHORT_SLEEVE_OUTWEAR, Category.LONG_SLEEVE_OUTWEAR)
BOTTOMS = (Category.SHORTS, Category.TROUSERS, Category.SKIRT)
DRESSES = (Category.SHORT_SLEEVE_DRESS, Category.LONG_SLEEVE_DRESS, Category.VEST_DRESS, Category.SLING_DRESS)
UPPER = TOPS + OUTWEAR + DRESSES

_SHORT = {Category.SHORT_SLEEVE_TOP, Category.SHORT_SLEEVE_OUTWEAR, Category.SHORT_SLEEVE_DRESS}
_LONG = {Category.LONG_SLEEVE_TOP, Category.LONG_SLEEVE_OUTWEAR, Category.LONG_SLEEVE_DRESS}
_VEST = {Category.VEST, Category.VEST_DRESS}
_SLING = {Category.SLING, Category.SLING_DRESS}

_COMMON_UPPER = {
    "neck_w": (0.24, 0.40),  # half-width between the neck points 2 and 6
    "back_drop": (0.03, 0.10),  # how far the back-neckline centre (1) sits below the neck points
    "front_depth": (0.14, 0.55),  # depth of the front neckline centre (4)
    "neck_round": (0.0, 1.0),  # 0 = V neck, 1 = round neck
    "shoulder_w": (0.90, 1.08),
    "shoulder_drop": (0.10, 0.22),
    "armhole": (0.48, 0.66),
    "chest_w": (0.80, 0.98),
    "waist_w": (0.70, 0.92),
    "hem_curve": (-0.02, 0.09),
}

#: Shape parameter ranges per category (person units; angles in degrees are pose, not shape).
PARAM_RANGES: dict[Category, dict[str, tuple[float, float]]] = {}
for _c in TOPS + OUTWEAR + DRESSES:
    PARAM_RANGES[_c] = dict(_COMMON_UPPER)
for _c in (Category.SHORT_SLEEVE_TOP, Category.SHORT_SLEEVE_OUTWEAR, Category.SHORT_SLEEVE_DRESS):
    PARAM_RANGES[_c].update(sleeve_len=(0.38, 0.80), cuff_w=(0.30, 0.46))
for _c in (Category.LONG_SLEEVE_TOP, Category.LONG_SLEEVE_OUTWEAR, Category.LONG_SLEEVE_DRESS):
    PARAM_RANGES[_c].update(sleeve_len=(2.05, 2.55), cuff_w=(0.21, 0.32))
for _c in TOPS:
    PARAM_RANGES[_c].update(length=(1.40, 2.05), hem_w=(0.74, 1.05))
for _c in OUTWEAR:
    PARAM_RANGES[_c].update(length=(1.55, 2.70), hem_w=(0.85, 1.20), open_gap=(0.0, 0.30))
for _c in DRESSES:
    PARAM_RANGES[_c].update(length=(2.55, 4.25), hem_w=(0.95, 1.90), waist_y=(0.50, 0.80))  # waist: below the armpit
for _c in _VEST:
    PARAM_RANGES[_c].update(neck_w=(0.30, 0.52), strap_w=(0.10, 0.28), front_depth=(0.20, 0.65))
for _c in _SLING:
    PARAM_RANGES[_c].update(
        neck_w=(0.38, 0.58),
        top_y=(0.25, 0.50),
        strap_w=(0.035, 0.07),
        front_depth=(0.05, 0.22),
        strap_tilt=(-0.15, 0.12),
    )
PARAM_RANGES[Category.SHORTS] = {
    "waist_y": (1.38, 1.68),
    "waist_w": (0.60, 0.76),
    "hip_w": (0.74, 0.90),
    "rise": (0.62, 0.92),  # waist to crotch
    "leg_len": (0.12, 0.85),  # crotch to hem (inner seam)
    "leg_flare": (0.00, 0.20),
    "waist_curve": (-0.03, 0.05),
}
PARAM_RANGES[Category.TROUSERS] = {
    "waist_y": (1.38, 1.68),
    "waist_w": (0.60, 0.76),
    "hip_w": (0.72, 0.88),
    "rise": (0.60, 0.90),
    "hem_y": (4.05, 4.55),
    "hem_half": (0.17, 0.40),  # half width of a leg opening
    "knee_half": (0.20, 0.34),
    "waist_curve": (-0.03, 0.05),
}
PARAM_RANGES[Category.SKIRT] = {
    "waist_y": (1.30, 1.62),
    "waist_w": (0.58, 0.76),
    "length": (0.75, 2.90),
    "hem_w": (0.80, 1.75),
    "hem_curve": (0.00, 0.16),
    "waist_curve": (-0.03, 0.05),
}


@dataclass(frozen=True)
class Pose:
    """How a garment is held: sleeve angles from the vertical (degrees, per side) and flat-lay spread."""

    sleeve_left: float = 40.0
    sleeve_right: float = 40.0
    leg_spread: float = 0.0  # extra outward lean of trouser legs (person units at the hem)

    @staticmethod
    def sample(category: Category, rng: np.random.Generator, *, flat: bool) -> Pose:
        if category in _SHORT:
            lo, hi = (48.0, 80.0) if flat else (28.0, 58.0)
        elif category in _LONG:
            lo, hi = (22.0, 62.0) if flat else (7.0, 34.0)
        else:
            lo, hi = 0.0, 0.0
        base = rng.uniform(lo, hi)
        left = float(np.clip(base + rng.normal(0, 4.0), lo, hi))
        right = float(np.clip(base + rng.normal(0, 4.0), lo, hi))
        spread = float(rng.uniform(0.0, 0.25)) if flat else float(rng.uniform(-0.05, 0.12))
        return Pose(left, right, spread)


@dataclass
class Garment:
    """One garment's geometry (person units, or pixels after :meth:`transformed`)."""

    category: Category
    landmarks: np.ndarray  #: (K, 2)
    view_hidden: np.ndarray  #: (K,) bool: not labelled in this view (v = 0)
    self_occluded: np.ndarray  #: (K,) bool: behind the garment itself (v = 1)
    polygons: list[np.ndarray]  #: silhouette parts (simple polygons)
    details: list[tuple[np.ndarray, bool, str]] = field(default_factory=list)  #: (polyline, closed, kind)
    inner: list[np.ndarray] = field(default_factory=list)  #: regions showing the garment's inside
    anchors: dict[str, np.ndarray] = field(default_factory=dict)  #: body attachment points

    def transformed(self, fn) -> Garment:  # type: ignore[no-untyped-def]
        """A copy with every point mapped through ``fn((N, 2)) -> (N, 2)`` (one call for all points)."""
        parts = [self.landmarks, *self.polygons, *(p for p, _, _ in self.details), *self.inner, *self.anchors.values()]
        sizes = np.cumsum([len(p) for p in parts])[:-1]
        mapped = np.split(fn(np.vstack(parts)), sizes)
        it = iter(mapped)
        lm = next(it)
        polys = [next(it) for _ in self.polygons]
        details = [(next(it), c, k) for _, c, k in self.details]
        inner = [next(it) for _ in self.inner]
        anchors = {k: next(it) for k in self.anchors}
        return Garment(
            self.category, lm, self.view_hidden.copy(), self.self_occluded.copy(), polys, details, inner, anchors
        )


# ---- parameters -------------------------------------------------------------------------------------------


def sample_params(category: Category, rng: np.random.Generator) -> dict[str, float]:
    """Uniform draw of every shape parameter of a category."""
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in PARAM_RANGES[Category(category)].items()}


def jitter_params(
    category: Category, base: dict[str, float], rng: np.random.Generator, amount: float
) -> dict[str, float]:
    """``base`` moved by up to ``amount`` of each range (clipped to the range): products of one family."""
    out = {}
    for k, (lo, hi) in PARAM_RANGES[Category(category)].items():
        out[k] = float(np.clip(base[k] + rng.normal(0.0, amount) * (hi - lo), lo, hi))
    return out


# ---- helpers ----------------------------------------------------------------------------------------------


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + (b - a) * t


def _pt(x: float, y: float) -> np.ndarray:
    return np.array([x, y], dtype=np.float64)


class _Contour:
    """Control points of a closed outline: landmarks (by 1-based number) and shape-only points."""

    def __init__(self, lm: np.ndarray) -> None:
        self.lm = lm
        self.pts: list[np.ndarray] = []
        self.corner: list[bool] = []

    def L(self, j: int, corner: bool = False) -> _Contour:
        self.pts.append(self.lm[j - 1])
        self.corner.append(corner)
        return self

    def P(self, p: np.ndarray, corner: bool = False) -> _Contour:
        self.pts.append(np.asarray(p, dtype=np.float64))
        self.corner.append(corner)
        return self

    def build(self, samples: int = 3) -> np.ndarray:
        return smooth_contour(np.array(self.pts), np.array(self.corner), samples=samples)


def _side_x(y: Any, ys: list[float], xs: list[float]) -> Any:
    """Half-width of the body of a garment at height y (piecewise linear through (ys, xs))."""
    return np.interp(y, ys, xs)


# ---- upper garments ---------------------------------------------------------------------------------------


def _sleeve(shoulder: np.ndarray, armpit: np.ndarray, angle_deg: float, length: float, cuff: float, side: int):
    """Outer cuff, inner cuff and unit direction of a sleeve hanging from ``shoulder`` (side -1 = image left)."""
    a = math.radians(angle_deg)
    u = np.array([side * math.sin(a), math.cos(a)])  # along the sleeve, outwards and down
    n = np.array([-side * math.cos(a), math.sin(a)])  # across the sleeve, towards the body
    c_out = shoulder + length * u
    c_in = c_out + cuff * n
    return c_out, c_in, u


def _upper(cat: Category, P: dict[str, float], pose: Pose, view: View, facing: int) -> Garment:
    k = cat.num_landmarks
    lm = np.zeros((k, 2))
    hidden = np.zeros(k, dtype=bool)
    selfocc = np.zeros(k, dtype=bool)
    is_dress = cat in DRESSES
    is_out = cat in OUTWEAR
    sleeves = "short" if cat in _SHORT else "long" if cat in _LONG else "vest" if cat in _VEST else "sling"

    nw = P["neck_w"]
    top_y = P.get("top_y", 0.0) if sleeves == "sling" else 0.0
    sd = P["shoulder_drop"]
    sw = P["shoulder_w"]
    arm_y = sd + P["armhole"]
    cw = P["chest_w"]
    length = P["length"]
    hw = P["hem_w"]
    waist_y = arm_y + P["waist_y"] if is_dress else min(1.35, arm_y + 0.5 * (length - arm_y))
    ww = min(P["waist_w"], cw, hw) if is_dress else 0.5 * (cw + hw) - 0.04
    if sleeves == "sling":
        ww = min(ww, cw)
    # the body's side: armpit -> waist -> hem
    side_ys = [arm_y, waist_y, length]
    side_xs = [cw, ww, hw]
    hem_c = length + P["hem_curve"]

    # neck
    n2, n6 = _pt(-nw, top_y), _pt(nw, top_y)
    n1 = _pt(0.0, top_y + P["back_drop"])
    fd = top_y + max(P["front_depth"], P["back_drop"] + 0.06)
    r = P["neck_round"]
    gap = min(P.get("open_gap", 0.0), nw - 0.10) if is_out else 0.0
    closed_front = is_out and (gap < 0.04 or view in ("back",))
    if is_out and closed_front:
        gap = 0.0

    outline = _Contour(lm)
    anchors: dict[str, np.ndarray] = {}
    details: list[tuple[np.ndarray, bool, str]] = []
    inner: list[np.ndarray] = []
    extra_polys: list[np.ndarray] = []

    # --- numbering tables: which landmark number holds which generic point (left side; right = mirror)
    num: dict[str, Any]
    if cat == Category.SHORT_SLEEVE_TOP:
        num = {
            "sh": 7,
            "s_mid": 8,
            "c_out": 9,
            "c_in": 10,
            "u_mid": 11,
            "pit": 12,
            "side": (13, 14),
            "hem": 15,
            "hem_c": 16,
        }
    elif cat == Category.LONG_SLEEVE_TOP:
        num = {
            "sh": 7,
            "s_out": (8, 9, 10),
            "c_out": 11,
            "c_in": 12,
            "s_in": (13, 14, 15),
            "pit": 16,
            "side": (17, 18),
            "hem": 19,
            "hem_c": 20,
        }
    elif cat == Category.SHORT_SLEEVE_OUTWEAR:
        num = {
            "sh": 7,
            "s_mid": 8,
            "c_out": 9,
            "c_in": 10,
            "u_mid": 11,
            "pit": 12,
            "side": (13, 14),
            "hem": 15,
            "hem_f": 16,
            "edge": (31, 30),
            "top": 4,
        }
    elif cat == Category.LONG_SLEEVE_OUTWEAR:
        num = {
            "sh": 7, "s_out": (8, 9, 10), "c_out": 11, "c_in": 12, "s_in": (13, 14, 15), "pit": 16, "side": (17, 18), "hem": 19, "hem_f": 20,
            "edge": (39, 38), "top": 4,
        }  # fmt: skip
    elif cat == Category.VEST:
        num = {"sh": 7, "side": (8, 9), "hem": 10, "hem_c": 11}
    elif cat == Category.SLING:
        num = {"strap": 7, "side": (8, 9), "hem": 10, "hem_c": 11}
    elif cat == Category.SHORT_SLEEVE_DRESS:
        num = {
            "sh": 7,
            "s_mid": 8,
            "c_out": 9,
            "c_in": 10,
            "u_mid": 11,
            "pit": 12,
            "side": (13, 14, 15, 16),
            "hem": 17,
            "hem_c": 18,
        }
    elif cat == Category.LONG_SLEEVE_DRESS:
        num = {
            "sh": 7,
            "s_out": (8, 9, 10),
            "c_out": 11,
            "c_in": 12,
            "s_in": (13, 14, 15),
            "pit": 16,
            "side": (17, 18, 19, 20),
            "hem": 21,
            "hem_c": 22,
        }
    elif cat == Category.VEST_DRESS:
        num = {"sh": 7, "side": (8, 9, 10, 11), "hem": 12, "hem_c": 13}
    else:  # SLING_DRESS
        num = {"strap": 7, "side": (8, 9, 10, 11), "hem": 12, "hem_c": 13}

    def mirror(j: int) -> int:
        for a, b in cat.flip_pairs:
            if a == j:
                return b
            if b == j:
                return a
        return j

    def put(j: int, p: np.ndarray) -> None:
        lm[j - 1] = p
        m = mirror(j)
        if m != j:
            lm[m - 1] = _pt(-p[0], p[1])

    # neckline
    put(2, n2)
    lm[0] = n1
    if is_out:
        top = _pt(-max(gap, 0.012), fd)
        put(num["top"], top)
        put(3, _pt(-nw + (nw - max(gap, 0.012)) * (0.45 + 0.15 * r), top_y + (fd - top_y) * (0.40 + 0.25 * r)))
    else:
        lm[3] = _pt(0.0, fd)
        put(3, _pt(-nw * (0.50 + 0.22 * r), top_y + (fd - top_y) * (0.50 + 0.25 * r)))

    # sleeves / armholes, per side
    angles = {-1: pose.sleeve_left, 1: pose.sleeve_right}
    side_pts: dict[int, dict[str, Any]] = {-1: {}, 1: {}}
    for s in (-1, 1):
        pit = _pt(s * cw, arm_y)
        sp = side_pts[s]
        sp["pit"] = pit
        if sleeves in ("short", "long"):
            sh = _pt(s * sw, sd)
            ang = angles[s]
            c_out, c_in, u = _sleeve(sh, pit, ang, P["sleeve_len"], P["cuff_w"], s)
            if sleeves == "short":
                # a short sleeve stands off the body: its inner cuff stays outside the side seam
                while ang < 85.0 and abs(c_in[0]) < float(_side_x(max(c_in[1], arm_y), side_ys, side_xs)) + 0.10:
                    ang += 3.0
                    c_out, c_in, u = _sleeve(sh, pit, ang, P["sleeve_len"], P["cuff_w"], s)
            sp.update(sh=sh, c_out=c_out, c_in=c_in, u=u)
        elif sleeves == "vest":
            sh = _pt(s * (nw + P["strap_w"]), sd * 0.45)
            corner = _pt(s * (cw + 0.02), arm_y - 0.04)
            mid = _lerp(sh, corner, 0.5) + _pt(-s * 0.10, 0.0)
            sp.update(sh=sh, corner=corner, mid=mid)
        else:  # sling: armhole from the neck point straight-ish down to the side
            corner = _pt(s * (cw + 0.02), arm_y - 0.02)
            mid = _lerp(_pt(s * nw, top_y), corner, 0.5) + _pt(-s * 0.04, 0.0)
            sp.update(corner=corner, mid=mid)
    # long sleeves hang beside the body: keep the hem inside the inner sleeve line
    if sleeves == "long" and view != "flat":
        for s in (-1, 1):
            sp = side_pts[s]
            d = sp["c_in"] - sp["pit"]
            if d[1] > 1e-6:
                t = (length - sp["pit"][1]) / d[1]
                x_at = abs(sp["pit"][0] + d[0] * min(max(t, 0.0), 1.0))
                hw = min(hw, x_at - 0.06)
                side_xs[2] = hw
    # body side points
    side_nums = num["side"]
    hem_n = num["hem"]
    for s in (-1, 1):
        sp = side_pts[s]
        pit = sp["pit"]
        ys: list[float]
        if is_dress:
            if len(side_nums) == 4:  # chest, under-bust, waist, skirt
                ys = [
                    arm_y + 0.22 * (waist_y - arm_y),
                    arm_y + 0.55 * (waist_y - arm_y),
                    waist_y,
                    waist_y + 0.5 * (length - waist_y),
                ]
            else:
                ys = [arm_y + 0.35 * (waist_y - arm_y), waist_y, waist_y + 0.5 * (length - waist_y)]
        elif cat in (Category.VEST, Category.SLING):
            ys = [arm_y + 0.12 * (length - arm_y), arm_y + 0.45 * (length - arm_y)]
        elif sleeves == "long":
            ys = [arm_y + 0.13 * (length - arm_y), arm_y + 0.56 * (length - arm_y)]
        else:
            ys = [arm_y + 0.24 * (length - arm_y), arm_y + 0.60 * (length - arm_y)]
        xs = _side_x(np.array(ys), side_ys, side_xs)
        sp["side"] = [_pt(s * x, y) for x, y in zip(xs, ys)]
        sp["hem"] = _pt(s * hw, length)
    left = side_pts[-1]
    # put the left side's landmarks (mirror fills the right)
    if sleeves in ("short", "long"):
        put(num["sh"], left["sh"])
        put(num["c_out"], left["c_out"])
        put(num["c_in"], left["c_in"])
        put(num["pit"], left["pit"])
        if sleeves == "short":
            put(num["s_mid"], _lerp(left["sh"], left["c_out"], 0.5))
            put(num["u_mid"], _lerp(left["c_in"], left["pit"], 0.5))
        else:
            for j, t in zip(num["s_out"], (0.26, 0.54, 0.76)):
                put(j, _lerp(left["sh"], left["c_out"], t))
            for j, t in zip(num["s_in"], (0.36, 0.66, 0.84)):
                put(j, _lerp(left["c_in"], left["pit"], t))
    elif sleeves == "vest":
        put(num["sh"], left["sh"])
    for j, p in zip(side_nums, left["side"]):
        put(j, p)
    put(hem_n, left["hem"])
    if "hem_c" in num:
        lm[num["hem_c"] - 1] = _pt(0.0, hem_c)
    # the right sleeve can hang at its own angle: recompute the right side's sleeve landmarks
    if sleeves in ("short", "long"):
        right = side_pts[1]
        lm[mirror(num["sh"]) - 1] = right["sh"]
        lm[mirror(num["c_out"]) - 1] = right["c_out"]
        lm[mirror(num["c_in"]) - 1] = right["c_in"]
        if sleeves == "short":
            lm[mirror(num["s_mid"]) - 1] = _lerp(right["sh"], right["c_out"], 0.5)
            lm[mirror(num["u_mid"]) - 1] = _lerp(right["c_in"], right["pit"], 0.5)
        else:
            for j, t in zip(num["s_out"], (0.26, 0.54, 0.76)):
                lm[mirror(j) - 1] = _lerp(right["sh"], right["c_out"], t)
            for j, t in zip(num["s_in"], (0.36, 0.66, 0.84)):
                lm[mirror(j) - 1] = _lerp(right["c_in"], right["pit"], t)
    if is_out:
        hem_f = _pt(-max(gap, 0.012), length + P["hem_curve"] * 0.8)
        put(num["hem_f"], hem_f)
        e_top = lm[num["top"] - 1]
        for j, t in zip(num["edge"], (0.67, 0.33)):  # edge = (lower, upper), as the contour climbs
            put(j, _lerp(e_top, hem_f, t))
    if sleeves == "sling":
        tilt = P["strap_tilt"]
        strap_len = top_y + 0.04
        for s in (-1, 1):
            base = _pt(s * nw, top_y)
            end = base + _pt(s * tilt * strap_len, -strap_len)
            j = num["strap"] if s < 0 else mirror(num["strap"])
            lm[j - 1] = end
            d = end - base
            d = d / np.hypot(*d)
            nrm = _pt(-d[1], d[0]) * P["strap_w"] * 0.5
            # the strap quad starts a little inside the body so the two parts touch
            b0 = base + _pt(0, 0.02)
            extra_polys.append(np.array([b0 - nrm, end - nrm, end + nrm, b0 + nrm]))
            anchors[f"strap_{'l' if s < 0 else 'r'}"] = np.array([base, end])

    # ---- the outline, left neck point first, down the image-left side
    def side_chain(s: int) -> None:
        sp = side_pts[s]
        j = (lambda n: n) if s < 0 else mirror
        if s < 0:
            if sleeves in ("short", "long"):
                outline.L(j(num["sh"]))
                if sleeves == "short":
                    outline.L(j(num["s_mid"]))
                else:
                    for q in num["s_out"]:
                        outline.L(j(q))
                outline.L(j(num["c_out"]), True).L(j(num["c_in"]), True)
                if sleeves == "short":
                    outline.L(j(num["u_mid"]))
                else:
                    for q in num["s_in"]:
                        outline.L(j(q))
                outline.L(j(num["pit"]), True)
            elif sleeves == "vest":
                outline.L(j(num["sh"]), True).P(sp["mid"]).P(sp["corner"], True)
            else:
                outline.P(sp["mid"]).P(sp["corner"], True)
            for q in side_nums:
                outline.L(j(q))
            outline.L(j(hem_n), True)
        else:
            outline.L(j(hem_n), True)
            for q in reversed(side_nums):
                outline.L(j(q))
            if sleeves in ("short", "long"):
                outline.L(j(num["pit"]), True)
                if sleeves == "short":
                    outline.L(j(num["u_mid"]))
                else:
                    for q in reversed(num["s_in"]):
                        outline.L(j(q))
                outline.L(j(num["c_in"]), True).L(j(num["c_out"]), True)
                if sleeves == "short":
                    outline.L(j(num["s_mid"]))
                else:
                    for q in reversed(num["s_out"]):
                        outline.L(j(q))
                outline.L(j(num["sh"]))
            elif sleeves == "vest":
                outline.P(sp["corner"], True).P(sp["mid"]).L(j(num["sh"]), True)
            else:
                outline.P(sp["corner"], True).P(sp["mid"])

    outline.L(2, True)
    side_chain(-1)
    if is_out and not closed_front:
        outline.L(num["hem_f"], True)
        for q in num["edge"]:
            outline.L(q)
        outline.L(num["top"], True).L(mirror(num["top"]), True)
        for q in reversed(num["edge"]):
            outline.L(mirror(q))
        outline.L(mirror(num["hem_f"]), True)
    elif is_out:
        outline.L(num["hem_f"]).L(mirror(num["hem_f"]))
    else:
        outline.L(num["hem_c"])
    side_chain(1)
    outline.L(6, True).L(1)
    main = outline.build(samples=3)
    polygons = [main] + extra_polys

    # ---- details: necklines, seams, cuffs, hem, front edges
    neck_front = [lm[1], lm[2], lm[3]] if not is_out else [lm[1], lm[2], lm[num["top"] - 1]]
    neck_front_r = [lm[5], lm[4]] + ([lm[3]] if not is_out else [lm[mirror(num["top"]) - 1]])
    back_neck = smooth_polyline(np.array([lm[1], lm[0], lm[5]]), samples=4)
    if view != "back":
        if is_out:
            fl = smooth_polyline(np.array(neck_front), samples=4)
            fr_ = smooth_polyline(np.array(neck_front_r), samples=4)
            details.append((fl, False, "neck"))
            details.append((fr_, False, "neck"))
            if closed_front:
                details.append((np.array([lm[num["top"] - 1], _pt(0.0, length + P["hem_curve"] * 0.8)]), False, "edge"))
            inner.append(np.vstack([back_neck, fr_, fl[::-1]]))
        else:
            front = smooth_polyline(np.array([lm[1], lm[2], lm[3], lm[4], lm[5]]), samples=4)
            details.append((front, False, "neck"))
            inner.append(np.vstack([back_neck, front[::-1]]))
    else:
        details.append((back_neck, False, "neck"))
    for s in (-1, 1):
        sp = side_pts[s]
        if sleeves in ("short", "long"):
            details.append((np.array([sp["c_out"], sp["c_in"]]), False, "cuff"))
            cuff_back = sp["c_out"] - sp["u"] * 0.06
            details.append((np.array([cuff_back, sp["c_in"] - sp["u"] * 0.06]), False, "seam"))
            details.append((np.array([sp["sh"], sp["pit"]]), False, "seam"))
            anchors[f"cuff_{'l' if s < 0 else 'r'}"] = np.array([sp["c_out"], sp["c_in"], sp["c_out"] + sp["u"]])
        else:
            top_pt = sp["sh"] if "sh" in sp else _pt(s * nw, top_y)
            anchors[f"armhole_{'l' if s < 0 else 'r'}"] = np.array([top_pt, sp["corner"]])
    details.append(
        (
            np.array([side_pts[-1]["hem"] + _pt(0, -0.06), _pt(0, hem_c - 0.06), side_pts[1]["hem"] + _pt(0, -0.06)]),
            False,
            "hem",
        )
    )
    if is_dress:
        wl = _side_x(waist_y, side_ys, side_xs)
        details.append((np.array([_pt(-wl, waist_y), _pt(wl, waist_y)]), False, "seam"))
    anchors["neck"] = np.array([n2, n6])
    anchors["hem"] = np.array([side_pts[-1]["hem"], side_pts[1]["hem"]])
    anchors["waist"] = np.array(
        [_pt(-_side_x(waist_y, side_ys, side_xs), waist_y), _pt(_side_x(waist_y, side_ys, side_xs), waist_y)]
    )

    # ---- views
    if view == "back":
        for j in (3, 4, 5):
            hidden[j - 1] = True
        if is_out:
            for j in (num["top"], num["hem_f"], *num["edge"]):
                hidden[j - 1] = True
                hidden[mirror(j) - 1] = True
            hidden[2] = True
            hidden[4] = True
    g = Garment(cat, lm, hidden, selfocc, polygons, details, inner, anchors)
    if view == "side":
        g = _side_view(g, side_pts, num, sleeves, mirror, facing, P, lambda y: _side_x(y, side_ys, side_xs))
    return g


def _side_view(
    g: Garment, side_pts, num, sleeves: str, mirror, facing: int, P: dict[str, float], half_width
) -> Garment:  # type: ignore[no-untyped-def]
    """Turn a front view into a three-quarter/side view: narrower, the far sleeve tucked behind the body."""
    squeeze = 0.62 + 0.18 * P.get("neck_round", 0.5)
    far = -facing
    lm = g.landmarks.copy()
    selfocc = g.self_occluded.copy()
    polygons = g.polygons
    if sleeves in ("short", "long"):
        sp = side_pts[far]
        j = (lambda n: n) if far < 0 else mirror
        sleeve_nums = [num["sh"], num["c_out"], num["c_in"]]
        sleeve_nums += [num["s_mid"], num["u_mid"]] if sleeves == "short" else [*num["s_out"], *num["s_in"]]
        # rebuild the outline without the far sleeve: far shoulder -> far armpit straight down
        cat = g.category
        far_ids = {j(q) - 1 for q in sleeve_nums if q != num["sh"]}
        far_ids.add(j(num["pit"]) - 1)
        pit = sp["pit"]
        hem = sp["hem"]
        sh = sp["sh"]
        # occluded sleeve landmarks: hanging straight down just inside the body's far side
        y0, y1 = pit[1] + 0.05, hem[1] - 0.08
        for q in sorted(far_ids):
            if q == j(num["pit"]) - 1:
                continue
            y = float(np.clip(lm[q, 1], y0, y1)) if y1 > y0 else y0
            x = far * float(half_width(y)) * (0.62 + 0.05 * ((q * 7) % 3))
            lm[q] = _pt(x, y)
            selfocc[q] = True
        # the far shoulder drops to the armpit line; the outline follows the body
        lm[j(num["sh"]) - 1] = _pt(sh[0] * 0.94, sh[1])
        lm[j(num["pit"]) - 1] = _pt(pit[0], pit[1])
        selfocc[j(num["pit"]) - 1] = False
        main = _rebuild_without_far_sleeve(g, lm, far, cat, num, sleeves, mirror, j)
        polygons = [main] + g.polygons[1:]
    sq = np.array([squeeze, 1.0])

    def squeeze_fn(p: np.ndarray) -> np.ndarray:
        return p * sq

    out = Garment(g.category, lm, g.view_hidden.copy(), selfocc, polygons, g.details, g.inner, g.anchors).transformed(
        squeeze_fn
    )
    # the front features turn towards the viewer's side (where they stay inside the garment)
    shift = facing * 0.22 * (1.0 - squeeze)
    if g.category not in OUTWEAR:
        for q in (2, 3, 4):  # 0-based: the front neckline 3, 4, 5
            moved = out.landmarks[q] + (shift, 0.0)
            if not out.view_hidden[q] and points_in_polygon(moved[None], out.polygons[0])[0]:
                out.landmarks[q] = moved
    return out


def _rebuild_without_far_sleeve(g: Garment, lm, far: int, cat: Category, num, sleeves: str, mirror, j) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The main outline with the far sleeve removed (shoulder -> armpit -> side)."""
    # walk the front-view outline's control sequence again, replacing the far sleeve by shoulder + armpit
    c = _Contour(lm)
    sleeve_seq_left = [num["sh"]]
    sleeve_seq_left += [num["s_mid"]] if sleeves == "short" else list(num["s_out"])
    sleeve_seq_left += [num["c_out"], num["c_in"]]
    sleeve_seq_left += [num["u_mid"]] if sleeves == "short" else list(num["s_in"])
    corners = {num["c_out"], num["c_in"], num["pit"]}
    side_nums = num["side"]
    is_out = cat in OUTWEAR
    closed_front = is_out and abs(lm[num["top"] - 1, 0]) < 0.013 if is_out else False

    def chain(s: int) -> None:
        jj = (lambda n: n) if s < 0 else mirror
        seq = sleeve_seq_left + [num["pit"]]
        if s > 0:
            seq = [num["pit"]] + sleeve_seq_left[::-1]
        if s == far:
            seq = [num["sh"], num["pit"]] if s < 0 else [num["pit"], num["sh"]]
        if s < 0:
            for q in seq:
                c.L(jj(q), q in corners)
            for q in side_nums:
                c.L(jj(q))
            c.L(jj(num["hem"]), True)
        else:
            c.L(jj(num["hem"]), True)
            for q in reversed(side_nums):
                c.L(jj(q))
            for q in seq:
                c.L(jj(q), q in corners)

    c.L(2, True)
    chain(-1)
    if is_out and not closed_front:
        c.L(num["hem_f"], True)
        for q in num["edge"]:
            c.L(q)
        c.L(num["top"], True).L(mirror(num["top"]), True)
        for q in reversed(num["edge"]):
            c.L(mirror(q))
        c.L(mirror(num["hem_f"]), True)
    elif is_out:
        c.L(num["hem_f"]).L(mirror(num["hem_f"]))
    else:
        c.L(num["hem_c"])
    chain(1)
    c.L(6, True).L(1)
    return c.build(samples=3)


# ---- lower garments ---------------------------------------------------------------------------------------


def _bottom(cat: Category, P: dict[str, float], pose: Pose, view: View, facing: int) -> Garment:
    k = cat.num_landmarks
    lm = np.zeros((k, 2))
    hidden = np.zeros(k, dtype=bool)
    selfocc = np.zeros(k, dtype=bool)
    wy, ww = P["waist_y"], P["waist_w"]
    wc = P["waist_curve"]
    lm[0], lm[1], lm[2] = _pt(-ww, wy), _pt(0.0, wy + wc), _pt(ww, wy)
    details: list[tuple[np.ndarray, bool, str]] = []
    anchors: dict[str, np.ndarray] = {}
    c = _Contour(lm)
    band = 0.10
    spread = pose.leg_spread
    if cat == Category.SKIRT:
        L = wy + P["length"]
        hw = max(P["hem_w"], ww + 0.05)
        lm[4] = _pt(-hw, L)
        lm[6] = _pt(hw, L)
        lm[5] = _pt(0.0, L + P["hem_curve"])
        mid_y = wy + 0.5 * (L - wy)
        mid_x = ww + (hw - ww) * 0.42 + 0.04
        lm[3] = _pt(-mid_x, mid_y)
        lm[7] = _pt(mid_x, mid_y)
        c.L(1, True).L(4).L(5, True).L(6).L(7, True).L(8).L(3, True).L(2)
        details.append(
            (np.array([lm[4] + _pt(0.02, -0.05), lm[5] + _pt(0, -0.05), lm[6] + _pt(-0.02, -0.05)]), False, "hem")
        )
        anchors["legs"] = np.array([_pt(-0.42, L), _pt(0.42, L)])
    else:
        hip = P["hip_w"]
        crotch_y = wy + P["rise"]
        if cat == Category.SHORTS:
            hem_y = crotch_y + P["leg_len"]
            out_x = hip + P["leg_flare"] + spread * 0.5
            open_w = 0.40 + 0.18 * P["leg_flare"] / 0.2 * 0.5 + 0.20 * min(P["leg_len"], 0.6)
            in_x = max(out_x - 2 * open_w * 0.5 - 0.35, 0.03)
            in_x = min(in_x, out_x - 0.25)
            lm[4] = _pt(-out_x, hem_y)  # 5
            lm[5] = _pt(-in_x, hem_y + 0.03)  # 6
            lm[6] = _pt(0.0, crotch_y)  # 7
            lm[7] = _pt(in_x, hem_y + 0.03)  # 8
            lm[8] = _pt(out_x, hem_y)  # 9
            side_y = wy + 0.5 * (hem_y - wy)
            side_x = ww + (out_x - ww) * 0.62
            lm[3] = _pt(-side_x, side_y)  # 4
            lm[9] = _pt(side_x, side_y)  # 10
            c.L(1, True).L(4).L(5, True).L(6, True).L(7, True).L(8, True).L(9, True).L(10).L(3, True).L(2)
            legs = [(lm[4], lm[5]), (lm[7], lm[8])]
        else:  # trousers
            hem_y = P["hem_y"]
            hh = P["hem_half"]
            kh = P["knee_half"]
            lean = 0.42 + spread
            hem_c_l = -lean
            lm[5] = _pt(hem_c_l - hh, hem_y)  # 6 outer hem L
            lm[6] = _pt(min(hem_c_l + hh, -0.03), hem_y)  # 7 inner hem L
            lm[10] = _pt(-lm[6, 0], hem_y + 0.01)  # 11
            lm[11] = _pt(-lm[5, 0], hem_y)  # 12
            lm[8] = _pt(0.0, crotch_y)  # 9 crotch
            thigh_y = crotch_y + 0.50 * (hem_y - crotch_y) * 0.55
            # inner leg points (8, 10) halfway down the inner seam
            in_mid_y = crotch_y + 0.42 * (hem_y - crotch_y)
            knee_c = -0.40 - 0.5 * spread * 0.5
            lm[7] = _pt(min(knee_c + kh, -0.03), in_mid_y)  # 8
            lm[9] = _pt(-lm[7, 0], in_mid_y)  # 10
            lm[3] = _pt(-hip, wy + 0.42 * (crotch_y - wy) + 0.12)  # 4
            lm[13] = _pt(hip, lm[3, 1])  # 14
            lm[4] = _pt(min(-(hip - 0.02), knee_c - kh - 0.05), thigh_y + 0.35)  # 5
            lm[12] = _pt(-lm[4, 0], lm[4, 1])  # 13
            c.L(1, True).L(4).L(5).L(6, True).L(7, True).L(8).L(9, True).L(10).L(11, True).L(12, True).L(13).L(14).L(
                3, True
            ).L(2)
            legs = [(lm[5], lm[6]), (lm[10], lm[11])]
        for a, b in legs:
            details.append((np.array([a + _pt(0, -0.07), b + _pt(0, -0.07)]), False, "hem"))
        anchors["legs"] = np.array([0.5 * (legs[0][0] + legs[0][1]), 0.5 * (legs[1][0] + legs[1][1])])
        anchors["leg_w"] = np.array([[abs(legs[0][1][0] - legs[0][0][0]), 0.0]])
        if view != "back":
            details.append((np.array([_pt(0.0, wy + wc + band), _pt(0.0, crotch_y - 0.12)]), False, "fly"))
        else:
            for s in (-1, 1):
                pk = np.array(
                    [
                        _pt(s * 0.18, wy + 0.22),
                        _pt(s * 0.50, wy + 0.22),
                        _pt(s * 0.48, wy + 0.52),
                        _pt(s * 0.20, wy + 0.52),
                    ]
                )
                details.append((pk, True, "seam"))
    details.append((np.array([lm[0] + _pt(0.0, band), lm[1] + _pt(0.0, band), lm[2] + _pt(0.0, band)]), False, "band"))
    anchors["waist"] = np.array([lm[0], lm[2]])
    main = c.build(samples=3)
    g = Garment(cat, lm, hidden, selfocc, [main], details, [], anchors)
    if view == "side":
        squeeze = 0.66 + 0.14 * P.get("waist_curve", 0.0) / 0.05
        sq = np.array([squeeze, 1.0])
        g = g.transformed(lambda p: p * sq)
        if cat != Category.SKIRT:
            crotch = 6 if cat == Category.SHORTS else 8
            g.self_occluded[crotch] = True
    return g


def build_garment(
    category: Category, params: dict[str, float], pose: Pose, view: View = "front", facing: int = 1
) -> Garment:
    """The geometry of one garment of ``category`` in person units (module docstring)."""
    cat = Category(category)
    if cat in BOTTOMS:
        return _bottom(cat, params, pose, view, facing)
    return _upper(cat, params, pose, view, facing)
