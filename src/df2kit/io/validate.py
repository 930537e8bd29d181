"""Check a DeepFashion2 split: every file, every field, images against annotations, pairs.

>>> from df2kit.io import validate_split
>>> report = validate_split("ROOT", "validation")    # doctest: +SKIP
>>> report.ok, report.counts()                        # doctest: +SKIP
(True, {})
>>> print(report.format())                           # doctest: +SKIP

What is checked (errors make ``ok`` false; warnings are reported and counted):

* every annotation file parses (UTF-8 JSON object) and every field has the right type and range
  (``df2kit.io._check`` holds the rules), landmark counts match the category, category_name agrees with
  category_id, boxes are non-empty;
* every annotation has its image and every image its annotation (the test split has no annotations);
  image headers are readable and the format matches the extension (warning);
* boxes lie inside the image (error); labeled landmarks and polygon points outside the image (warning);
* degenerate polygons (< 3 points) and items without any polygon (warning: real files have them);
* pairs: a style > 0 identity (pair_id, style) with items on only one side (shop or user) (warning).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._table import format_table
from ..errors import Issue
from .images import IMAGE_EXTENSIONS, ImageInfo, extension_format
from .scan import SplitTable, read_image_sizes, resolve_split, scan_split

__all__ = ["ValidationReport", "validate_split"]


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_split` found. ``ok`` is true when there is no error (warnings allowed)."""

    split_dir: str
    num_annotation_files: int
    num_images: int
    num_items: int
    issues: tuple[Issue, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def counts(self) -> dict[str, int]:
        """Problem count per kind (issue code), most frequent first."""
        return dict(Counter(i.code for i in self.issues).most_common())

    def to_dict(self, max_examples: int | None = 5) -> dict[str, Any]:
        """JSON-ready summary: counts per kind and the first examples of each (all with ``None``)."""
        by_code: dict[str, list[Issue]] = {}
        for i in self.issues:
            by_code.setdefault(i.code, []).append(i)
        kinds = []
        for code, lst in sorted(by_code.items(), key=lambda kv: (kv[1][0].severity != "error", -len(kv[1]))):
            ex = lst if max_examples is None else lst[:max_examples]
            kinds.append(
                {"code": code, "severity": lst[0].severity, "count": len(lst), "examples": [i.to_dict() for i in ex]}
            )
        return {
            "split_dir": self.split_dir,
            "ok": self.ok,
            "annotation_files": self.num_annotation_files,
            "images": self.num_images,
            "items": self.num_items,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "kinds": kinds,
        }

    def format(self, max_examples: int = 3) -> str:
        """Human summary: a table of problem kinds, then the first examples of each."""
        d = self.to_dict(max_examples)
        head = (
            f"{self.split_dir}: {d['annotation_files']:,} annotation files, {d['images']:,} images, "
            f"{d['items']:,} items: {d['errors']:,} errors, {d['warnings']:,} warnings"
        )
        if not d["kinds"]:
            return head + "\nno problems found"
        rows = [(k["severity"], k["code"], k["count"]) for k in d["kinds"]]
        out = [head, "", format_table(["severity", "problem", "count"], rows)]
        out.append("")
        out.append("first examples:")
        for k in d["kinds"]:
            for e in k["examples"]:
                out.append("  " + str(Issue(**e)))
        return "\n".join(out)


def _list_images(image_dir: Path) -> tuple[dict[str, str], list[Issue]]:
    """stem -> file name for the image files of a folder (+ issues for odd entries)."""
    found: dict[str, str] = {}
    issues: list[Issue] = []
    with os.scandir(image_dir) as it:
        for e in it:
            stem, ext = os.path.splitext(e.name)
            if ext.lower() not in IMAGE_EXTENSIONS:
                if not e.name.startswith("."):
                    issues.append(Issue("warning", "unexpected-file", "not an image file; ignored", str(image_dir / e.name)))
                continue
            if stem in found:
                issues.append(
                    Issue("error", "duplicate-image", f"two images with stem {stem}: {found[stem]} and {e.name}", str(image_dir / e.name))
                )
                continue
            found[stem] = e.name
    return found, issues


def validate_split(
    root: str | os.PathLike[str],
    split: str | None = None,
    *,
    check_images: bool = True,
    workers: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
) -> ValidationReport:
    """Check one split folder (see the module docstring for the rules).

    ``check_images=False`` skips reading image headers (then boxes are not checked against image sizes).
    """
    split_dir = resolve_split(root, split)
    anno_dir, image_dir = split_dir / "annos", split_dir / "image"
    issues: list[Issue] = []
    table: SplitTable | None = None
    if anno_dir.is_dir():
        table = scan_split(split_dir, None, strict=False, workers=workers, cache=cache, progress=progress, _log_skips=False)
        issues.extend(table.issues)
    elif split_dir.name != "test":
        issues.append(
            Issue("error", "missing-folder", "no annos/ folder (only the test split comes without annotations)", str(anno_dir))
        )
    images: dict[str, str] = {}
    if image_dir.is_dir():
        images, img_issues = _list_images(image_dir)
        issues.extend(img_issues)
    else:
        issues.append(Issue("error", "missing-folder", "no image/ folder", str(image_dir)))
    annotated: set[str] = set()
    if table is not None:
        annotated = set(table.stems.tolist())
        if image_dir.is_dir():
            for stem in sorted(annotated - images.keys()):
                issues.append(Issue("error", "image-missing", f"annotation has no image {stem}.jpg", str(anno_dir / f"{stem}.json")))
            failed = {os.path.basename(i.path)[:-5] for i in table.issues if i.path and i.path.endswith(".json")}
            for stem in sorted(images.keys() - annotated - failed):
                issues.append(Issue("error", "annotation-missing", f"image has no annotation {stem}.json", str(image_dir / images[stem])))
    sizes: dict[str, ImageInfo] = {}
    if check_images and images:
        stems = sorted(images)
        paths = [str(image_dir / images[s]) for s in stems]
        for stem, path, res in zip(stems, paths, read_image_sizes(paths, workers=workers, progress=progress)):
            if isinstance(res, Exception):
                msg = getattr(res, "message", str(res))
                issues.append(Issue("error", "image-unreadable", msg, path))
                continue
            sizes[stem] = res
            claimed = extension_format(path)
            if claimed is not None and claimed != res.format:
                issues.append(
                    Issue("warning", "image-format-mismatch", f"file name says {claimed}, the bytes are {res.format}", path)
                )
    if table is not None:
        if sizes:
            issues.extend(_check_geometry(table, sizes))
        issues.extend(_check_pairs(table))
    n_items = table.num_items if table is not None else 0
    n_files = table.num_files if table is not None else 0
    return ValidationReport(str(split_dir), n_files, len(images), n_items, tuple(issues))


def _check_geometry(table: SplitTable, sizes: dict[str, ImageInfo]) -> list[Issue]:
    out: list[Issue] = []
    n = len(table)
    w = np.full(n, np.nan)
    h = np.full(n, np.nan)
    for r, stem in enumerate(table.stems.tolist()):
        info = sizes.get(stem)
        if info is not None:
            w[r], h[r] = info.width, info.height
    iw, ih = w[table.item_image], h[table.item_image]
    b = table.bbox_xyxy
    outside = (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 2] > iw) | (b[:, 3] > ih)
    for j in np.flatnonzero(outside):
        r = int(table.item_image[j])
        out.append(
            Issue(
                "error",
                "box-outside-image",
                f"box {b[j].tolist()} is not inside the {int(w[r])}x{int(h[r])} image",
                str(table.annotation_path(r)),
                str(table.item_key[j]),
                "bounding_box",
            )
        )
    lm = table.landmarks
    ks = np.diff(table.landmark_start)
    lm_item = np.repeat(np.arange(table.num_items), ks)
    lw, lh = iw[lm_item], ih[lm_item]
    bad = (lm[:, 2] > 0) & ((lm[:, 0] < 0) | (lm[:, 1] < 0) | (lm[:, 0] > lw) | (lm[:, 1] > lh))
    for row in np.flatnonzero(bad):
        j = int(lm_item[row])
        local = int(row - table.landmark_start[j])
        r = int(table.item_image[j])
        out.append(
            Issue(
                "warning",
                "landmark-outside-image",
                f"labeled landmark {local + 1} at ({lm[row, 0]:g}, {lm[row, 1]:g}) is outside the {int(w[r])}x{int(h[r])} image",
                str(table.annotation_path(r)),
                str(table.item_key[j]),
                f"landmarks[{3 * local}]",
            )
        )
    if len(table.points):
        pt_poly = np.repeat(np.arange(len(table.point_count)), table.point_count)
        poly_item = np.repeat(np.arange(table.num_items), table.polygon_count)
        pt_item = poly_item[pt_poly]
        p = table.points
        badp = (p[:, 0] < 0) | (p[:, 1] < 0) | (p[:, 0] > iw[pt_item]) | (p[:, 1] > ih[pt_item])
        for poly in np.unique(pt_poly[badp]):
            j = int(poly_item[poly])
            r = int(table.item_image[j])
            local = int(poly - table.polygon_start[j])
            out.append(
                Issue(
                    "warning",
                    "polygon-outside-image",
                    f"polygon has points outside the {int(w[r])}x{int(h[r])} image",
                    str(table.annotation_path(r)),
                    str(table.item_key[j]),
                    f"segmentation[{local}]",
                )
            )
    return out


def _check_pairs(table: SplitTable) -> list[Issue]:
    """Style > 0 identities seen on only one side (shop or user) of their pair_id."""
    out: list[Issue] = []
    keys, group, shop, user = table.style_identities()
    lonely = np.flatnonzero((shop > 0) != (user > 0))
    if not len(lonely):
        return out
    styled = np.flatnonzero(group >= 0)
    first = np.full(len(keys), -1)
    first[group[styled][::-1]] = styled[::-1]
    for g in lonely:
        j = int(first[g])
        r = int(table.item_image[j])
        side, other = ("shop", "user") if shop[g] else ("user", "shop")
        out.append(
            Issue(
                "warning",
                "unpaired-style",
                f"pair_id {int(keys[g, 0])} style {int(keys[g, 1])} has {side} items but no {other} item",
                str(table.annotation_path(r)),
                str(table.item_key[j]),
                "style",
            )
        )
    return out
