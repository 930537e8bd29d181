"""Clothing identities: what makes two items the same product, and what makes products of a family alike.

A :class:`Look` is how an item is coloured and printed (base and second colour, pattern kind and scale, a
logo, a texture); an :class:`Identity` is a category, its shape parameters and a look. Identities are drawn
from *families*: every category has a few families, each with a shape (the product shapes jitter a little
around it) and a palette and pattern kind; products of one family look alike across pair_ids, so consumer-to-
shop retrieval has near misses to get wrong. The styles of one product (style 1, 2, ... of a pair_id) share its
shape but differ in colour or print, as the dataset's README describes.

Everything here is a pure function of a seed.

>>> import numpy as np
>>> from df2kit.layout import Category
>>> a = product_identity(Category.SKIRT, family=2, product_seed=7)
>>> b = product_identity(Category.SKIRT, family=2, product_seed=7)
>>> a == b
True
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from ..layout import Category
from .templates import PARAM_RANGES, jitter_params, sample_params

__all__ = [
    "FAMILIES_PER_CATEGORY",
    "PATTERNS",
    "Identity",
    "Look",
    "family_look",
    "family_params",
    "product_identity",
    "random_identity",
    "style_variant",
]

#: Families per category: products of one family share a shape and a palette (retrieval near misses).
FAMILIES_PER_CATEGORY = 8
#: Pattern kinds a look can have.
PATTERNS = ("solid", "hstripe", "vstripe", "dstripe", "check", "dots", "logo", "colorblock")
_PATTERN_P = np.array([0.26, 0.13, 0.09, 0.07, 0.12, 0.10, 0.15, 0.08])
_FAMILY_SEED = 0x5EED_F00D


@dataclass(frozen=True)
class Look:
    """Colours and print of an item (colours are RGB 0..255; sizes in person units)."""

    pattern: str
    c1: tuple[int, int, int]
    c2: tuple[int, int, int]
    c3: tuple[int, int, int]
    period: float = 0.25
    duty: float = 0.5
    angle: float = 0.0
    logo: int = 0
    logo_size: float = 0.3
    logo_dy: float = 0.0
    texture: float = 0.0


@dataclass(frozen=True)
class Identity:
    """A category, its shape parameters (see :data:`~df2kit.synth.templates.PARAM_RANGES`) and a look."""

    category: Category
    params: tuple[tuple[str, float], ...]
    look: Look
    family: int = 0

    @property
    def param_dict(self) -> dict[str, float]:
        return dict(self.params)


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return (round(r * 255), round(g * 255), round(b * 255))


def _family_rng(category: Category, family: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([_FAMILY_SEED, int(category), int(family), salt])


def family_params(category: Category, family: int) -> dict[str, float]:
    """The shape every product of a family jitters around."""
    return sample_params(category, _family_rng(category, family, 1))


def family_look(category: Category, family: int) -> tuple[float, float, float, str]:
    """(hue, saturation, value, pattern kind) of a family's palette."""
    rng = _family_rng(category, family, 2)
    hue = float(rng.random())
    sat = float(rng.uniform(0.15, 0.85))
    val = float(rng.uniform(0.25, 0.92))
    kind = str(rng.choice(PATTERNS, p=_PATTERN_P))
    return hue, sat, val, kind


def _look(rng: np.random.Generator, hue: float, sat: float, val: float, kind: str, spread: float) -> Look:
    h1 = hue + rng.normal(0, 0.05 * spread)
    s1 = sat + rng.normal(0, 0.12 * spread)
    v1 = val + rng.normal(0, 0.12 * spread)
    c1 = _rgb(h1, s1, v1)
    # second colour: a contrasting or an analogous one
    if rng.random() < 0.5:
        c2 = _rgb(h1 + rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.9), rng.uniform(0.3, 1.0))
    else:
        c2 = _rgb(h1 + rng.normal(0, 0.06), s1 * rng.uniform(0.2, 0.8), 1.0 - 0.7 * v1)
    c3 = _rgb(rng.random(), rng.uniform(0.3, 1.0), rng.uniform(0.2, 1.0))
    return Look(
        pattern=kind,
        c1=c1,
        c2=c2,
        c3=c3,
        period=float(rng.uniform(0.10, 0.42)),
        duty=float(rng.uniform(0.25, 0.6)),
        angle=float(rng.choice([0.0, 0.0, 45.0, -45.0, 30.0]) if kind == "dstripe" else 0.0),
        logo=int(rng.integers(0, 6)),
        logo_size=float(rng.uniform(0.18, 0.45)),
        logo_dy=float(rng.uniform(-0.1, 0.25)),
        texture=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.2, 0.6)])),
    )


def product_identity(category: Category, family: int, product_seed: int) -> Identity:
    """A product of a family: the family's shape, jittered, and a look near the family's palette."""
    cat = Category(category)
    rng = np.random.default_rng([_FAMILY_SEED, int(cat), int(family), 3, int(product_seed)])
    params = jitter_params(cat, family_params(cat, family), rng, 0.08)
    hue, sat, val, kind = family_look(cat, family)
    if rng.random() < 0.25:  # some products of a family use another print
        kind = str(rng.choice(PATTERNS, p=_PATTERN_P))
    look = _look(rng, hue, sat, val, kind, spread=1.0)
    return Identity(cat, tuple(sorted(params.items())), look, family)


def style_variant(identity: Identity, variant_seed: int) -> Identity:
    """Another style of the same product: same shape, another colour or print."""
    rng = np.random.default_rng([_FAMILY_SEED, 4, int(variant_seed)])
    hue, _sat, _val, kind = family_look(identity.category, identity.family)
    if rng.random() < 0.5:
        kind = str(rng.choice(PATTERNS, p=_PATTERN_P))
    look = _look(rng, hue + rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.9), rng.uniform(0.25, 0.92), kind, spread=1.0)
    look = replace(look, logo=(identity.look.logo + int(rng.integers(1, 6))) % 6)
    return Identity(identity.category, identity.params, look, identity.family)


def random_identity(category: Category, rng: np.random.Generator) -> Identity:
    """A one-off item (style 0 companions): a random family, a random product of it."""
    family = int(rng.integers(0, FAMILIES_PER_CATEGORY))
    return product_identity(category, family, int(rng.integers(0, 2**31)))


def _check_ranges() -> None:  # pragma: no cover - import-time sanity of the table
    for c, ranges in PARAM_RANGES.items():
        for k, (lo, hi) in ranges.items():
            if not lo <= hi:
                raise ValueError(f"bad range for {c.name}.{k}")


_check_ranges()
