"""The driver: plan pairs, render images in parallel, write a DeepFashion2-format root.

>>> from df2kit.synth import synthesize, generate_image
>>> summary = synthesize("out/df2-synth", train=200, validation=50, seed=0)    # doctest: +SKIP
>>> image, ann = generate_image(seed=3, source="user", size=256)
>>> image.size == (ann.width, ann.height), ann.source
(True, 'user')

Planning (cheap, sequential, in the main process) decides every image's pair_id, source, products and style,
and a seed per image; rendering an image depends on nothing else, so the output is the same for any number
of workers. Within a split, images are grouped by pair_id, consumer ("user") images first, then shop images,
as the DeepFashion2 README describes its training split; numbering starts at 000001 in each split.

A pair_id is one product (a category, a shape, a look) shown in 1-5 consumer and 1-6 shop images. Its
styles 1, 2, ... are colour/print variants of the product (same shape); now and then a second product of the
same outfit (another category) joins as one more style. Every style appears on both sides, so every style > 0
consumer item has a shop partner. Items that complete an outfit are style 0.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .._atomic import atomic_write_bytes
from .._progress import progress_bar
from .._table import format_table
from .._workers import cpu_count, mp_context
from ..errors import DF2Error
from ..io.native import write_annotation
from ..layout import Category
from ..structures.records import ImageAnnotation
from .identity import FAMILIES_PER_CATEGORY, Identity, product_identity, style_variant
from .scene import QUIRKS, ImageSpec, SceneResult, ShownItem, render_scene
from .templates import BOTTOMS, DRESSES, OUTWEAR, TOPS

__all__ = ["SPLIT_NAMES", "SplitSummary", "SynthSummary", "generate_image", "plan_split", "render_spec", "synthesize"]

SPLIT_NAMES = ("train", "validation", "test")

#: How often each category is a pair's product. Companions (style 0) fill outfits, so these are not the
#: target frequencies (``_targets.CATEGORY_COUNTS``) themselves; they were fitted so that the item
#: frequencies come out as in the README's Figure 3.
PRODUCT_WEIGHTS: dict[int, float] = {
    1: 186.0, 2: 94.0, 3: 5.5, 4: 41.0, 5: 43.0, 6: 7.0, 7: 79.0, 8: 121.0, 9: 71.0, 10: 80.0, 11: 34.0, 12: 89.0, 13: 35.0,
}  # fmt: skip

_P_STYLES = (0.72, 0.22, 0.06)
_P_SECOND_PRODUCT = 0.12
_SPLIT_CODE = {"train": 11, "validation": 22, "test": 33}
# item-level quirks: (name, image index mod 30 that always gets it, probability for any other image)
_ITEM_QUIRKS = (("degenerate-polygon", 3, 0.012), ("no-landmarks", 11, 0.015), ("closed-polygons", 19, 0.03))


@dataclass(frozen=True)
class SplitSummary:
    """What was written for one split."""

    split: str
    images: int
    annotations: int
    items: int
    pair_ids: int
    first_stem: str | None
    last_stem: str | None


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`synthesize` wrote."""

    root: str
    seed: int
    size: int
    images_written: bool
    quirks: bool
    splits: tuple[SplitSummary, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        rows = [
            (s.split, s.images, s.annotations, s.items, s.pair_ids, f"{s.first_stem}..{s.last_stem}")
            for s in self.splits
        ]
        head = f"{self.root}: seed {self.seed}, {self.size} px, {'images and annotations' if self.images_written else 'annotations only'}"
        if self.quirks:
            head += ", with real-data quirks"
        rate = sum(s.images for s in self.splits) / self.seconds if self.seconds > 0 else 0.0
        table = format_table(["split", "images", "annotation files", "items", "pair_ids", "stems"], rows)
        return f"{head}\n{table}\n{self.seconds:.1f} s ({rate:.0f} images/s)"


def _weights(d: dict[int, float], cats: Sequence[Category] | None = None) -> tuple[list[Category], np.ndarray]:
    keys = [Category(c) for c in d if cats is None or Category(c) in cats]
    p = np.array([d[int(c)] for c in keys], dtype=np.float64)
    return keys, p / p.sum()


def _companion_category(first: Category, rng: np.random.Generator) -> Category:
    """A second product of the same outfit (another part of it)."""
    if first in TOPS or first in OUTWEAR:
        cats, p = _weights(PRODUCT_WEIGHTS, BOTTOMS)
    elif first in BOTTOMS:
        cats, p = _weights(PRODUCT_WEIGHTS, TOPS)
    else:
        cats, p = _weights(PRODUCT_WEIGHTS, OUTWEAR)
    return cats[int(rng.choice(len(cats), p=p))]


def _side_styles(rng: np.random.Generator, n_styles: int, k: int) -> list[int]:
    """Styles of one side's k images: every style once, then random ones, shuffled."""
    s = list(range(1, n_styles + 1))
    s += [int(x) for x in rng.integers(1, n_styles + 1, max(0, k - n_styles))]
    s = s[:k]
    rng.shuffle(s)
    return s


def _with_second(rng: np.random.Generator, has_second: bool, k: int) -> list[bool]:
    """Which of one side's k images also show the second product (at least one does)."""
    if not has_second or k == 0:
        return [False] * k
    flags = [bool(rng.random() < 0.5) for _ in range(k)]
    flags[int(rng.integers(k))] = True
    return flags


def plan_split(split: str, n: int, *, seed: int = 0, size: int = 512, quirks: bool = False) -> list[ImageSpec]:
    """Every image of a split, decided: stem, pair_id, source, seed, products shown (module docstring)."""
    if n <= 0:
        return []
    code = _SPLIT_CODE.get(split, 44)
    rng = np.random.default_rng([int(seed), code, 0])
    cats, p_cat = _weights(PRODUCT_WEIGHTS)
    specs: list[ImageSpec] = []
    made = np.zeros(len(cats))
    number = 0
    pair_id = 0
    while len(specs) < n:
        pair_id += 1
        left = n - len(specs)
        n_user = int(min(1 + rng.poisson(0.65), 5))
        n_shop = int(min(1 + rng.poisson(1.25), 6))
        if n_user + n_shop > left:
            n_user = max(1, left // 2) if left >= 2 else 0
            n_shop = left - n_user
        # products by quota with a random nudge: the category mix holds even in a small split
        score = p_cat * pair_id - made + rng.uniform(0.0, 1.2, len(cats))
        ci = int(np.argmax(score))
        made[ci] += 1
        cat = cats[ci]
        family = int(rng.integers(FAMILIES_PER_CATEGORY))
        first = product_identity(cat, family, int(rng.integers(2**31)))
        n_styles = int(rng.choice(3, p=_P_STYLES)) + 1
        n_styles = max(1, min(n_styles, n_user, n_shop))
        looks: list[Identity] = [first] + [style_variant(first, int(rng.integers(2**31))) for _ in range(n_styles - 1)]
        second: Identity | None = None
        if n_user >= 1 and n_shop >= 1 and rng.random() < _P_SECOND_PRODUCT and cat not in DRESSES:
            c2 = _companion_category(cat, rng)
            second = product_identity(c2, int(rng.integers(FAMILIES_PER_CATEGORY)), int(rng.integers(2**31)))
        paired = n_user >= 1 and n_shop >= 1

        user_styles = _side_styles(rng, n_styles, n_user)
        shop_styles = _side_styles(rng, n_styles, n_shop)
        user_second = _with_second(rng, second is not None, n_user)
        shop_second = _with_second(rng, second is not None, n_shop)
        for source, styles, seconds in (("user", user_styles, user_second), ("shop", shop_styles, shop_second)):
            for st, sec in zip(styles, seconds):
                number += 1
                k = len(specs)
                if quirks and k > 0 and (k == 5 or rng.random() < 0.02):
                    number += int(rng.integers(1, 4))  # gaps in the numbering, as in the released files
                image_quirks: tuple[str, ...] = ()
                if quirks:
                    # every kind shows up early (small splits have them all), then now and then
                    extra = [q for q, at, p in _ITEM_QUIRKS if k % 30 == at or rng.random() < p]
                    image_quirks = ("border", *extra)
                shown = [ShownItem(looks[st - 1], st if paired else 0)]
                if sec and second is not None:
                    shown.append(ShownItem(second, n_styles + 1))
                img_seed = int(np.random.default_rng([int(seed), code, pair_id, number]).integers(2**62))
                specs.append(
                    ImageSpec(f"{number:06d}", pair_id, source, img_seed, tuple(shown), int(size), image_quirks)
                )
    return specs


def render_spec(spec: ImageSpec, *, draw: bool = True) -> SceneResult:
    """Render one planned image (see :func:`plan_split`)."""
    return render_scene(spec, draw=draw)


def generate_image(
    seed: int = 0,
    *,
    source: str = "user",
    category: Category | int | None = None,
    size: int = 512,
    style: int = 1,
    pair_id: int = 1,
    stem: str = "000001",
    quirks: bool = False,
) -> tuple[Image.Image, ImageAnnotation]:
    """One image and its annotation from a seed (in memory; nothing is written).

    ``category`` picks the product's category (default: drawn from the dataset's frequencies).
    """
    if source not in ("shop", "user"):
        raise ValueError(f"expected source 'shop' or 'user', got {source!r}")
    rng = np.random.default_rng([int(seed), 99])
    if category is None:
        cats, p = _weights(PRODUCT_WEIGHTS)
        cat = cats[int(rng.choice(len(cats), p=p))]
    else:
        cat = Category(int(category))
    ident = product_identity(cat, int(rng.integers(FAMILIES_PER_CATEGORY)), int(rng.integers(2**31)))
    spec = ImageSpec(
        stem,
        int(pair_id),
        source,
        int(rng.integers(2**62)),
        (ShownItem(ident, int(style)),),
        int(size),
        QUIRKS if quirks else (),
    )
    res = render_scene(spec, draw=True)
    assert res.image is not None
    return res.image, res.annotation


# ---- writing ----------------------------------------------------------------------------------------------


def _jpeg_quality(spec: ImageSpec) -> int:
    r = np.random.default_rng([spec.seed, 3])
    return int(r.integers(88, 96)) if spec.source == "shop" else int(r.integers(72, 93))


def _write_one(spec: ImageSpec, split_dir: str, images: bool, annos: bool) -> int:
    res = render_scene(spec, draw=images)
    d = Path(split_dir)
    if images:
        assert res.image is not None
        buf = io.BytesIO()
        res.image.save(buf, "JPEG", quality=_jpeg_quality(spec))
        atomic_write_bytes(d / "image" / f"{spec.stem}.jpg", buf.getvalue())
    if annos:
        write_annotation(res.annotation, d / "annos" / f"{spec.stem}.json")
    return len(res.annotation.items)


def _write_chunk(args: tuple[list[ImageSpec], str, bool, bool]) -> list[int]:
    specs, split_dir, images, annos = args
    return [_write_one(s, split_dir, images, annos) for s in specs]


def synthesize(
    out_root: str | os.PathLike[str],
    *,
    train: int = 0,
    validation: int = 0,
    test: int = 0,
    seed: int = 0,
    size: int = 512,
    images: bool = True,
    quirks: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> SynthSummary:
    """Write a synthetic DeepFashion2 root: ``OUT/{train,validation,test}/image/*.jpg`` and ``annos/*.json``.

    Split folders to write must be new or empty (nothing is overwritten). ``size`` is the long side of every
    image in pixels; ``images=False`` writes annotations only (the test
    split then gets nothing); ``quirks=True`` adds the real files' oddities (gaps in the numbering, items
    without labelled landmarks, degenerate and closed polygons, landmarks exactly on the border). The output
    is the same for a seed whatever ``workers`` is.
    """
    counts = {"train": train, "validation": validation, "test": test}
    for name, v in counts.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise DF2Error(f"expected a count >= 0 of {name} images, got {v!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 32 <= size <= 4096:
        raise DF2Error(f"expected an image size (long side) of 32..4096 pixels, got {size!r}")
    root = Path(out_root).expanduser()
    for split in SPLIT_NAMES:
        d = root / split
        if counts[split] and d.is_dir() and any(d.iterdir()):
            raise DF2Error(
                "the split folder already holds files; synth writes new splits only (delete it or choose another root)",
                path=str(d),
            )
    t0 = time.perf_counter()
    n_workers = max(1, int(workers) if workers else cpu_count())
    summaries = []
    for split in SPLIT_NAMES:
        n = int(counts[split])
        if n == 0:
            continue
        specs = plan_split(split, n, seed=seed, size=size, quirks=quirks)
        annos = split != "test"
        split_dir = root / split
        if images:
            (split_dir / "image").mkdir(parents=True, exist_ok=True)
        if annos:
            (split_dir / "annos").mkdir(parents=True, exist_ok=True)
        n_items = 0
        if images or annos:
            chunk = 16 if images else 128
            jobs = [(specs[i : i + chunk], str(split_dir), images, annos) for i in range(0, len(specs), chunk)]
            bar = progress_bar(total=len(specs), desc=f"synth {split}", unit="img", enabled=progress)
            try:
                if n_workers <= 1 or len(jobs) <= 1:
                    for job in jobs:
                        n_items += sum(_write_chunk(job))
                        bar.update(len(job[0]))
                else:
                    with mp_context().Pool(min(n_workers, len(jobs))) as pool:
                        for job, res in zip(jobs, pool.imap(_write_chunk, jobs)):
                            n_items += sum(res)
                            bar.update(len(job[0]))
            finally:
                bar.close()
        summaries.append(
            SplitSummary(
                split=split,
                images=n if images else 0,
                annotations=n if annos else 0,
                items=n_items if annos else 0,
                pair_ids=len({s.pair_id for s in specs}),
                first_stem=specs[0].stem,
                last_stem=specs[-1].stem,
            )
        )
    return SynthSummary(
        str(root), int(seed), int(size), bool(images), bool(quirks), tuple(summaries), time.perf_counter() - t0
    )
