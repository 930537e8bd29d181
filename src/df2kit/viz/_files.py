"""Find a split's images and annotation files by image id (for pictures of a few images, no full scan)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from ..errors import DatasetError, ResultsError
from ..io.images import IMAGE_EXTENSIONS
from ..io.native import read_annotation
from ..structures.records import ImageAnnotation


class SplitFiles:
    """Image and annotation files of one split folder (``image/``, optional ``annos/``), looked up by id.

    Ids are file-stem integers; the usual six-digit name is tried first, then the folder is listed once.
    """

    def __init__(self, split_dir: str | os.PathLike[str]) -> None:
        self.split_dir = Path(split_dir)
        self.image_dir = self.split_dir / "image"
        self.annos_dir = self.split_dir / "annos"
        if not self.image_dir.is_dir() and not self.annos_dir.is_dir():
            raise DatasetError("expected a split folder with image/ (and annos/)", path=str(self.split_dir))

    @property
    def has_annotations(self) -> bool:
        return self.annos_dir.is_dir()

    @cached_property
    def _images(self) -> dict[int, Path]:
        out: dict[int, Path] = {}
        if self.image_dir.is_dir():
            with os.scandir(self.image_dir) as it:
                for e in it:
                    stem, ext = os.path.splitext(e.name)
                    if ext.lower() in IMAGE_EXTENSIONS and stem.isdigit():
                        out.setdefault(int(stem), Path(e.path))
        return out

    @cached_property
    def _annos(self) -> dict[int, Path]:
        out: dict[int, Path] = {}
        if self.annos_dir.is_dir():
            with os.scandir(self.annos_dir) as it:
                for e in it:
                    stem, ext = os.path.splitext(e.name)
                    if ext == ".json" and stem.isdigit():
                        out[int(stem)] = Path(e.path)
        return out

    def image_ids(self) -> list[int]:
        """Ids of the split's images, ascending (annotated ones when the split has annotations)."""
        return sorted(self._annos if self.has_annotations else self._images)

    def image_path(self, image_id: int) -> Path:
        guess = self.image_dir / f"{int(image_id):06d}.jpg"
        if guess.is_file():
            return guess
        p = self._images.get(int(image_id))
        if p is None:
            raise DatasetError(f"no image with id {image_id} (looked for {guess.name})", path=str(self.image_dir))
        return p

    def annotation_path(self, image_id: int) -> Path | None:
        if not self.has_annotations:
            return None
        guess = self.annos_dir / f"{int(image_id):06d}.json"
        if guess.is_file():
            return guess
        p = self._annos.get(int(image_id))
        if p is None:
            raise DatasetError(f"no annotation with id {image_id} (looked for {guess.name})", path=str(self.annos_dir))
        return p

    def annotation(self, image_id: int) -> ImageAnnotation | None:
        """The image's annotation (strict read), or None when the split has no ``annos/``."""
        p = self.annotation_path(image_id)
        return read_annotation(p) if p is not None else None

    def has_image(self, image_id: int) -> bool:
        return (self.image_dir / f"{int(image_id):06d}.jpg").is_file() or int(image_id) in self._images


def load_results(path: str | os.PathLike[str]) -> list[Any]:
    """A results file as a list (official result files are flat JSON lists)."""
    p = os.fspath(path)
    try:
        data = orjson.loads(Path(p).read_bytes())
    except FileNotFoundError:
        raise ResultsError("results file not found", path=p) from None
    except orjson.JSONDecodeError as e:
        raise ResultsError(f"invalid JSON: {e}", path=p) from None
    if not isinstance(data, list):
        raise ResultsError(f"expected a JSON list of result entries, got {type(data).__name__}", path=p)
    return data


def iter_result_blocks(path: str | os.PathLike[str]) -> Iterator[list[Any]]:
    """A results file in blocks of entries: streamed by the scorers' block reader when it is installed (a
    landmark results file is mostly floats and can outgrow memory as Python objects), else read whole."""
    try:
        from ..evaluation._results import iter_result_chunks
    except ImportError:
        yield load_results(path)
        return
    p = os.fspath(path)
    if not Path(p).is_file():
        raise ResultsError("results file not found", path=p)
    for _, block in iter_result_chunks(p):
        yield block


def is_retrieval_results(entries: list[Any]) -> bool:
    """Retrieval results (``query_image_id``...) rather than detection / landmark / segmentation entries."""
    return bool(entries) and isinstance(entries[0], dict) and "query_image_id" in entries[0]
