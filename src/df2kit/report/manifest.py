"""``EVAL_DIR/manifest.json``: where the report finds the data behind the scores.

An evaluation folder holds ``<task>.json`` for each scored task (``df2kit evaluate --task T ... --out
EVAL_DIR`` writes them) and, optionally, ``manifest.json``::

    {
      "title": "df2kit demo",                       # report title
      "gt": "../data/validation",                   # the ground-truth split folder (annos/, image/)
      "images": "../data/validation",               # where the images are (default: gt)
      "results": "../predictions/results.json",     # detection / landmark / segmentation results
      "retrieval_results": "../predictions/retrieval_results.json",
      "train": "../data/train",                     # a second split for the dataset statistics
      "run_dir": "../run",                          # a training run (metrics.jsonl -> loss curves)
      "notes": ["trained 3 epochs on 2 CPU cores"]  # lines shown under the title
    }

Every key is optional; relative paths are relative to EVAL_DIR. Without ``gt`` the report shows the scores
only; without ``results`` / ``retrieval_results`` it has no pictures of predictions. ``df2kit report``'s
options (``--gt``, ``--results``, ...) override the manifest.

>>> m = Manifest(title="demo")
>>> m.images_dir is None
True
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from .._atomic import atomic_write_bytes
from ..errors import FormatError

__all__ = ["MANIFEST_FILE", "Manifest", "read_manifest", "write_manifest"]

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
_PATH_KEYS = ("gt", "images", "results", "retrieval_results", "train", "run_dir")


@dataclass(frozen=True)
class Manifest:
    title: str | None = None
    gt: Path | None = None
    images: Path | None = None
    results: Path | None = None
    retrieval_results: Path | None = None
    train: Path | None = None
    run_dir: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def images_dir(self) -> Path | None:
        return self.images or self.gt

    def with_overrides(self, **kw: Any) -> Manifest:
        """A copy with the given non-None values replaced (paths as given, not relative to EVAL_DIR)."""
        vals = {k: (Path(v) if k in _PATH_KEYS else v) for k, v in kw.items() if v is not None}
        return replace(self, **vals)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in d.items() if v not in (None, ())}


def read_manifest(eval_dir: str | os.PathLike[str]) -> Manifest:
    """``EVAL_DIR/manifest.json`` (an empty Manifest when there is none); FormatError naming the field if bad."""
    d = Path(eval_dir)
    p = d / MANIFEST_FILE
    if not p.is_file():
        return Manifest()
    try:
        data = orjson.loads(p.read_bytes())
    except orjson.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e}", path=str(p)) from None
    if not isinstance(data, dict):
        raise FormatError(f"expected a JSON object, got {type(data).__name__}", path=str(p))
    vals: dict[str, Any] = {}
    for k, v in data.items():
        if k in _PATH_KEYS:
            if not isinstance(v, str) or not v:
                raise FormatError(f"expected a path (a non-empty string), got {v!r}", path=str(p), field=k)
            vals[k] = Path(os.path.normpath(v if os.path.isabs(v) else d / v))
        elif k == "title":
            if not isinstance(v, str):
                raise FormatError(f"expected a string, got {v!r}", path=str(p), field=k)
            vals[k] = v
        elif k == "notes":
            notes = [v] if isinstance(v, str) else v
            if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
                raise FormatError("expected a string or a list of strings", path=str(p), field=k)
            vals[k] = tuple(notes)
        else:
            log.info("%s: ignoring unknown key %r", p, k)
    return Manifest(**vals)


def write_manifest(eval_dir: str | os.PathLike[str], manifest: Manifest) -> Path:
    """Write ``EVAL_DIR/manifest.json`` (paths inside EVAL_DIR's tree are written relative to it)."""
    d = Path(eval_dir)
    out: dict[str, Any] = {}
    for k, v in manifest.to_dict().items():
        if k in _PATH_KEYS:
            out[k] = os.path.relpath(Path(v).resolve(), d.resolve())
        else:
            out[k] = v
    p = d / MANIFEST_FILE
    atomic_write_bytes(p, orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    return p
