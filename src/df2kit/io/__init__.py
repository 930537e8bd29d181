"""Native DeepFashion2 files: read and write one annotation, scan a split, read image headers, validate.

>>> from df2kit.io import scan_split, read_annotation, validate_split   # doctest: +SKIP
"""

from .images import ImageInfo, image_size
from .native import annotation_to_bytes, parse_annotation, read_annotation, write_annotation
from .scan import SPLITS, SplitTable, annotation_names, default_cache_dir, resolve_split, scan_files, scan_split
from .validate import ValidationReport, validate_split

__all__ = [
    "SPLITS",
    "ImageInfo",
    "SplitTable",
    "ValidationReport",
    "annotation_names",
    "annotation_to_bytes",
    "default_cache_dir",
    "image_size",
    "parse_annotation",
    "read_annotation",
    "resolve_split",
    "scan_files",
    "scan_split",
    "validate_split",
    "write_annotation",
]
