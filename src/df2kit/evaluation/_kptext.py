"""Read the 882-number landmark lists of a JSON text without making 882 Python numbers per item.

Landmark results and the official ground truth carry 294 x [x, y, v] per item, of which only the item's
category slice (at most 39 landmarks) can be non-zero. Parsing them as JSON makes hundreds of millions of
Python floats. Here the lists are cut out of the text first (the rest is parsed with orjson, much smaller),
the zeros outside each item's category slice are checked as text (exactly "0," or "0.0," repeated), and only
the slices are parsed as numbers. Anything unusual (other number forms, spaces, a wrong count) makes the
caller parse that text the ordinary way, so the result is always what a JSON parser gives.
"""

from __future__ import annotations

import re

import numpy as np
import orjson

from ..layout import NUM_LANDMARKS, NUM_LANDMARKS_BY_ID, OFFSET_BY_ID

__all__ = ["category_slices", "keypoints_from_lists", "split_keypoint_lists"]

_KEY = b'"keypoints"'
_VALUE = re.compile(rb"\s*:\s*\[")
_N = 3 * NUM_LANDMARKS
_ZEROS: dict[tuple[int, bool, bool], bytes] = {}


def split_keypoint_lists(raw: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """``raw`` with every flat numeric ``"keypoints": [...]`` list emptied, and where each list was in ``raw``
    (``(index of "[", index after "]")``, in text order). Lists holding strings, objects or nested lists are
    left as they are and not reported."""
    pieces = []
    spans = []
    pos = 0  # text before pos is copied
    at = 0  # where to look for the next key
    find = raw.find
    while True:
        i = find(_KEY, at)
        if i < 0:
            break
        m = _VALUE.match(raw, i + len(_KEY))
        if m is None:
            at = i + len(_KEY)
            continue
        j = m.end() - 1
        k = find(b"]", j)
        if k < 0:
            break
        k += 1
        if find(b'"', j, k) >= 0 or find(b"{", j, k) >= 0 or find(b"[", j + 1, k) >= 0:
            at = j + 1
            continue
        pieces.append(raw[pos:j])
        pieces.append(b"[]")
        spans.append((j, k))
        pos = at = k
    pieces.append(raw[pos:])
    return b"".join(pieces), spans


def _zeros(n: int, before: bool, long: bool) -> bytes:
    key = (n, before, long)
    z = _ZEROS.get(key)
    if z is None:
        tok = b"0.0" if long else b"0"
        z = (tok + b",") * n if before else (b"," + tok) * n
        if len(_ZEROS) < 4096:
            _ZEROS[key] = z
    return z


def keypoints_from_lists(
    raw: bytes, spans: list[tuple[int, int]], category_ids: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The lists at ``spans`` of ``raw`` as a ``(n, 294, 3)`` array, for items of the given categories.

    Returns ``(keypoints, ok)``: rows where ``ok`` is False (an empty list, other number forms, a wrong count,
    a non-zero value outside the category's slice) are zeros and must be parsed the ordinary way.
    """
    n = len(spans)
    out = np.zeros((n, _N), dtype=np.float64)
    rows, flat, a, width = category_slices(raw, spans, category_ids)
    ok = np.zeros(n, dtype=bool)
    if len(rows):
        owner = np.repeat(rows, width)
        col = np.repeat(a, width) + (np.arange(len(flat)) - np.repeat(np.cumsum(width) - width, width))
        out[owner, col] = flat
        ok[rows] = True
    return out.reshape(n, NUM_LANDMARKS, 3), ok


def category_slices(
    raw: bytes, spans: list[tuple[int, int]], category_ids: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The category slices of the lists at ``spans``: ``(rows, values, first column, width)``.

    ``rows`` are the lists read (the others need the ordinary parser); list ``rows[i]`` holds ``width[i]``
    numbers of ``values`` (back to back) at columns ``first[i]:first[i] + width[i]`` of its 882, the rest
    being zeros. Lists are handled a few thousand at a time (bounded memory for whole files).
    """
    parts = []
    step = 2048
    for i0 in range(0, len(spans), step):
        r, v, a, w = _slices(raw, spans[i0 : i0 + step], category_ids[i0 : i0 + step])
        parts.append((r + i0, v, a, w))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty, empty
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))  # type: ignore[return-value]


def _slices(
    raw: bytes, spans: list[tuple[int, int]], category_ids: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(spans)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return empty, np.zeros(0), empty, empty
    sp = np.asarray(spans, dtype=np.int64)
    lo, hi = int(sp[0, 0]), int(sp[-1, 1])
    c = np.frombuffer(raw, dtype=np.uint8, count=hi - lo, offset=lo)
    commas = np.flatnonzero(c == 44) + lo
    J, E = sp[:, 0], sp[:, 1]
    fi = np.searchsorted(commas, J)
    li = np.searchsorted(commas, E)
    cats = np.asarray(category_ids, dtype=np.int64)
    known = (cats >= 1) & (cats < len(OFFSET_BY_ID))
    cats = np.where(known, cats, 1)
    a = 3 * OFFSET_BY_ID[cats]
    b = a + 3 * NUM_LANDMARKS_BY_ID[cats]
    good = known & (li - fi == _N - 1)
    fi_c = np.where(good, fi, 0)
    last = max(len(commas) - 1, 0)
    start_a = np.where(a == 0, J + 1, commas[np.clip(fi_c + a - 1, 0, last)] + 1)
    end_b = np.where(b == _N, E - 1, commas[np.clip(fi_c + b - 1, 0, last)])
    texts = []
    rows = []
    for r in np.flatnonzero(good).tolist():
        j, e, sa, eb = int(J[r]), int(E[r]), int(start_a[r]), int(end_b[r])
        na, nb = int(a[r]), _N - int(b[r])
        pre = raw[j + 1 : sa]
        if pre != _zeros(na, True, False) and pre != _zeros(na, True, True):
            continue
        post = raw[eb : e - 1]
        if post != _zeros(nb, False, False) and post != _zeros(nb, False, True):
            continue
        texts.append(raw[sa:eb])
        rows.append(r)
    if not rows:
        return empty, np.zeros(0), empty, empty
    try:
        flat = np.array(orjson.loads(b"[" + b",".join(texts) + b"]"), dtype=np.float64)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return empty, np.zeros(0), empty, empty
    rows_a = np.asarray(rows, dtype=np.int64)
    width = b[rows_a] - a[rows_a]
    if flat.ndim != 1 or len(flat) != int(width.sum()):
        return empty, np.zeros(0), empty, empty
    return rows_a, flat, a[rows_a], width
