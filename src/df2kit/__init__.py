"""df2kit: the DeepFashion2 toolkit.

Read and check the dataset, convert it to the formats people train with, score its four tasks exactly as the
official rules do, and train and run a Match R-CNN-style baseline.

>>> import df2kit
>>> df2kit.Category.TROUSERS.num_landmarks
14
>>> table = df2kit.scan_split("ROOT", "validation")      # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AnnotationError, DatasetError, DF2Error, Issue
from .io import (
    SplitTable,
    ValidationReport,
    image_size,
    read_annotation,
    scan_split,
    validate_split,
    write_annotation,
)
from .layout import CATEGORIES, NUM_LANDMARKS, Category
from .stats import SplitStats, split_stats
from .structures import BoxMode, ClothingItem, ImageAnnotation

__all__ = [
    "CATEGORIES",
    "NUM_LANDMARKS",
    "AnnotationError",
    "BoxMode",
    "Category",
    "ClothingItem",
    "DF2Error",
    "DatasetError",
    "ImageAnnotation",
    "Issue",
    "SplitStats",
    "SplitTable",
    "ValidationReport",
    "__version__",
    "image_size",
    "read_annotation",
    "scan_split",
    "split_stats",
    "validate_split",
    "write_annotation",
]
