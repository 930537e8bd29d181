"""One error hierarchy for df2kit, and the :class:`Issue` record that lenient readers collect.

Every problem with user input is a :class:`DF2Error` whose message names where it is: the file, the item
(``item2``, an annotation id, a result index) and the field (``landmarks[13]``), then what was expected and
what was found. The command line prints ``str(error)`` as one line and exits with code 1.

>>> e = AnnotationError("expected 3 values per landmark, got 74 numbers", path="annos/000001.json",
...                     item="item1", field="landmarks")
>>> str(e)
'annos/000001.json: item1.landmarks: expected 3 values per landmark, got 74 numbers'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AnnotationError",
    "ConfigError",
    "DF2Error",
    "DatasetError",
    "FormatError",
    "ImageError",
    "Issue",
    "ResultsError",
    "Severity",
]


def _where(path: str | os.PathLike[str] | None, item: str | None, field: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(os.fspath(path))
    loc = ".".join(p for p in (item, field) if p)
    if loc:
        parts.append(loc)
    return ": ".join(parts)


class DF2Error(Exception):
    """Base class of every error df2kit raises about its input.

    Attributes ``path``, ``item`` and ``field`` say where the problem is (each may be ``None``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        item: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.item = item
        self.field = field
        where = _where(path, item, field)
        super().__init__(f"{where}: {message}" if where else message)


class AnnotationError(DF2Error, ValueError):
    """A native DeepFashion2 annotation file (or record built from one) is malformed."""


class DatasetError(DF2Error, FileNotFoundError):
    """A dataset root or split does not have the expected layout (missing folders, missing files)."""


class ImageError(DF2Error, ValueError):
    """An image file cannot be read (empty, truncated, unknown format)."""


class FormatError(DF2Error, ValueError):
    """A foreign-format file (COCO JSON, YOLO labels, retrieval ground truth) is malformed."""


class ResultsError(DF2Error, ValueError):
    """A results file (detections, landmarks, masks, retrieval lists) is malformed or does not fit the GT."""


class ConfigError(DF2Error, ValueError):
    """A configuration file or option is invalid (unknown key, wrong type)."""


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem found by a lenient reader or a validator.

    ``code`` is a short stable identifier (``bad-landmark-count``) used to count problems by kind.
    """

    severity: Severity
    code: str
    message: str
    path: str | None = None
    item: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = _where(self.path, self.item, self.field)
        return f"{self.severity}: {where}: {self.message}" if where else f"{self.severity}: {self.message}"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "item": self.item,
            "field": self.field,
        }

    def to_error(self, cls: type[DF2Error] = AnnotationError) -> DF2Error:
        """The exception a strict reader raises for this issue."""
        return cls(self.message, path=self.path, item=self.item, field=self.field)
