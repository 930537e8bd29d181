"""The one table of DeepFashion2 category facts.

Everything df2kit knows about the 13 categories lives here: dataset names and COCO names, how many landmarks
each category has, where its landmarks sit in the 294-long global landmark vector, the official OKS sigmas,
skeleton edges, left/right flip pairs, landmark names and a drawing colour. The facts are loaded once from
``data/df2_layout.json`` (a copy of the project's ground-truth layout file); nothing else in df2kit
hard-codes a category fact.

Conventions
-----------
* Category ids are 1..13 as in the annotation files (:class:`Category` is an ``IntEnum``).
* Landmark numbers in the dataset's figure are 1-based and category-local. ``skeleton`` and ``flip_pairs``
  keep that convention (as in the layout file); the ``*_294`` arrays are 0-based global indices.
* Category-local landmark ``j`` (1-based) of category ``c`` is global index ``c.offset + j - 1``.

Example
-------
>>> from df2kit.layout import Category, NUM_LANDMARKS
>>> Category.TROUSERS.landmark_slice
slice(168, 182, None)
>>> Category.from_name("short sleeve top").coco_name
'short_sleeved_shirt'
>>> NUM_LANDMARKS
294
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_LEVELS",
    "CATEGORIES",
    "CATEGORY_OF_LANDMARK_294",
    "FLIP_INDEX_294",
    "INEXACT_FLIP_PAIRS",
    "LANDMARK_NAMES_294",
    "NUM_CATEGORIES",
    "NUM_LANDMARKS",
    "SIGMAS_294",
    "SOURCES",
    "Category",
    "CategoryInfo",
    "layout_json",
]

NUM_CATEGORIES = 13
NUM_LANDMARKS = 294

#: Item attributes of the annotation files and the names of their levels 1..3 (README wording).
ATTRIBUTE_LEVELS: dict[str, tuple[str, str, str]] = {
    "scale": ("small", "moderate", "large"),
    "occlusion": ("slight", "medium", "heavy"),
    "zoom_in": ("no", "medium", "large"),
    "viewpoint": ("no wear", "frontal", "side or back"),
}
ATTRIBUTES: tuple[str, ...] = tuple(ATTRIBUTE_LEVELS)

#: Image-level ``source`` values, in the order df2kit encodes them (0 = shop, 1 = user).
SOURCES: tuple[str, str] = ("shop", "user")

#: Flip pairs whose two official sigmas differ (category id, local a, local b). Every other pair is equal.
INEXACT_FLIP_PAIRS: tuple[tuple[int, int, int], ...] = ((11, 15, 29),)

# One colour per category (RGB), chosen to be distinguishable on photos; drawing code reads it from here.
_COLOURS: dict[int, tuple[int, int, int]] = {
    1: (230, 25, 75),
    2: (60, 180, 75),
    3: (255, 165, 0),
    4: (0, 130, 200),
    5: (245, 130, 48),
    6: (145, 30, 180),
    7: (70, 240, 240),
    8: (240, 50, 230),
    9: (210, 245, 60),
    10: (250, 190, 212),
    11: (0, 128, 128),
    12: (170, 110, 40),
    13: (128, 0, 0),
}


def layout_json() -> dict[str, Any]:
    """Return the parsed layout data file shipped inside the package (a fresh copy each call)."""
    text = resources.files("df2kit").joinpath("data/df2_layout.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class CategoryInfo:
    """Facts about one category, straight from the layout file (plus derived names and colour)."""

    id: int
    name: str
    coco_name: str
    num_landmarks: int
    offset: int
    sigmas: tuple[float, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    colour: tuple[int, int, int]

    @property
    def landmark_slice(self) -> slice:
        """Slice of this category's landmarks in the 294-long global vector."""
        return slice(self.offset, self.offset + self.num_landmarks)

    @property
    def slug(self) -> str:
        """Dataset name with underscores: ``short_sleeve_top``."""
        return self.name.replace(" ", "_")

    @property
    def landmark_names(self) -> tuple[str, ...]:
        """Names of the category's landmarks in local order: ``short_sleeve_top_01`` ..."""
        return tuple(f"{self.slug}_{j:02d}" for j in range(1, self.num_landmarks + 1))

    @property
    def flip_index(self) -> np.ndarray:
        """Local permutation (0-based) that maps landmark j to its mirror image under a horizontal flip."""
        perm = np.arange(self.num_landmarks)
        for a, b in self.flip_pairs:
            perm[a - 1], perm[b - 1] = b - 1, a - 1
        perm.setflags(write=False)
        return perm


def _load() -> tuple[CategoryInfo, ...]:
    data = layout_json()
    infos = []
    for c in data["categories"]:
        infos.append(
            CategoryInfo(
                id=int(c["id"]),
                name=str(c["name"]),
                coco_name=str(c["coco_name"]),
                num_landmarks=int(c["num_landmarks"]),
                offset=int(c["offset"]),
                sigmas=tuple(float(s) for s in c["sigmas"]),
                skeleton=tuple((int(a), int(b)) for a, b in c["skeleton"]),
                flip_pairs=tuple((int(a), int(b)) for a, b in c["flip_pairs"]),
                colour=_COLOURS[int(c["id"])],
            )
        )
    infos.sort(key=lambda i: i.id)
    return tuple(infos)


CATEGORIES: tuple[CategoryInfo, ...] = _load()
_BY_ID = {c.id: c for c in CATEGORIES}
_BY_NAME = {c.name: c.id for c in CATEGORIES}
_BY_COCO = {c.coco_name: c.id for c in CATEGORIES}


class Category(enum.IntEnum):
    """The 13 DeepFashion2 categories; the value is the dataset's ``category_id``.

    >>> Category(8).dataset_name, Category(8).num_landmarks
    ('trousers', 14)
    """

    SHORT_SLEEVE_TOP = 1
    LONG_SLEEVE_TOP = 2
    SHORT_SLEEVE_OUTWEAR = 3
    LONG_SLEEVE_OUTWEAR = 4
    VEST = 5
    SLING = 6
    SHORTS = 7
    TROUSERS = 8
    SKIRT = 9
    SHORT_SLEEVE_DRESS = 10
    LONG_SLEEVE_DRESS = 11
    VEST_DRESS = 12
    SLING_DRESS = 13

    @property
    def info(self) -> CategoryInfo:
        return _BY_ID[int(self)]

    @property
    def dataset_name(self) -> str:
        """Name as in the annotation files' ``category_name`` (with spaces)."""
        return self.info.name

    @property
    def coco_name(self) -> str:
        return self.info.coco_name

    @property
    def num_landmarks(self) -> int:
        return self.info.num_landmarks

    @property
    def offset(self) -> int:
        return self.info.offset

    @property
    def landmark_slice(self) -> slice:
        return self.info.landmark_slice

    @property
    def sigmas(self) -> tuple[float, ...]:
        return self.info.sigmas

    @property
    def skeleton(self) -> tuple[tuple[int, int], ...]:
        return self.info.skeleton

    @property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        return self.info.flip_pairs

    @property
    def landmark_names(self) -> tuple[str, ...]:
        return self.info.landmark_names

    @property
    def colour(self) -> tuple[int, int, int]:
        return self.info.colour

    @classmethod
    def from_name(cls, name: str) -> Category:
        """Look a category up by dataset name (``"short sleeve top"``) or COCO name."""
        if name in _BY_NAME:
            return cls(_BY_NAME[name])
        if name in _BY_COCO:
            return cls(_BY_COCO[name])
        known = ", ".join(repr(c.name) for c in CATEGORIES)
        raise ValueError(f"unknown category name {name!r}; expected one of {known}")


def _global_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    sigmas = np.zeros(NUM_LANDMARKS, dtype=np.float64)
    flip = np.arange(NUM_LANDMARKS, dtype=np.int64)
    owner = np.zeros(NUM_LANDMARKS, dtype=np.int64)
    names: list[str] = [""] * NUM_LANDMARKS
    for c in CATEGORIES:
        sl = c.landmark_slice
        sigmas[sl] = c.sigmas
        flip[sl] = c.flip_index + c.offset
        owner[sl] = c.id
        names[sl] = c.landmark_names
    for a in (sigmas, flip, owner):
        a.setflags(write=False)
    return sigmas, flip, owner, tuple(names)


#: The 294 official OKS sigmas in global order.
SIGMAS_294: np.ndarray
#: Global horizontal-flip permutation: index i maps to FLIP_INDEX_294[i]; an involution within each slice.
FLIP_INDEX_294: np.ndarray
#: Category id owning each of the 294 global landmarks.
CATEGORY_OF_LANDMARK_294: np.ndarray
#: Names of the 294 global landmarks (``short_sleeve_top_01`` ... ``sling_dress_19``).
LANDMARK_NAMES_294: tuple[str, ...]
SIGMAS_294, FLIP_INDEX_294, CATEGORY_OF_LANDMARK_294, LANDMARK_NAMES_294 = _global_arrays()

#: Landmark count per category id, indexed by id (entry 0 unused = 0). Handy for vectorised checks.
NUM_LANDMARKS_BY_ID: np.ndarray = np.array([0] + [c.num_landmarks for c in CATEGORIES], dtype=np.int64)
NUM_LANDMARKS_BY_ID.setflags(write=False)
#: Offset into the 294 vector per category id, indexed by id (entry 0 unused = 0).
OFFSET_BY_ID: np.ndarray = np.array([0] + [c.offset for c in CATEGORIES], dtype=np.int64)
OFFSET_BY_ID.setflags(write=False)
