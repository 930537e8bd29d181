"""Read and write one native DeepFashion2 annotation file.

>>> from df2kit.io import read_annotation, write_annotation        # doctest: +SKIP
>>> ann = read_annotation("ROOT/validation/annos/000001.json")    # doctest: +SKIP
>>> ann.items[0].category.dataset_name, ann.items[0].landmarks.shape   # doctest: +SKIP
('short sleeve top', (25, 3))

Strict reading (the default here) raises :class:`~df2kit.errors.AnnotationError` naming the file, item and
field of the first problem; ``strict=False`` skips broken items, keeps warnings-only items, and returns the
issues beside the record.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from .._atomic import atomic_write_bytes
from ..errors import AnnotationError, Issue
from ..layout import Category
from ..structures.records import ClothingItem, ImageAnnotation, image_id_from_stem
from ._check import CleanImage, check_annotation, decode_json

__all__ = [
    "annotation_to_bytes",
    "parse_annotation",
    "read_annotation",
    "write_annotation",
]


def _record(clean: CleanImage, stem: str, path: str | None) -> ImageAnnotation:
    items = tuple(
        ClothingItem(
            key=c.key,
            category=Category(c.category_id),
            style=c.style,
            bbox_xyxy=tuple(c.bbox),  # type: ignore[arg-type]
            landmarks=c.landmarks,  # type: ignore[arg-type]
            segmentation=tuple(c.polygons),  # type: ignore[arg-type]
            scale=c.attrs[0],
            occlusion=c.attrs[1],
            zoom_in=c.attrs[2],
            viewpoint=c.attrs[3],
        )
        for c in clean.items
    )
    return ImageAnnotation(stem=stem, source=clean.source, pair_id=clean.pair_id, items=items, path=path)


def parse_annotation(
    raw: bytes, *, stem: str, path: str | None = None, strict: bool = True
) -> tuple[ImageAnnotation | None, list[Issue]]:
    """Parse the bytes of one annotation file.

    Returns ``(record, issues)``. With ``strict=True`` the first error raises AnnotationError instead;
    with ``strict=False`` the record holds the usable items (``None`` when the file as a whole is unusable).
    """
    where = path if path is not None else f"{stem}.json"
    issues: list[Issue] = []
    try:
        image_id_from_stem(stem, path=where)
    except AnnotationError as e:
        issues.append(Issue("error", "bad-file-name", e.message, where))
        if strict:
            raise
        return None, issues
    ok, obj = decode_json(raw, where, issues)
    clean = check_annotation(obj, path=where, issues=issues) if ok else None
    errors = [i for i in issues if i.severity == "error"]
    if strict and errors:
        raise errors[0].to_error(AnnotationError)
    if clean is None:
        return None, issues
    return _record(clean, stem, where), issues


def read_annotation(path: str | os.PathLike[str], *, strict: bool = True) -> ImageAnnotation:
    """Read one native annotation file (``.../annos/000123.json``) into an :class:`ImageAnnotation`.

    Strict by default: any error raises AnnotationError naming file, item and field. With ``strict=False``
    broken items are skipped (see :func:`parse_annotation` to get the issues too). ``~`` means the home folder.
    """
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise AnnotationError("file not found", path=str(p)) from None
    except IsADirectoryError:
        raise AnnotationError("expected a file, got a folder", path=str(p)) from None
    except OSError as e:
        raise AnnotationError(f"cannot read: {e.strerror}", path=str(p)) from None
    record, issues = parse_annotation(raw, stem=p.stem, path=str(p), strict=strict)
    if record is None:
        errors = [i for i in issues if i.severity == "error"]
        raise errors[0].to_error(AnnotationError)
    return record


def annotation_to_bytes(ann: ImageAnnotation) -> bytes:
    """The native JSON bytes of a record: deterministic, so writing what was read is byte-stable."""
    return orjson.dumps(ann.to_dict())


def write_annotation(ann: ImageAnnotation, path: str | os.PathLike[str]) -> None:
    """Write a record as a native annotation file (atomically: temporary name, then rename)."""
    atomic_write_bytes(Path(path).expanduser(), annotation_to_bytes(ann))
