"""Run-length encoded masks, bit-exact with pycocotools, in pure numpy.

COCO stores a mask as run lengths over the pixels in column-major order (down the first column, then the
next): ``counts`` alternates background and foreground runs, starting with background (a mask whose first
pixel is set starts with a 0 run). The *compressed* form packs the counts into a string: each count (from
the fourth on, as the difference to the count two places before) is written 5 bits per character, low
bits first, characters ``'0'`` (48) to ``'o'`` (111), bit 0x20 meaning "more characters follow", like a
signed LEB128 with 6-bit digits.

Polygons are rasterized with pycocotools' own rule (``rleFrPoly``): the outline is upsampled 5x, walked
edge by edge, and a pixel of column ``x`` is inside from the first row whose centre lies below the point
where the outline crosses the column's centre line. Pixels are inside when an odd number of outline
crossings lie above them in their column; the polygons of one item are united. The result is the same
run-length encoding, run for run, as ``pycocotools.mask.merge(pycocotools.mask.frPyObjects(polys, h, w))``
(pinned by differential tests), but computed for many polygons at once with array operations, so the
mask ground truth of a whole split is built in seconds. Degenerate polygons should be repaired first
(:func:`df2kit.structures.polygons.repair_polygons`); here a polygon with fewer than 3 points is
rasterized as it is (it usually covers nothing), never read as a box as pycocotools does.

>>> rle = polygons_to_rle([[1, 1, 6, 1, 6, 4, 1, 4]], height=6, width=8)
>>> rle
{'size': [6, 8], 'counts': '7330000000;'}
>>> rle_area(rle), rle_to_bbox(rle).tolist()
(15, [1.0, 1.0, 5.0, 3.0])
>>> m = decode_rle(rle)
>>> m.shape, int(m.sum()), encode_mask(m) == rle
((6, 8), 15, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MaskSet",
    "RLEError",
    "counts_to_string",
    "counts_to_strings",
    "decode_rle",
    "encode_mask",
    "pair_intersections",
    "polygons_to_rle",
    "polygons_to_rles",
    "rasterize_runs",
    "rle_area",
    "rle_counts",
    "rle_iou",
    "rle_to_bbox",
    "run_intersections",
    "runs_geometry",
    "string_to_counts",
    "strings_to_counts",
    "strings_to_runs",
]

#: Numbers (characters, boundary points) handled per step of the batch functions: it bounds the memory of
#: the temporary arrays and keeps them cache-friendly.
_CHUNK = 1 << 18


class RLEError(ValueError):
    """A run-length encoding is malformed (bad characters, counts not summing to height * width).

    ``index`` is the position of the bad string in a batch (None for a single RLE).
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


# ---- compressed strings ------------------------------------------------------------------------------
def _string_chunks(strings: Sequence[str | bytes]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(index of the first string, bytes as uint8, lengths)`` for groups of about ``_CHUNK`` characters."""
    n = len(strings)
    try:
        blobs = [s if type(s) is bytes else s.encode("ascii") for s in strings]
    except UnicodeEncodeError:
        i = next(i for i, s in enumerate(strings) if isinstance(s, str) and not s.isascii())
        raise RLEError(f"RLE string {i}: has a character outside '0'..'o'", i) from None
    except AttributeError:
        i = next(i for i, s in enumerate(strings) if not isinstance(s, (str, bytes)))
        raise TypeError(f"RLE string {i}: expected a string, got {type(strings[i]).__name__}") from None
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=n)
    cum = np.cumsum(lengths)
    i0 = 0
    while i0 < n:
        i1 = max(int(np.searchsorted(cum, (cum[i0 - 1] if i0 else 0) + _CHUNK, side="right")), i0 + 1)
        yield i0, np.frombuffer(b"".join(blobs[i0:i1]), dtype=np.uint8), lengths[i0:i1]
        i0 = i1


def strings_to_counts(strings: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Decode many compressed ``counts`` strings at once.

    Returns ``(counts, offsets)``: int64 run lengths of all strings back to back, and ``offsets`` (n + 1,) so
    that string ``i`` owns ``counts[offsets[i]:offsets[i + 1]]``. Raises :class:`RLEError` (with the bad
    string's ``index``) for characters outside ``'0'..'o'`` or a string that ends inside a number.
    """
    parts: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    for i0, buf, lengths in _string_chunks(strings):
        padded, pstart, ntok = _decode_chunk(buf, lengths, i0)
        parts.append(padded[_ragged_index(pstart[:-1], ntok)])
        sizes.append(ntok)
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    if sizes:
        np.cumsum(np.concatenate(sizes), out=offsets[1:])
    counts = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return counts, offsets


def strings_to_runs(strings: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode many compressed ``counts`` strings straight into foreground runs.

    Returns ``(starts, ends, owner, totals)``: the non-empty runs ``[start, end)`` in flat column-major
    positions (sorted per string), the string each belongs to, and each string's total of run lengths
    (which must equal height * width for a valid mask).
    """
    out_s, out_e, out_o, tots = [], [], [], []
    for i0, buf, lengths in _string_chunks(strings):
        x, pstart, ntok = _decode_chunk(buf, lengths, i0)
        n = len(ntok)
        # running total within each string (restarted per string, see _segmented_cumsum); strings start at
        # even positions, so the foreground runs are the pairs (total[2k], total[2k + 1])
        _segmented_cumsum(x, pstart[:-1], ntok > 0)
        half = (pstart[1:] - pstart[:-1]) // 2
        st, en = x[0::2], x[1::2]
        keep = en > st
        out_s.append(st[keep])
        out_e.append(en[keep])
        out_o.append(np.repeat(np.arange(i0, i0 + n, dtype=np.int64), half)[keep])
        tot = np.zeros(n, dtype=np.int64)
        has = ntok > 0
        tot[has] = x[pstart[:-1][has] + ntok[has] - 1]
        tots.append(tot)
    if not out_s:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z
    return np.concatenate(out_s), np.concatenate(out_e), np.concatenate(out_o), np.concatenate(tots)


def _segmented_cumsum(x: np.ndarray, starts: np.ndarray, nonempty: np.ndarray) -> None:
    """In place: running sums of ``x`` that restart at each segment start.

    Each segment's first value is lowered by the previous segment's total, so one plain cumsum restarts at
    every segment: no per-element subtraction afterwards.
    """
    st = starts[nonempty]
    if len(st) == 0:
        return
    if len(st) > 1:
        tot = np.add.reduceat(x, st)
        x[st[1:]] -= tot[:-1]
    np.cumsum(x, out=x)


def _decode_chunk(buf: np.ndarray, lengths: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode the strings of one chunk (``rleFrString``) into counts, each string padded to an even length.

    Returns ``(padded counts, padded starts (n + 1,), numbers per string)``; a pad count is 0.
    """
    n = len(lengths)
    if len(buf) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(n + 1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    c = buf - np.uint8(48)
    if c.max() > 63:
        i = int(np.argmax(c > 63))
        at = int(np.searchsorted(np.cumsum(lengths), i, side="right"))
        raise RLEError(f"RLE string {base + at}: character {chr(int(buf[i]))!r} is outside '0'..'o'", base + at)
    term = c < 32  # a character without the "more follows" bit 0x20 ends a number
    char_end = np.cumsum(lengths)
    nonempty = lengths > 0
    if not term[char_end[nonempty] - 1].all():
        i = int(np.flatnonzero(nonempty)[np.argmin(term[char_end[nonempty] - 1])])
        raise RLEError(f"RLE string {base + i}: ends in the middle of a number", base + i)
    ends = np.flatnonzero(term)
    # one-character numbers (nearly all): the 5 bits, sign-extended from bit 0x10
    vals = ((c[ends] ^ np.uint8(16)).view(np.int8) - np.int8(16)).astype(np.int64)
    if len(ends) != len(c):  # some numbers take several characters: low digits first, the last is signed
        prev = np.empty_like(ends)
        prev[0] = -1
        prev[1:] = ends[:-1]
        nch = ends - prev
        multi = np.flatnonzero(nch > 1)
        m_start = prev[multi] + 1
        m_len = nch[multi]
        acc = (c[m_start].astype(np.int64) - 32) + (vals[multi] << (np.int64(5) * (m_len - 1)))
        longer = np.flatnonzero(m_len > 2)
        for k in range(1, int(m_len.max()) - 1):
            longer = longer[m_len[longer] - 1 > k]
            acc[longer] += (c[m_start[longer] + k].astype(np.int64) - 32) << np.int64(5 * k)
        vals[multi] = acc
    ntok = np.diff(np.concatenate([[0], np.searchsorted(ends, char_end, side="left")]))
    # pad every string to an even number of counts, so that its local parity is the global parity
    plen = ntok + (ntok & 1)
    pstart = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(plen, out=pstart[1:])
    odd_len = np.flatnonzero(ntok & 1)
    if len(odd_len):
        tstart = pstart[:-1] - np.cumsum(ntok & 1) + (ntok & 1)  # where each string starts in vals
        x = np.insert(vals, tstart[odd_len] + ntok[odd_len], 0)
    else:
        x = vals
    # count[j] = x[j] + count[j - 2] for j > 2: running sums over each parity, restarted per string; the
    # even chain restarts after the string's count 0, which stands alone
    has = ntok > 0
    first = pstart[:-1][has]
    x0 = x[first].copy()
    x[first] = 0
    hs = pstart[:-1] // 2
    _segmented_cumsum(x[0::2], hs, has)
    _segmented_cumsum(x[1::2], hs, ntok > 1)
    x[first] = x0
    x[pstart[odd_len] + ntok[odd_len]] = 0  # the pads
    return x, pstart, ntok


def counts_to_string(counts: Sequence[int] | np.ndarray) -> str:
    """Compress one list of run lengths into the COCO ``counts`` string (``rleToString``)."""
    c = np.asarray(counts, dtype=np.int64)
    return counts_to_strings(c, np.array([0, len(c)], dtype=np.int64))[0]


def string_to_counts(s: str | bytes) -> np.ndarray:
    """Decode one compressed ``counts`` string into int64 run lengths (``rleFrString``)."""
    counts, _ = strings_to_counts([s])
    return counts


def counts_to_strings(counts: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Compress many run-length lists at once (``counts[offsets[i]:offsets[i+1]]`` is list ``i``)."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    out: list[str] = []
    i0 = 0
    while i0 < n:
        i1 = max(int(np.searchsorted(offsets, offsets[i0] + _CHUNK, side="right")) - 1, i0 + 1)
        i1 = min(i1, n)
        a, b = offsets[i0], offsets[i1]
        out.extend(_encode_chunk(counts[a:b], offsets[i0 : i1 + 1] - a))
        i0 = i1
    return out


def _encode_chunk(counts: np.ndarray, offsets: np.ndarray) -> list[str]:
    n = len(offsets) - 1
    m = len(counts)
    if m == 0:
        return [""] * n
    n_tok = np.diff(offsets)
    local = np.arange(m, dtype=np.int64) - np.repeat(offsets[:-1], n_tok)
    x = counts.copy()
    x[2:] -= np.where(local[2:] > 2, counts[:-2], 0)
    # characters per number: the smallest k with -2^(5k-1) <= x < 2^(5k-1)
    nch = np.ones(m, dtype=np.int64)
    for k in range(1, 13):
        lim = np.int64(1) << np.int64(5 * k - 1)
        big = (x >= lim) | (x < -lim)
        if not big.any():
            break
        nch += big
    total = int(nch.sum())
    out = np.empty(total, dtype=np.uint8)
    first = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(nch, out=first[1:])
    for k in range(int(nch.max())):
        sel = np.flatnonzero(nch > k)
        digit = (x[sel] >> np.int64(5 * k)) & 0x1F
        cont = (nch[sel] > k + 1).astype(np.int64) << 5
        out[first[sel] + k] = (digit | cont) + 48
    text = out.tobytes().decode("ascii")
    cuts = first[offsets].tolist()
    return [text[cuts[i] : cuts[i + 1]] for i in range(n)]


# ---- dict-level helpers ------------------------------------------------------------------------------
def _size_of(rle: Mapping[str, Any]) -> tuple[int, int]:
    try:
        h, w = rle["size"]
        return int(h), int(w)
    except (KeyError, TypeError, ValueError):
        raise RLEError(f"expected an RLE dict with 'size': [height, width], got {rle!r:.80}") from None


def rle_counts(rle: Mapping[str, Any]) -> np.ndarray:
    """The run lengths of an RLE dict (compressed string or uncompressed list), checked against its size."""
    h, w = _size_of(rle)
    cnt = rle.get("counts") if isinstance(rle, Mapping) else None
    if isinstance(cnt, (str, bytes, bytearray)):
        counts = string_to_counts(cnt)
    elif isinstance(cnt, (list, tuple, np.ndarray)):
        counts = np.asarray(cnt, dtype=np.int64).reshape(-1)
        if (counts < 0).any():
            raise RLEError("expected run lengths >= 0")
    else:
        raise RLEError(f"expected 'counts' to be a string or a list of run lengths, got {type(cnt).__name__}")
    total = int(counts.sum())
    if total != h * w:
        raise RLEError(f"run lengths add up to {total} pixels, expected height * width = {h * w}")
    return counts


def _rle_dict(h: int, w: int, counts: np.ndarray) -> dict[str, Any]:
    return {"size": [int(h), int(w)], "counts": counts_to_string(counts)}


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE of a 2-D mask (any dtype; nonzero = inside), column-major as pycocotools.

    >>> encode_mask(np.array([[0, 1], [1, 1]]))
    {'size': [2, 2], 'counts': '13'}
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D mask (height, width), got shape {m.shape}")
    h, w = m.shape
    flat = m.astype(bool).ravel(order="F")
    return _rle_dict(h, w, _counts_of_flat(flat))


def _counts_of_flat(flat: np.ndarray) -> np.ndarray:
    n = len(flat)
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [n]])
    runs = np.diff(bounds)
    if flat[0]:
        runs = np.concatenate([[0], runs])
    return runs.astype(np.int64)


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """The boolean ``(height, width)`` mask of an RLE dict (compressed or uncompressed counts)."""
    h, w = _size_of(rle)
    counts = rle_counts(rle)
    vals = np.zeros(len(counts), dtype=bool)
    vals[1::2] = True
    flat = np.repeat(vals, counts)
    return flat.reshape(w, h).T.copy()


def rle_area(rle: Mapping[str, Any]) -> int:
    """Number of foreground pixels (``pycocotools.mask.area``)."""
    return int(rle_counts(rle)[1::2].sum())


def rle_to_bbox(rle: Mapping[str, Any]) -> np.ndarray:
    """Tight box ``[x, y, w, h]`` (float64) of the foreground pixels, zeros when empty (``toBbox``)."""
    h, _ = _size_of(rle)
    counts = rle_counts(rle)
    _, w = _size_of(rle)
    ms = MaskSet.from_counts(counts, np.array([0, len(counts)], dtype=np.int64), np.array([h]), np.array([w]))
    return ms.bboxes_xywh()[0]


# ---- columnar operations on many masks -------------------------------------------------------------
def _fg_runs(counts: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foreground runs of many masks: ``(starts, ends, owner)`` in flat column-major positions.

    Zero-length runs are dropped; runs of one mask are sorted and disjoint.
    """
    n_tok = np.diff(offsets)
    owner_tok = np.repeat(np.arange(len(n_tok), dtype=np.int64), n_tok)
    cum = np.cumsum(counts)
    before = cum - counts  # total of all earlier runs, across masks
    seg_base = np.repeat(np.where(n_tok > 0, before[np.minimum(offsets[:-1], max(len(counts) - 1, 0))], 0), n_tok)
    local = np.arange(len(counts), dtype=np.int64) - np.repeat(offsets[:-1], n_tok)
    fg = (local % 2 == 1) & (counts > 0)
    s = (before - seg_base)[fg]
    return s, s + counts[fg], owner_tok[fg]


# ---- polygons ----------------------------------------------------------------------------------------
def _rasterize(
    points: np.ndarray,
    point_count: np.ndarray,
    poly_item: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterize many polygons, united per item, exactly as pycocotools' ``rleFrPoly`` + ``rleMerge``.

    Args:
        points: (N, 2) float64 vertices of all polygons back to back.
        point_count: (P,) vertices per polygon.
        poly_item: (P,) item index of each polygon (items own any number of polygons, in any order).
        heights, widths: (n_items,) image size of each item.

    Returns ``(counts, offsets)``: the canonical run lengths of every item's mask.
    """
    heights = np.asarray(heights, dtype=np.int64)
    widths = np.asarray(widths, dtype=np.int64)
    s, e, item = rasterize_runs(points, point_count, poly_item, heights, widths)
    return _counts_from_runs(s, e, item, heights * widths)


def rasterize_runs(
    points: np.ndarray,
    point_count: np.ndarray,
    poly_item: np.ndarray,
    heights: np.ndarray,
    widths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`_rasterize` but returns the foreground runs ``(starts, ends, item)``.

    Runs are in flat column-major positions, sorted by item then start, disjoint and not touching (the
    canonical runs of each item's mask).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    point_count = np.asarray(point_count, dtype=np.int64)
    poly_item = np.asarray(poly_item, dtype=np.int64)
    heights = np.asarray(heights, dtype=np.int64)
    widths = np.asarray(widths, dtype=np.int64)
    n_poly = len(point_count)
    first_pt = np.zeros(n_poly + 1, dtype=np.int64)
    np.cumsum(point_count, out=first_pt[1:])
    if n_poly > 1 and np.any(poly_item[1:] < poly_item[:-1]):
        order = np.argsort(poly_item, kind="stable")
        points = points[_ragged_index(first_pt[:-1][order], point_count[order])]
        point_count = point_count[order]
        poly_item = poly_item[order]
        np.cumsum(point_count, out=first_pt[1:])
    # chunks of whole items, sized by an estimate of their boundary points (2 per pixel column crossed)
    if len(points):
        xs = points[:, 0]
        pmin = np.minimum.reduceat(xs, first_pt[:-1][point_count > 0]) if (point_count > 0).any() else xs[:0]
        pmax = np.maximum.reduceat(xs, first_pt[:-1][point_count > 0]) if (point_count > 0).any() else xs[:0]
        est = np.zeros(n_poly, dtype=np.float64)
        est[point_count > 0] = 2.0 * np.clip(pmax - pmin, 0, None) + point_count[point_count > 0]
    else:
        est = np.zeros(n_poly)
    est = np.minimum(est, 2.0 * widths[poly_item] + point_count)
    cum = np.cumsum(est)
    out_s, out_e, out_i = [], [], []
    p0 = 0
    while p0 < n_poly:
        target = (cum[p0 - 1] if p0 else 0.0) + _CHUNK
        p1 = max(int(np.searchsorted(cum, target, side="right")), p0 + 1)
        # never split an item's polygons across chunks
        while p1 < n_poly and poly_item[p1] == poly_item[p1 - 1]:
            p1 += 1
        a, b = first_pt[p0], first_pt[p1]
        rs, re_, ri = _rasterize_chunk(
            points[a:b], point_count[p0:p1], poly_item[p0:p1], heights, widths
        )
        out_s.append(rs)
        out_e.append(re_)
        out_i.append(ri)
        p0 = p1
    if not out_s:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return np.concatenate(out_s), np.concatenate(out_e), np.concatenate(out_i)


def _ragged_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges ``[starts[i], starts[i] + counts[i])``."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(counts) - counts
    return np.repeat(starts.astype(np.int64) - offs, counts) + np.arange(total, dtype=np.int64)


def _rasterize_chunk(
    pts: np.ndarray, point_count: np.ndarray, poly_item: np.ndarray, heights: np.ndarray, widths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_poly = len(point_count)
    keys = _boundary_keys(pts, point_count, poly_item, heights, widths)
    # a pixel is inside a polygon when an odd number of boundary points lie at or above it in its column:
    # keep the boundary positions that occur an odd number of times, then pair them up into runs
    keys.sort()
    if len(keys) > 1:
        new = np.empty(len(keys), dtype=bool)
        new[0] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        if not new.all():
            first = np.flatnonzero(new)
            mult = np.diff(np.append(first, len(keys)))
            keys = keys[first[(mult & 1) == 1]]
    poly = keys >> np.int64(32)
    pos = keys & np.int64(0xFFFFFFFF)
    n_tog = np.bincount(poly, minlength=n_poly)
    tog_first = np.zeros(n_poly + 1, dtype=np.int64)
    np.cumsum(n_tog, out=tog_first[1:])
    # toggles of one polygon alternate start, end, start, ...; an odd count leaves the last run open to h*w
    if not (n_tog & 1).any():
        run_s, run_e = pos[0::2], pos[1::2]
        item_of_run = poly_item[poly[0::2]]
    else:
        is_start = ((np.arange(len(pos), dtype=np.int64) - tog_first[poly]) & 1) == 0
        si = np.flatnonzero(is_start)
        run_poly = poly[si]
        run_s = pos[si]
        nxt = si + 1
        has_end = nxt < len(pos)
        has_end[has_end] = poly[nxt[has_end]] == run_poly[has_end]
        item_of_run = poly_item[run_poly]
        hw_run = heights[item_of_run] * widths[item_of_run]
        run_e = np.where(has_end, pos[np.minimum(nxt, max(len(pos) - 1, 0))], hw_run)
    keep = run_e > run_s
    if not keep.all():
        run_s, run_e, item_of_run = run_s[keep], run_e[keep], item_of_run[keep]
    # unite the polygons of items that have several (their runs may overlap or touch)
    if len(poly_item) > 1 and np.any(poly_item[1:] == poly_item[:-1]):
        run_s, run_e, item_of_run = _union_runs(run_s, run_e, item_of_run)
    return run_s, run_e, item_of_run


def _boundary_keys(
    pts: np.ndarray, point_count: np.ndarray, poly_item: np.ndarray, heights: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    """(polygon << 32 | position) of every point where a polygon outline crosses a column centre.

    pycocotools walks the outline upsampled 5x (``u, v`` below are upsampled units) and keeps, for every
    step from column ``a`` to ``a + 1`` with ``a = 5 x + 2`` (the centre of pixel column ``x``), the first
    pixel row whose centre is below the outline: ``y = ceil(((min v) + .5) / 5 - .5)`` clamped to [0, h].
    Here the steps are found edge by edge without walking every sample.
    """
    n_poly = len(point_count)
    npts = len(pts)
    if npts == 0:
        return np.zeros(0, dtype=np.int64)
    # pycocotools: x = (int)(5 * x + .5), C truncation toward zero
    xi = np.trunc(5.0 * pts[:, 0] + 0.5).astype(np.int64)
    yi = np.trunc(5.0 * pts[:, 1] + 0.5).astype(np.int64)
    first = np.zeros(n_poly + 1, dtype=np.int64)
    np.cumsum(point_count, out=first[1:])
    nxt = np.arange(1, npts + 1, dtype=np.int64)
    has = point_count > 0
    nxt[first[1:][has] - 1] = first[:-1][has]  # the last vertex connects back to the first
    edge_poly = np.repeat(np.arange(n_poly, dtype=np.int64), point_count)
    xs, ys, xe, ye = xi, yi, xi[nxt], yi[nxt]
    dx = np.abs(xe - xs)
    dy = np.abs(ye - ys)
    xmaj = dx >= dy
    # pycocotools walks each edge in a canonical direction (increasing x, or increasing y when steep)
    flip = np.where(xmaj, xs > xe, ys > ye)
    cxs = np.where(flip, xe, xs)
    cxe = np.where(flip, xs, xe)
    cys = np.where(flip, ye, ys)
    cye = np.where(flip, ys, ye)
    item = poly_item[edge_poly]
    parts = []

    # edges walked along x: a sample at every upsampled column, so every a in [xs, xe) is a step; each
    # step is the pixel column x = (a - 2) / 5, found as x0 + k per edge (no per-step gathers)
    ex = np.flatnonzero(xmaj & (dx > 0))
    if len(ex):
        it = item[ex]
        x_lo = cxs[ex]
        lo = np.maximum(x_lo, 2)
        hi = np.minimum(x_lo + dx[ex] - 1, 5 * (widths[it] - 1) + 2)
        a0 = lo + np.mod(2 - lo, 5)
        cnt = np.where(hi >= a0, (hi - a0) // 5 + 1, 0)
        total = int(cnt.sum())
        if total:
            s_e = (cye[ex] - cys[ex]).astype(np.float64) / dx[ex]
            # v(t) = trunc(ys + s t + .5) is monotone along the edge: the smaller of v(t), v(t + 1)
            t0 = (a0 - x_lo + (s_e < 0)).astype(np.float64)
            h_e = heights[it].astype(np.float64)
            base = edge_poly[ex].astype(np.float64) * 4294967296.0 + ((a0 - 2) // 5) * h_e
            k = np.arange(total, dtype=np.float64) - np.repeat((np.cumsum(cnt) - cnt).astype(np.float64), cnt)
            s_k = np.repeat(s_e, cnt)
            v = np.trunc(np.repeat(cys[ex].astype(np.float64), cnt) + s_k * (np.repeat(t0, cnt) + 5.0 * k) + 0.5)
            h_k = np.repeat(h_e, cnt)
            # pycocotools: y = ceil(clamp((v + .5) / 5 - .5, 0, h)) = clamp(floor((v + 2) / 5), 0, h) for integer v
            y = np.floor((v + 2.0) / 5.0)
            np.clip(y, 0.0, h_k, out=y)
            key = np.repeat(base, cnt) + k * h_k + y
            parts.append(key.astype(np.int64))

    # edges walked along y: the column steps where u(t) = trunc(xs + s t + .5) changes
    ey = np.flatnonzero(~xmaj & (dx > 0))
    if len(ey):
        it = item[ey]
        s_all = (cxe[ey] - cxs[ey]).astype(np.float64) / dy[ey]
        xsf_all = cxs[ey].astype(np.float64)
        u0 = np.trunc(xsf_all + s_all * 0 + 0.5).astype(np.int64)
        u1 = np.trunc(xsf_all + s_all * dy[ey] + 0.5).astype(np.int64)
        lo = np.maximum(np.minimum(u0, u1), 2)
        hi = np.minimum(np.maximum(u0, u1) - 1, 5 * (widths[it] - 1) + 2)
        e_idx, a, x = _column_crossings(lo, hi)
        if len(a):
            k = ey[e_idx]
            s = s_all[e_idx]
            xsf = xsf_all[e_idx]
            inc = (u1 > u0)[e_idx]
            # the first sample t past the step: u(t) >= a + 1 (increasing) or u(t) <= a (decreasing)
            target = (a.astype(np.float64) + 0.5 - xsf) / s
            t = np.ceil(target)
            # where the boundary is not within rounding of an integer, ceil is the answer; else check
            near = np.flatnonzero(np.abs(target - np.rint(target)) < 1e-6)
            t = t.astype(np.int64)
            if len(near):
                tn = np.where(inc[near], t[near], np.floor(target[near]).astype(np.int64) + 1)
                np.clip(tn, 1, dy[k[near]], out=tn)
                t[near] = _settle_steps(tn, xsf[near], s[near], a[near], inc[near])
            parts.append(_key(edge_poly[k], x, cys[k] + t - 1, heights[it[e_idx]]))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _settle_steps(t: np.ndarray, xsf: np.ndarray, s: np.ndarray, a: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Correct the estimated first sample past each column step (the estimate is off by at most one)."""

    def past(tt: np.ndarray, idx: np.ndarray) -> np.ndarray:
        u = np.trunc(xsf[idx] + s[idx] * tt + 0.5)
        return np.where(inc[idx], u >= a[idx] + 1, u <= a[idx])

    idx = np.arange(len(t))
    for _ in range(64):
        fwd = ~past(t[idx], idx)
        back = (t[idx] > 1) & past(t[idx] - 1, idx)
        move = fwd | back
        if not move.any():
            return t
        idx = idx[move]
        t[idx] += fwd[move].astype(np.int64) - back[move]
    raise RuntimeError("polygon rasterization did not converge")  # pragma: no cover


def _column_crossings(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ranges [lo, hi] of upsampled columns, the steps a = 5 x + 2 (pixel column centres) inside.

    Returns ``(range index, a, x)``.
    """
    a0 = lo + np.mod(2 - lo, 5)
    cnt = np.where(hi >= a0, (hi - a0) // 5 + 1, 0)
    total = int(cnt.sum())
    idx = np.repeat(np.arange(len(lo), dtype=np.int64), cnt)
    if total == 0:
        z = np.zeros(0, dtype=np.int64)
        return idx, z, z
    starts = np.cumsum(cnt) - cnt
    k = np.arange(total, dtype=np.int64) - np.repeat(starts, cnt)
    x = np.repeat((a0 - 2) // 5, cnt) + k
    return idx, 5 * x + 2, x


def _key(poly: np.ndarray, x: np.ndarray, vmin: np.ndarray, h: np.ndarray) -> np.ndarray:
    # pycocotools: yd = ceil(clamp((v + .5) / 5 - .5, 0, h)); for integer v that is clamp((v + 2) // 5, 0, h)
    y = (vmin + 2) // 5
    np.clip(y, 0, h, out=y)
    return (poly << np.int64(32)) | (x * h + y)


def _union_runs(s: np.ndarray, e: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of runs per item: merged, sorted, touching runs joined."""
    order = np.argsort((item << np.int64(32)) | s)
    s, e, item = s[order], e[order], item[order]
    off = item << np.int64(33)
    run_max = np.maximum.accumulate(e + off) - off  # running max end within the item (items are sorted)
    new = np.ones(len(s), dtype=bool)
    new[1:] = (item[1:] != item[:-1]) | (s[1:] > run_max[:-1])
    first = np.flatnonzero(new)
    return s[first], np.maximum.reduceat(e, first) if len(first) else e[:0], item[first]


def _counts_from_runs(s: np.ndarray, e: np.ndarray, item: np.ndarray, hw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical run lengths from sorted disjoint foreground runs per item (items ascending)."""
    n = len(hw)
    runs = np.bincount(item, minlength=n) if len(item) else np.zeros(n, dtype=np.int64)
    first_run = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(runs, out=first_run[1:])
    last_end = np.zeros(n, dtype=np.int64)
    has = runs > 0
    last_end[has] = e[first_run[1:][has] - 1]
    tail = np.where(has, hw - last_end > 0, True)  # trailing background run (the whole mask when empty)
    n_counts = 2 * runs + tail
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_counts, out=offsets[1:])
    counts = np.empty(int(offsets[-1]), dtype=np.int64)
    if len(s):
        local = np.arange(len(s), dtype=np.int64) - first_run[item]
        prev_end = np.zeros(len(s), dtype=np.int64)
        prev_end[local > 0] = e[np.flatnonzero(local > 0) - 1]
        base = offsets[item] + 2 * local
        counts[base] = s - prev_end
        counts[base + 1] = e - s
    t_items = np.flatnonzero(tail)
    counts[offsets[t_items + 1] - 1] = hw[t_items] - last_end[t_items]
    return counts, offsets


def _polygon_arrays(polygons: Iterable[Sequence[float] | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pts = []
    cnt = []
    for p in polygons:
        a = np.asarray(p, dtype=np.float64)
        a = a.reshape(-1, 2) if a.ndim == 2 else a[: (a.size // 2) * 2].reshape(-1, 2)
        pts.append(a)
        cnt.append(len(a))
    points = np.concatenate(pts) if pts else np.zeros((0, 2))
    return points, np.array(cnt, dtype=np.int64)


def polygons_to_rle(polygons: Sequence[Sequence[float] | np.ndarray], height: int, width: int) -> dict[str, Any]:
    """Compressed RLE of the union of one item's polygons (flat ``[x1, y1, ...]`` lists or (P, 2) arrays).

    Equal, run for run, to ``pycocotools.mask.merge(pycocotools.mask.frPyObjects(polygons, h, w))`` for
    polygons of at least 3 points (an odd trailing number is ignored, as pycocotools does).

    >>> polygons_to_rle([[0, 0, 4, 0, 4, 4]], 4, 4)['counts']
    '4131O1O'
    """
    points, cnt = _polygon_arrays(polygons)
    counts, offsets = _rasterize(
        points, cnt, np.zeros(len(cnt), dtype=np.int64), np.array([height]), np.array([width])
    )
    return _rle_dict(height, width, counts[offsets[0] : offsets[1]])


def polygons_to_rles(
    items: Sequence[Sequence[Sequence[float] | np.ndarray]], heights: Sequence[int], widths: Sequence[int]
) -> list[dict[str, Any]]:
    """:func:`polygons_to_rle` for many items at once (one list of polygons and one image size per item).

    Much faster than a loop: all polygons are rasterized together.
    """
    pts, cnts, owner = [], [], []
    for i, polys in enumerate(items):
        p, c = _polygon_arrays(polys)
        pts.append(p)
        cnts.append(c)
        owner.append(np.full(len(c), i, dtype=np.int64))
    points = np.concatenate(pts) if pts else np.zeros((0, 2))
    cnt = np.concatenate(cnts) if cnts else np.zeros(0, np.int64)
    own = np.concatenate(owner) if owner else np.zeros(0, np.int64)
    h = np.asarray(heights, dtype=np.int64)
    w = np.asarray(widths, dtype=np.int64)
    counts, offsets = _rasterize(points, cnt, own, h, w)
    strings = counts_to_strings(counts, offsets)
    return [{"size": [int(h[i]), int(w[i])], "counts": strings[i]} for i in range(len(strings))]


# ---- many masks as column pieces, and their pairwise intersections ---------------------------------
def runs_geometry(
    s: np.ndarray, e: np.ndarray, owner: np.ndarray, heights: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:
    """Area and tight box of many masks from their foreground runs (sorted by owner, non-empty).

    Returns ``(area, x0, x1, y0, y1)`` with columns ``x0..x1`` and rows ``y0..y1 - 1`` (pycocotools' rule: a
    run that wraps into the next column covers the full height); ``x1 = -1`` for an empty mask.
    """
    area = np.zeros(n, dtype=np.int64)
    x0 = np.zeros(n, dtype=np.int64)
    x1 = np.full(n, -1, dtype=np.int64)
    y0 = np.zeros(n, dtype=np.int64)
    y1 = np.zeros(n, dtype=np.int64)
    if len(s) == 0:
        return area, x0, x1, y0, y1
    h = heights[owner]
    hf = h.astype(np.float64)
    cs = np.floor(s / hf).astype(np.int64)  # exact: a non-integer quotient is >= 1/h from any integer
    ce = np.floor((e - 1) / hf).astype(np.int64)
    spans = ce > cs
    ry0 = np.where(spans, 0, s - cs * h)
    ry1 = np.where(spans, h, e - ce * h)
    first = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
    who = owner[first]
    last = np.append(first[1:], len(s)) - 1
    area[who] = np.add.reduceat(e - s, first)
    x0[who] = cs[first]
    x1[who] = ce[last]
    y0[who] = np.minimum.reduceat(ry0, first)
    y1[who] = np.maximum.reduceat(ry1, first)
    return area, x0, x1, y0, y1


class MaskSet:
    """Many masks in columns, ready for intersections without decoding bitmaps.

    Each foreground run is cut at column boundaries into *pieces* ``[y0, y1)`` of one pixel column; a
    mask's pieces are sorted by column, and ``colptr`` finds the pieces of any column of its box in O(1):
    mask ``m``'s column ``x`` (``x0[m] <= x <= x1[m] + 1``; the last is an empty sentinel) owns pieces
    ``colptr[k]:colptr[k + 1]`` with slot ``k = cbase[m] + x - x0[m]``, and ``colcum[k]`` counts the mask's
    pixels in the columns before ``x``. Built from foreground runs or run-length counts.
    """

    __slots__ = ("area", "cbase", "colcum", "colptr", "heights", "py0", "py1", "widths", "x0", "x1", "y0", "y1")

    def __init__(
        self, heights: np.ndarray, widths: np.ndarray, s: np.ndarray, e: np.ndarray, owner: np.ndarray
    ) -> None:
        """From foreground runs ``[s, e)`` (flat column-major positions) of mask ``owner``, sorted by mask
        then position, non-overlapping; zero-length runs allowed."""
        n = len(heights)
        self.heights = np.asarray(heights, dtype=np.int64)
        self.widths = np.asarray(widths, dtype=np.int64)
        keep = e > s
        if not keep.all():
            s, e, owner = s[keep], e[keep], owner[keep]
        parts = []
        # masks in groups of about _CHUNK runs: small temporaries, whole masks per group
        bounds = np.searchsorted(owner, np.arange(n + 1)) if len(owner) else np.zeros(n + 1, dtype=np.int64)
        m0 = 0
        while m0 < n:
            m1 = max(int(np.searchsorted(bounds, bounds[m0] + _CHUNK, side="right")) - 1, m0 + 1)
            m1 = min(m1, n)
            r0, r1 = bounds[m0], bounds[m1]
            parts.append(self._chunk(s[r0:r1], e[r0:r1], owner[r0:r1] - m0, self.heights[m0:m1]))
            m0 = m1

        def cat(i: int, dtype: type) -> np.ndarray:
            xs = [p[i] for p in parts]
            return np.concatenate(xs) if xs else np.zeros(0, dtype=dtype)

        self.area, self.x0, self.x1, self.y0, self.y1 = (cat(i, np.int64) for i in range(5))
        bw = np.where(self.area > 0, self.x1 - self.x0 + 2, 0)  # the box's columns and an empty sentinel column
        cbase = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(bw, out=cbase[1:])
        self.cbase = cbase
        per_slot = cat(5, np.int64)
        colptr = np.zeros(len(per_slot) + 1, dtype=np.int64)
        np.cumsum(per_slot, out=colptr[1:])
        self.colptr = colptr
        self.colcum = cat(6, np.int64)
        self.py0 = cat(7, np.int32)
        self.py1 = cat(8, np.int32)

    @staticmethod
    def _chunk(s: np.ndarray, e: np.ndarray, owner: np.ndarray, heights: np.ndarray) -> tuple[np.ndarray, ...]:
        n = len(heights)
        area, x0, x1, y0, y1 = runs_geometry(s, e, owner, heights, n)
        h = heights[owner]
        hf = h.astype(np.float64)
        c0 = np.floor(s / hf).astype(np.int64)
        c1 = np.floor((e - 1) / hf).astype(np.int64)
        npc = c1 - c0 + 1
        # pieces: one per column a run touches (most runs stay in one column)
        if len(npc) and npc.max() > 1:
            rid = np.repeat(np.arange(len(s), dtype=np.int64), npc)
            col = _ragged_index(c0, npc)
            ph = h[rid]
            py0 = np.maximum(s[rid] - col * ph, 0)
            py1 = np.minimum(e[rid] - col * ph, ph)
            powner = owner[rid]
        else:
            col, powner = c0, owner
            py0 = s - c0 * h
            py1 = e - c0 * h
        bw = np.where(area > 0, x1 - x0 + 2, 0)
        cbase = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(bw, out=cbase[1:])
        nslots = int(cbase[-1])
        slot = cbase[powner] + col - x0[powner]
        per_slot = np.bincount(slot, minlength=nslots) if len(slot) else np.zeros(nslots, np.int64)
        pix = np.bincount(slot, weights=py1 - py0, minlength=nslots) if len(slot) else np.zeros(nslots)
        cum = np.zeros(nslots + 1, dtype=np.int64)
        np.cumsum(pix.astype(np.int64), out=cum[1:])
        colcum = cum[:-1] - np.repeat(cum[cbase[:-1]], bw)  # pixels of the mask in earlier columns
        return area, x0, x1, y0, y1, per_slot, colcum, py0.astype(np.int32), py1.astype(np.int32)

    @classmethod
    def from_counts(cls, counts: np.ndarray, offsets: np.ndarray, heights: np.ndarray, widths: np.ndarray) -> MaskSet:
        s, e, owner = _fg_runs(counts, offsets)
        return cls(heights, widths, s, e, owner)

    @classmethod
    def from_rles(cls, rles: Sequence[Mapping[str, Any]]) -> MaskSet:
        sizes = np.array([_size_of(r) for r in rles], dtype=np.int64).reshape(-1, 2)
        counts_list = [rle_counts(r) for r in rles]
        offsets = np.zeros(len(rles) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in counts_list], out=offsets[1:])
        counts = np.concatenate(counts_list) if counts_list else np.zeros(0, np.int64)
        return cls.from_counts(counts, offsets, sizes[:, 0], sizes[:, 1])

    def __len__(self) -> int:
        return len(self.heights)

    def bboxes_xywh(self) -> np.ndarray:
        """``rleToBbox`` boxes ``[x, y, w, h]`` (zeros for empty masks)."""
        out = np.zeros((len(self), 4), dtype=np.float64)
        has = self.area > 0
        out[has, 0] = self.x0[has]
        out[has, 1] = self.y0[has]
        out[has, 2] = self.x1[has] - self.x0[has] + 1
        out[has, 3] = self.y1[has] - self.y0[has]
        return out

    def coverage(self, m: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Pixels of mask ``m[k]`` before flat position ``p[k]``, for positions inside the mask's columns
        ``x0 .. x1 + 1`` (the prefix function of the mask, in O(1) per query for simple columns)."""
        h = self.heights[m]
        col = np.floor(p / h.astype(np.float64)).astype(np.int64)
        y = p - col * h
        k = self.cbase[m] + col - self.x0[m]
        first = self.colptr[k]
        npc = self.colptr[k + 1] - first
        out = self.colcum[k].copy()
        one = npc == 1
        fi = first[one]
        out[one] += np.clip(y[one] - self.py0[fi], 0, self.py1[fi] - self.py0[fi])
        many = np.flatnonzero(npc > 1)
        if len(many):
            cnt = npc[many]
            r = np.repeat(many, cnt)
            pc = _ragged_index(first[many], cnt)
            part = np.clip(y[r] - self.py0[pc], 0, self.py1[pc] - self.py0[pc])
            out += np.bincount(r, weights=part, minlength=len(out)).astype(np.int64)
        return out


def pair_intersections(a: MaskSet, b: MaskSet, ai: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """Foreground pixels shared by masks ``a[ai[k]]`` and ``b[bi[k]]`` for every pair ``k`` (int64).

    Works column by column on the pieces of the overlapping columns: O(columns) per pair, no bitmaps.
    Masks of one pair must have the same size.
    """
    ai = np.asarray(ai, dtype=np.int64)
    bi = np.asarray(bi, dtype=np.int64)
    npairs = len(ai)
    out = np.zeros(npairs, dtype=np.int64)
    if npairs == 0:
        return out
    cx0 = np.maximum(a.x0[ai], b.x0[bi])
    cx1 = np.minimum(a.x1[ai], b.x1[bi])
    yo = np.maximum(a.y0[ai], b.y0[bi]) < np.minimum(a.y1[ai], b.y1[bi])
    ncol = np.where(yo & (a.area[ai] > 0) & (b.area[bi] > 0), np.maximum(cx1 - cx0 + 1, 0), 0)
    cum = np.cumsum(ncol)
    p0 = 0
    while p0 < npairs:
        p1 = max(int(np.searchsorted(cum, (cum[p0 - 1] if p0 else 0) + _CHUNK, side="right")), p0 + 1)
        sl = slice(p0, p1)
        out[sl] = _intersect_chunk(a, b, ai[sl], bi[sl], cx0[sl], ncol[sl])
        p0 = p1
    return out


def _intersect_chunk(
    a: MaskSet, b: MaskSet, ai: np.ndarray, bi: np.ndarray, cx0: np.ndarray, ncol: np.ndarray
) -> np.ndarray:
    n = len(ai)
    total = int(ncol.sum())
    if total == 0:
        return np.zeros(n, dtype=np.int64)
    row = np.repeat(np.arange(n, dtype=np.int64), ncol)
    # slot of column x in each mask's column table: cbase + x - x0
    col_off = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(ncol) - ncol, ncol)
    sa = np.repeat(a.cbase[ai] + cx0 - a.x0[ai], ncol) + col_off
    sb = np.repeat(b.cbase[bi] + cx0 - b.x0[bi], ncol) + col_off
    ka = a.colptr[sa]
    na = a.colptr[sa + 1] - ka
    kb = b.colptr[sb]
    nb = b.colptr[sb + 1] - kb
    simple = (na == 1) & (nb == 1)
    ov = np.minimum(a.py1[ka], b.py1[kb]) - np.maximum(a.py0[ka], b.py0[kb])
    ov = np.where(simple & (ov > 0), ov, 0).astype(np.int64)
    inter = np.bincount(row, weights=ov, minlength=n)
    # columns where either mask has several pieces: every piece against every piece of the other
    cx = np.flatnonzero(~simple & (na > 0) & (nb > 0))
    if len(cx):
        na_c, nb_c = na[cx], nb[cx]
        m = na_c * nb_c
        r2 = np.repeat(np.arange(len(cx), dtype=np.int64), m)
        j = np.arange(int(m.sum()), dtype=np.int64) - np.repeat(np.cumsum(m) - m, m)
        pa = ka[cx][r2] + j // nb_c[r2]
        pb = kb[cx][r2] + j % nb_c[r2]
        ov2 = np.minimum(a.py1[pa], b.py1[pb]) - np.maximum(a.py0[pa], b.py0[pb])
        inter += np.bincount(row[cx][r2], weights=np.maximum(ov2, 0), minlength=n)
    return np.rint(inter).astype(np.int64)


def run_intersections(
    s: np.ndarray, e: np.ndarray, run_first: np.ndarray, a_idx: np.ndarray, b: MaskSet, bi: np.ndarray
) -> np.ndarray:
    """Pixels shared by mask ``a_idx[k]``, given as runs, and mask ``b[bi[k]]`` of a :class:`MaskSet`.

    ``s, e`` are the foreground runs of the first masks, mask ``j`` owning ``run_first[j]:run_first[j + 1]``
    (sorted, disjoint). Each run inside the second mask's columns adds ``coverage(end) - coverage(start)``:
    no per-column tables are needed for the first masks, which are typically many and used once.
    """
    a_idx = np.asarray(a_idx, dtype=np.int64)
    bi = np.asarray(bi, dtype=np.int64)
    npairs = len(a_idx)
    out = np.zeros(npairs, dtype=np.int64)
    if npairs == 0:
        return out
    h = b.heights[bi]
    lo = b.x0[bi] * h
    hi = (b.x1[bi] + 1) * h
    r0 = run_first[a_idx]
    r1 = run_first[a_idx + 1]
    # the runs of each pair that reach into the second mask's columns (runs are sorted, so binary search
    # within the mask's runs: one searchsorted over all masks with (mask, position) keys)
    owner_key = np.repeat(np.arange(len(run_first) - 1, dtype=np.int64), np.diff(run_first)) << np.int64(32)
    first = np.searchsorted(owner_key | e, (a_idx << np.int64(32)) | lo, side="right")
    last = np.searchsorted(owner_key | s, (a_idx << np.int64(32)) | hi, side="left")
    first = np.clip(first, r0, r1)
    last = np.clip(last, first, r1)
    cnt = last - first
    cum = np.cumsum(cnt)
    p0 = 0
    while p0 < npairs:
        p1 = max(int(np.searchsorted(cum, (cum[p0 - 1] if p0 else 0) + _CHUNK, side="right")), p0 + 1)
        c = cnt[p0:p1]
        rows = np.repeat(np.arange(p0, p1, dtype=np.int64), c)
        ri = _ragged_index(first[p0:p1], c)
        m = bi[rows]
        ps = np.maximum(s[ri], lo[rows])
        pe = np.minimum(e[ri], hi[rows])
        hr = h[rows]
        hf = hr.astype(np.float64)
        cs = np.floor(ps / hf).astype(np.int64)
        same = cs == np.floor((pe - 1) / hf).astype(np.int64)
        # most runs stay in one column, where the other mask usually has one piece: overlap of two ranges
        k = b.cbase[m] + cs - b.x0[m]
        kf = b.colptr[k]
        npc = b.colptr[k + 1] - kf
        one = same & (npc == 1)
        kf = np.minimum(kf, max(len(b.py0) - 1, 0))
        base = cs * hr
        ov = np.minimum(pe - base, b.py1[kf]) - np.maximum(ps - base, b.py0[kf])
        part = np.where(one & (ov > 0), ov, 0)
        rest = np.flatnonzero(~same | (npc > 1))
        if len(rest):
            part[rest] = b.coverage(m[rest], pe[rest]) - b.coverage(m[rest], ps[rest])
        out[p0:p1] = np.bincount(rows - p0, weights=part, minlength=p1 - p0).astype(np.int64)
        p0 = p1
    return out


def rle_iou(
    dt: Sequence[Mapping[str, Any]], gt: Sequence[Mapping[str, Any]], iscrowd: Sequence[bool] | None = None
) -> np.ndarray:
    """IoU matrix ``(len(dt), len(gt))`` of RLE masks, equal to ``pycocotools.mask.iou(dt, gt, iscrowd)``.

    For crowd ground truth the IoU is the intersection over the detection's area. Masks of different
    sizes get -1 where their boxes overlap (pycocotools' convention).

    >>> a = polygons_to_rle([[0, 0, 4, 0, 4, 4, 0, 4]], 8, 8)
    >>> b = polygons_to_rle([[2, 0, 6, 0, 6, 4, 2, 4]], 8, 8)
    >>> rle_iou([a], [b]).round(3).tolist()
    [[0.333]]
    """
    d = MaskSet.from_rles(list(dt))
    g = MaskSet.from_rles(list(gt))
    crowd = np.zeros(len(g), dtype=bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool).reshape(-1)
    if len(crowd) != len(g):
        raise ValueError(f"expected one iscrowd flag per ground-truth mask ({len(g)}), got {len(crowd)}")
    out = np.zeros((len(d), len(g)), dtype=np.float64)
    if len(d) == 0 or len(g) == 0:
        return out
    di, gi = (x.ravel() for x in np.meshgrid(np.arange(len(d)), np.arange(len(g)), indexing="ij"))
    same = (d.heights[di] == g.heights[gi]) & (d.widths[di] == g.widths[gi])
    bb = (
        (np.maximum(d.x0[di], g.x0[gi]) <= np.minimum(d.x1[di], g.x1[gi]))
        & (np.maximum(d.y0[di], g.y0[gi]) < np.minimum(d.y1[di], g.y1[gi]))
        & (d.area[di] > 0)
        & (g.area[gi] > 0)
    )
    out[di[bb & ~same], gi[bb & ~same]] = -1.0
    sel = bb & same
    di, gi = di[sel], gi[sel]
    inter = pair_intersections(d, g, di, gi)
    union = np.where(crowd[gi], d.area[di], d.area[di] + g.area[gi] - inter)
    out[di, gi] = np.where(inter > 0, inter / np.maximum(union, 1), 0.0)
    return out
