"""The authoritative field-by-field check of one native annotation file.

Every rule of a DeepFashion2 annotation file is written once, here. The fast split scanner accepts only files
that it can prove clean with bulk checks and sends everything else through :func:`check_annotation`, so both
paths give the same records and the same issues.

Issues are errors (the file or item cannot be used: lenient readers skip it) or warnings (the item is kept;
real released files contain these, e.g. degenerate polygons).
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from ..errors import Issue
from ..layout import ATTRIBUTES, CATEGORIES, NUM_CATEGORIES

__all__ = ["ITEM_FIELDS", "CleanImage", "CleanItem", "check_annotation", "decode_json"]

ITEM_FIELDS = (
    "category_name",
    "category_id",
    "style",
    "bounding_box",
    "landmarks",
    "segmentation",
    *ATTRIBUTES,
)
_INT_LIMIT = 2**63  # integer fields are stored as int64
_NAME_BY_ID = {c.id: c.name for c in CATEGORIES}
_K_BY_ID = {c.id: c.num_landmarks for c in CATEGORIES}


class CleanItem(NamedTuple):
    key: str
    category_id: int
    style: int
    bbox: list[float]
    landmarks: list[float]  # flat, 3K
    polygons: list[list[float]]  # flat per polygon
    attrs: tuple[int, int, int, int]


class CleanImage(NamedTuple):
    source: str
    pair_id: int
    items: list[CleanItem]


class _Dup:
    """Marker for a JSON object that had a duplicate key (found by the pairs hook)."""


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dups: list[str] = []
    for k, v in pairs:
        if k in out:
            dups.append(k)
        out[k] = v
    if dups:
        out["\x00duplicates"] = dups
    return out


def _const(name: str) -> float:
    return float(name.replace("Infinity", "inf")) if "Infinity" in name else float("nan")


def decode_json(raw: bytes, path: str, issues: list[Issue]) -> tuple[bool, Any]:
    """Bytes -> ``(ok, JSON value)`` with precise problems (empty, not UTF-8, syntax with line/column).

    ``ok`` is False (and an error is added) when the file cannot be parsed at all. NaN/Infinity literals parse
    to floats so that the field they sit in can be named later. Duplicate keys are recorded in the object
    under a private key for :func:`check_annotation` to report.
    """
    if not raw.strip():
        issues.append(Issue("error", "file-empty", "expected a JSON object, got an empty file", path))
        return False, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        issues.append(Issue("error", "not-utf8", f"expected UTF-8 text, got byte 0x{raw[e.start]:02x} at offset {e.start}", path))
        return False, None
    try:
        return True, json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_const)
    except json.JSONDecodeError as e:
        issues.append(Issue("error", "json-invalid", f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", path))
        return False, None
    except RecursionError:
        issues.append(Issue("error", "json-invalid", "invalid JSON: nested too deeply", path))
        return False, None


def _is_int(v: Any) -> bool:
    return type(v) is int


def _is_num(v: Any) -> bool:
    """A finite JSON number that fits a float64 (bools, NaN, infinities and 400-digit ints are not)."""
    if type(v) is float:
        return math.isfinite(v)
    return type(v) is int and -1e300 < v < 1e300


def _desc(v: Any) -> str:
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if v is None:
        return "null"
    if isinstance(v, str):
        s = v if len(v) <= 20 else v[:17] + "..."
        return f"string {s!r}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v).replace("inf", "Infinity")
    return repr(v)


def check_annotation(obj: Any, *, path: str, issues: list[Issue]) -> CleanImage | None:
    """Check a parsed annotation object; append issues; return the usable part (``None``: file unusable)."""
    n_before = sum(1 for i in issues if i.severity == "error")

    def err(code: str, msg: str, item: str | None = None, field: str | None = None) -> None:
        issues.append(Issue("error", code, msg, path, item, field))

    def warn(code: str, msg: str, item: str | None = None, field: str | None = None) -> None:
        issues.append(Issue("warning", code, msg, path, item, field))

    if not isinstance(obj, dict):
        err("not-object", f"expected a JSON object with source, pair_id and items, got {_desc(obj)}")
        return None
    for d in obj.get("\x00duplicates", ()):
        err("duplicate-key", "duplicate key in the file: only one of them would be read", item=d)
    source = obj.get("source")
    if "source" not in obj:
        err("missing-field", "expected 'shop' or 'user', the field is missing", field="source")
    elif source not in ("shop", "user"):
        err("bad-source", f"expected 'shop' or 'user', got {_desc(source)}", field="source")
    pair_id = obj.get("pair_id")
    if "pair_id" not in obj:
        err("missing-field", "expected an integer, the field is missing", field="pair_id")
    elif not _is_int(pair_id):
        err("wrong-type", f"expected an integer, got {_desc(pair_id)}", field="pair_id")
    elif not 0 <= pair_id < _INT_LIMIT:
        err("out-of-range", f"expected an integer in 0..2^63-1, got {pair_id}", field="pair_id")
    file_ok = sum(1 for i in issues if i.severity == "error") == n_before
    items: list[CleanItem] = []
    n_keys = 0
    for key, it in obj.items():
        if key in ("source", "pair_id", "\x00duplicates"):
            continue
        n_keys += 1
        if not isinstance(it, dict):
            err("unknown-field", f"expected an item object (keys item1, item2, ...), got {_desc(it)}", item=key)
            continue
        if not (key.startswith("item") and key[4:].isdigit()):
            warn("unusual-item-key", "item key is not of the form itemN; read as an item anyway", item=key)
        clean = _check_item(key, it, err, warn)
        if clean is not None:
            items.append(clean)
    if n_keys == 0:
        warn("no-items", "the image has no items")
    if not file_ok:
        return None
    return CleanImage(source, pair_id, items)  # type: ignore[arg-type]


def _check_item(key: str, it: dict[str, Any], err: Any, warn: Any) -> CleanItem | None:
    ok = True
    for d in it.get("\x00duplicates", ()):
        err("duplicate-key", "duplicate field in the item: only one of them would be read", item=key, field=d)
        ok = False
    for f in ITEM_FIELDS:
        if f not in it:
            err("missing-field", "the field is missing", item=key, field=f)
            ok = False
    for f in it:
        if f not in ITEM_FIELDS and f != "\x00duplicates":
            warn("unknown-field", "unexpected field, ignored", item=key, field=f)
    if not ok:
        return None
    # category
    cid = it["category_id"]
    if not _is_int(cid):
        err("wrong-type", f"expected an integer 1..{NUM_CATEGORIES}, got {_desc(cid)}", key, "category_id")
        return None
    if not 1 <= cid <= NUM_CATEGORIES:
        err("bad-category", f"expected a category id 1..{NUM_CATEGORIES}, got {cid}", key, "category_id")
        return None
    name = it["category_name"]
    if name != _NAME_BY_ID[cid]:
        err(
            "category-mismatch",
            f"category_id {cid} is {_NAME_BY_ID[cid]!r}, but category_name is {_desc(name)}",
            key,
            "category_name",
        )
        ok = False
    style = it["style"]
    if not _is_int(style):
        err("wrong-type", f"expected an integer >= 0, got {_desc(style)}", key, "style")
        ok = False
    elif not 0 <= style < _INT_LIMIT:
        err("out-of-range", f"expected an integer in 0..2^63-1, got {style}", key, "style")
        ok = False
    attrs = []
    for a in ATTRIBUTES:
        v = it[a]
        if not _is_int(v):
            err("wrong-type", f"expected 1, 2 or 3, got {_desc(v)}", key, a)
            ok = False
        elif not 1 <= v <= 3:
            err("bad-attribute", f"expected 1, 2 or 3, got {v}", key, a)
            ok = False
        attrs.append(v)
    # box
    bb = it["bounding_box"]
    if not isinstance(bb, list) or len(bb) != 4:
        err("bad-box", f"expected [x1, y1, x2, y2], got {_desc(bb)}", key, "bounding_box")
        ok = False
    else:
        bad = [i for i, v in enumerate(bb) if not _is_num(v)]
        if bad:
            err("wrong-type", f"expected a finite number, got {_desc(bb[bad[0]])}", key, f"bounding_box[{bad[0]}]")
            ok = False
        elif not (bb[2] > bb[0] and bb[3] > bb[1]):
            err(
                "empty-box",
                f"expected x1 < x2 and y1 < y2, got {bb} (an empty or inverted box)",
                key,
                "bounding_box",
            )
            ok = False
    # landmarks
    lm = it["landmarks"]
    k = _K_BY_ID[cid]
    if not isinstance(lm, list):
        err("wrong-type", f"expected a list of {3 * k} numbers, got {_desc(lm)}", key, "landmarks")
        ok = False
    elif len(lm) != 3 * k:
        err(
            "landmark-count",
            f"expected {3 * k} numbers ({k} landmarks x [x, y, v]) for {_NAME_BY_ID[cid]!r}, got {len(lm)}",
            key,
            "landmarks",
        )
        ok = False
    else:
        bad = [i for i, v in enumerate(lm) if not _is_num(v)]
        if bad:
            err("wrong-type", f"expected a finite number, got {_desc(lm[bad[0]])}", key, f"landmarks[{bad[0]}]")
            ok = False
        else:
            for j in range(k):
                v = lm[3 * j + 2]
                if v not in (0, 1, 2):
                    err(
                        "bad-visibility",
                        f"expected visibility 0, 1 or 2, got {v!r} (landmark {j + 1})",
                        key,
                        f"landmarks[{3 * j + 2}]",
                    )
                    ok = False
                    break
            else:
                for j in range(k):
                    if lm[3 * j + 2] == 0 and (lm[3 * j] != 0 or lm[3 * j + 1] != 0):
                        warn(
                            "unlabeled-with-coords",
                            f"landmark {j + 1} has v = 0 but coordinates ({lm[3 * j]}, {lm[3 * j + 1]})",
                            key,
                            f"landmarks[{3 * j}]",
                        )
                        break
    # segmentation
    seg = it["segmentation"]
    polys: list[list[float]] = []
    if not isinstance(seg, list):
        err("wrong-type", f"expected a list of polygons, got {_desc(seg)}", key, "segmentation")
        ok = False
    else:
        if not seg:
            warn("no-polygon", "the item has no polygon (no mask)", key, "segmentation")
        for p_i, poly in enumerate(seg):
            fld = f"segmentation[{p_i}]"
            if not isinstance(poly, list):
                err("wrong-type", f"expected a flat list [x1, y1, ..., xn, yn], got {_desc(poly)}", key, fld)
                ok = False
                continue
            bad = [i for i, v in enumerate(poly) if not _is_num(v)]
            if bad:
                err("wrong-type", f"expected a finite number, got {_desc(poly[bad[0]])}", key, f"{fld}[{bad[0]}]")
                ok = False
                continue
            if len(poly) % 2:
                err("odd-polygon", f"expected x, y pairs, got an odd count of {len(poly)} numbers", key, fld)
                ok = False
                continue
            if len(poly) < 6:
                warn(
                    "degenerate-polygon",
                    f"expected at least 3 points, got {len(poly) // 2} (converters repair or drop it)",
                    key,
                    fld,
                )
            polys.append(poly)
    if not ok:
        return None
    return CleanItem(key, cid, style, bb, lm, polys, tuple(attrs))  # type: ignore[arg-type]
