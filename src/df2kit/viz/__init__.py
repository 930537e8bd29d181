"""Pictures of annotations, predictions and retrieval results (numpy + Pillow; no GUI, no matplotlib).

>>> from df2kit.viz import draw_annotation, draw_predictions, compare, image_grid, retrieval_strip
>>> from df2kit.io import read_annotation
>>> ann = read_annotation("ROOT/validation/annos/000001.json")               # doctest: +SKIP
>>> draw_annotation("ROOT/validation/image/000001.jpg", ann).save("a.jpg")  # doctest: +SKIP

* :func:`draw_annotation`: ground truth: boxes with category names, translucent masks, landmarks with the
  category's skeleton (visible dots, occluded rings), a caption with the image id, shop/user and pair_id.
* :func:`draw_predictions`: official result entries of one image (dashed boxes with scores, RLE masks,
  the predicted category's landmarks); :func:`compare`: ground truth and predictions side by side.
* :func:`image_grid`, :func:`side_by_side`, :func:`stack`: put pictures together (Figure 1 of the README).
* :func:`retrieval_strip`: a consumer item and its top-k shop results with hits marked (Figure 6);
  :func:`retrieval_hits` decides the marks from an official retrieval entry and the ground truth.

Every function returns a new ``PIL.Image.Image`` (RGB) and never modifies the images or records it is given.
"""

from ._draw import load_image, polygons_mask, to_rgb
from .grid import fit_into, image_grid, side_by_side
from .items import check_entry, compare, draw_annotation, draw_predictions, entries_by_image
from .retrieval import (
    RetrievedItem,
    check_retrieval_entry,
    crop_item,
    retrieval_figure,
    retrieval_hits,
    retrieval_strip,
    stack,
)

__all__ = [
    "RetrievedItem",
    "check_entry",
    "check_retrieval_entry",
    "compare",
    "crop_item",
    "draw_annotation",
    "draw_predictions",
    "entries_by_image",
    "fit_into",
    "image_grid",
    "load_image",
    "polygons_mask",
    "retrieval_figure",
    "retrieval_hits",
    "retrieval_strip",
    "side_by_side",
    "stack",
    "to_rgb",
]
