"""Scoring DeepFashion2 exactly as the official rules do: detection, landmarks, segmentation (and retrieval).

>>> from df2kit.evaluation import evaluate, Evaluator
>>> r = evaluate("detection", "ROOT/validation", "results.json")        # doctest: +SKIP
>>> r.ap, r.ap50, r.ap75                                                 # doctest: +SKIP
>>> print(r.format())                                                    # doctest: +SKIP
>>> lm = evaluate("landmarks", "ROOT/validation", "kps.json", subsets=True)   # doctest: +SKIP
>>> lm.variant("vis").ap, lm.variant("vis_hide").ap                      # doctest: +SKIP

Detection, landmarks and segmentation follow pycocotools' COCOeval with the DeepFashion2 parameters
(section 4 of the spec): equal to pycocotools to the last bit on the differential tests, without
pycocotools, and much faster (``benchmarks/evaluate.py``). Known pycocotools behaviours that df2kit keeps,
because the official numbers depend on them:

* a ground truth's ``area`` is its box area (the official conversion), for the area ranges and the OKS scale;
* a result's area for the area ranges is its box ``w * h`` whenever it carries a ``bbox`` (even when
  masks or landmarks are scored), else the mask area or the extent of all 294 predicted landmarks, zeros
  included (pycocotools' ``loadRes``);
* area range bounds are inclusive on both sides (an item of exactly 32² is both small and medium);
* for ground truth without labelled landmarks, OKS measures the distance to the box doubled, over all 294
  predicted landmarks (``computeOks``); such ground truth is ignored but can still absorb a detection;
* an annotation's ``ignore`` field is not read (pycocotools overwrites it with ``iscrowd``).

What df2kit does differently, on purpose: results are checked (unknown image or category, NaN, wrong
landmark count, a mask that does not fit its image) and a results entry with a box but no mask is refused
for segmentation instead of being scored as a box; degenerate ground-truth polygons are repaired with the
converters' rule (:func:`df2kit.structures.polygons.repair_polygons`) instead of crashing.

Subsets (``subsets=True``, README Tables 3, 5, 7): see :class:`SubsetScores` for the rule.
"""

from __future__ import annotations

from ._api import COCO_TASKS, Evaluator, evaluate, summary_stats
from ._gt import LANDMARK_VARIANTS, GroundTruth, load_ground_truth
from .results import CategoryScores, COCOScores, SubsetScores, TaskResult
from .retrieval import RetrievalEvaluator, RetrievalResult, evaluate_retrieval

__all__ = [
    "COCO_TASKS",
    "LANDMARK_VARIANTS",
    "COCOScores",
    "CategoryScores",
    "Evaluator",
    "GroundTruth",
    "RetrievalEvaluator",
    "RetrievalResult",
    "SubsetScores",
    "TaskResult",
    "evaluate",
    "evaluate_retrieval",
    "load_ground_truth",
    "summary_stats",
]
