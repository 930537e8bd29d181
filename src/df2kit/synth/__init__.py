"""Procedural DeepFashion2: shop and consumer images in the dataset's exact format (numpy + Pillow only).

>>> from df2kit.synth import synthesize, generate_image
>>> summary = synthesize("out/df2-synth", train=2000, validation=500, test=200, seed=0)   # doctest: +SKIP
>>> print(summary.format())                                                               # doctest: +SKIP
>>> image, annotation = generate_image(seed=1, source="shop", category=8, size=256)
>>> any(item.category.dataset_name == "trousers" for item in annotation.items)
True

Modules: :mod:`~df2kit.synth.templates` (garment shapes around each category's landmarks),
:mod:`~df2kit.synth.identity` (products, styles, families), :mod:`~df2kit.synth.render` (drawing),
:mod:`~df2kit.synth.scene` (one image and its annotation), :mod:`~df2kit.synth.attributes` (scale,
occlusion, zoom-in, viewpoint from what was drawn), :mod:`~df2kit.synth.generate` (pairs, splits, files).
"""

from .generate import SynthSummary, generate_image, plan_split, render_spec, synthesize
from .scene import ImageSpec, SceneResult, ShownItem, render_scene

__all__ = [
    "ImageSpec",
    "SceneResult",
    "ShownItem",
    "SynthSummary",
    "generate_image",
    "plan_split",
    "render_scene",
    "render_spec",
    "synthesize",
]
