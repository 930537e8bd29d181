"""Results files: read fast, in chunks, into checked columns.

A results file is a flat JSON list of entries (section 4 of the spec). It is read in blocks of a few
megabytes that are cut between entries and parsed with orjson, and each block becomes columns at once, so
a 294-landmark results file (mostly floats) never exists as millions of Python floats at the same time.
Every entry is checked; the first problem raises :class:`~df2kit.errors.ResultsError` naming the file, the
entry (its 0-based index in the list) and the field.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from .._jsonerr import explain_json_list
from ..errors import ResultsError
from ..layout import NUM_LANDMARKS
from ._kptext import keypoints_from_lists, split_keypoint_lists

__all__ = ["TASK_FIELD", "Columns", "entries_to_columns", "iter_result_chunks"]

#: The result field each task scores.
TASK_FIELD = {"detection": "bbox", "segmentation": "segmentation", "landmarks": "keypoints"}

_TRIO = operator.itemgetter("image_id", "category_id", "score")
_BBOX = operator.itemgetter("bbox")
_KEYPOINTS = operator.itemgetter("keypoints")
_SEGMENTATION = operator.itemgetter("segmentation")
_SIZE = operator.itemgetter("size")
_COUNTS = operator.itemgetter("counts")
_BLOCK = 1 << 20  # bytes read and parsed at a time: small blocks reuse memory instead of faulting in new pages
_SPLIT = re.compile(rb"\}\s*,\s*\{")


@dataclass(eq=False)
class Columns:
    """One block of results entries as arrays (entries in input order, ``first`` = index of the first)."""

    first: int
    image_id: np.ndarray  # (n,) int64
    category_id: np.ndarray  # (n,) int64
    score: np.ndarray  # (n,) float64
    bbox: np.ndarray | None = None  # (n, 4) float64 [x, y, w, h], NaN rows where an entry has no box
    keypoints: np.ndarray | None = None  # (n, 294, 3) float64
    mask_size: np.ndarray | None = None  # (n, 2) int64 [h, w]
    mask_counts: list[Any] | None = None  # n compressed strings (or uncompressed lists)

    def __len__(self) -> int:
        return len(self.image_id)


# ---- reading a file in blocks ---------------------------------------------------------------------------
def iter_result_chunks(
    path: str | os.PathLike[str], block: int = _BLOCK, *, whole_numbers: bool = False
) -> Iterator[tuple[int, list[Any]]]:
    """Yield ``(index of the first entry, entries)`` blocks of a results file (a JSON list of objects).

    The file is read into one reused buffer and cut after the last complete entry of each block (entries
    hold no braces inside strings: masks' counts use the characters '0'..'o'); a block that does not parse
    makes the whole file be read at once, which then also names any JSON error.

    ``whole_numbers`` reads ``2.0`` as ``2`` (same value; -0.0 becomes 0): landmark results are mostly
    ``0.0``, and Python's small integers are shared objects where each float is a new one, so parsing is
    several times faster.
    """
    src = os.fspath(path)
    buf = bytearray(2 * block + 2)
    view = memoryview(buf)
    with open(src, "rb") as f:
        n = f.readinto(view[1:])
        start = 1
        while start < 1 + n and buf[start] in b" \t\r\n":
            start += 1
        if start == 1 + n:
            raise ResultsError("the file is empty; expected a JSON list of result entries", path=src)
        if buf[start] != ord("["):
            yield 0, _parse_whole(src)
            return
        # buf[0] is a permanent "[", the unparsed text follows it at buf[1:hi]
        buf[0] = ord("[")
        rest = n - start
        arr = np.frombuffer(buf, dtype=np.uint8)
        arr[1 : 1 + rest] = arr[start + 1 : 1 + n]
        del arr
        hi = 1 + rest
        first = 0
        eof = False
        while True:
            if not eof and hi < block + 1:
                if hi + block + 1 > len(buf):
                    view.release()
                    buf.extend(bytes(hi + block + 1 - len(buf)))
                    view = memoryview(buf)
                got = f.readinto(view[hi : hi + block])
                if got:
                    hi += got
                    continue
                eof = True
            if eof:
                end = hi
                while end > 1 and buf[end - 1] in b" \t\r\n":
                    end -= 1
                if end <= 1 or buf[end - 1] != ord("]"):
                    raise ResultsError("the JSON list is not closed (truncated file?)", path=src)
                entries = _parse_piece(view[:end], whole_numbers)  # "[" + the last entries + the file's "]"
                if entries is None:
                    yield first, _parse_whole(src)[first:]
                elif entries:
                    yield first, entries
                return
            cut = _last_split(buf, hi)
            if cut is None:  # one entry longer than a block: read more
                view.release()
                buf.extend(bytes(block))
                view = memoryview(buf)
                got = f.readinto(view[hi : hi + block])
                if not got:
                    eof = True
                hi += got
                continue
            saved = buf[cut + 1]
            buf[cut + 1] = ord("]")
            entries = _parse_piece(view[: cut + 2], whole_numbers)
            buf[cut + 1] = saved
            if entries is None:
                yield first, _parse_whole(src)[first:]
                return
            yield first, entries
            first += len(entries)
            nxt = cut + 1
            while buf[nxt] != ord(","):
                nxt += 1
            nxt += 1
            rest = hi - nxt
            arr = np.frombuffer(buf, dtype=np.uint8)
            arr[1 : 1 + rest] = arr[nxt:hi]  # numpy copes with the overlap
            del arr
            hi = 1 + rest


def split_points(path: str | os.PathLike[str], parts: int) -> list[tuple[int, int]] | None:
    """Byte ranges that cut a results file (a JSON list) into ``parts`` runs of whole entries, or None.

    Each range holds entries separated by commas, from the ``{`` of its first entry to just after the ``}``
    of its last. A wrong cut (an object nested in a list) makes a part fail to parse: callers then read the
    file as one.
    """
    src = os.fspath(path)
    size = os.path.getsize(src)
    with open(src, "rb") as f:
        head = f.read(4096)
        lead = len(head) - len(head.lstrip())
        if head[lead : lead + 1] != b"[":
            return None
        first = head.find(b"{", lead)
        tail_at = max(size - 4096, 0)
        f.seek(tail_at)
        tail = f.read().rstrip()
        if not tail.endswith(b"]"):
            return None
        tail = tail[:-1].rstrip()
        if first < 0 or not tail.endswith(b"}"):
            return None
        end = tail_at + len(tail)
        starts = [first]
        stops = []
        for n in range(1, parts):
            at = max(size * n // parts, starts[-1] + 1)
            f.seek(at)
            window = f.read(1 << 22)
            m = _SPLIT.search(window)
            if m is None:
                return None
            stops.append(at + m.start() + 1)  # just after the "}"
            starts.append(at + m.end() - 1)  # the "{" of the next entry
        stops.append(end)
        ranges = list(zip(starts, stops))
        if any(e <= s0 for s0, e in ranges) or any(ranges[i][0] < ranges[i - 1][1] for i in range(1, parts)):
            return None
        return ranges


def iter_range_chunks(
    path: str | os.PathLike[str], start: int, end: int, block: int = _BLOCK, *, whole_numbers: bool = False
) -> Iterator[tuple[int, list[Any]]]:
    """Like :func:`iter_result_chunks` for the entries in bytes ``[start, end)`` of the file (a range of
    :func:`split_points`); entry indices count from the range's first entry. Raises ValueError when a
    block does not parse (the caller then reads the whole file as one)."""
    first = 0
    with open(os.fspath(path), "rb") as f:
        f.seek(start)
        left = end - start
        carry = b""
        while True:
            chunk = f.read(min(block, left)) if left > 0 else b""
            left -= len(chunk)
            data = carry + chunk
            final = left <= 0
            if final:
                piece, carry = data, b""
            else:
                cut = _last_split_bytes(data)
                if cut is None:
                    carry = data
                    continue
                piece = data[: cut + 1]
                rest = data[cut + 1 :]
                carry = rest[rest.find(b"{") :]
            if piece.strip():
                entries = _parse_piece(memoryview(b"[" + piece + b"]"), whole_numbers)
                if entries is None:
                    raise ValueError("a block of the results file does not parse")
                yield first, entries
                first += len(entries)
            if final:
                return


def _last_split_bytes(data: bytes) -> int | None:
    end = len(data)
    while True:
        i = data.rfind(b"}", 0, end)
        if i < 0:
            return None
        if _SPLIT.match(data, i) is not None:
            return i
        end = i


def _last_split(buf: bytearray, hi: int) -> int | None:
    """Index of the last "}" that ends an entry (followed by optional spaces, "," and "{") in buf[:hi]."""
    end = hi
    while True:
        i = buf.rfind(b"}", 0, end)
        if i < 0:
            return None
        m = _SPLIT.match(buf, i, hi)
        if m is not None:
            return i
        end = i


_DIGIT_DOT_ZERO = re.compile(rb"(?<=[0-9])\.0(?=[,\]])")


def whole_zeros(text: bytes | memoryview) -> bytes:
    """``x.0`` written as ``x`` before "," or "]" (the same number; see :func:`iter_result_chunks`).

    Only ``.0`` right after a digit is dropped: ``5 .0`` is not JSON and must stay so (plain replacing is used
    when no ``.0`` follows whitespace, the common case, as it is several times faster).
    """
    b = bytes(text)
    if b" .0" in b or b"\n.0" in b or b"\t.0" in b or b"\r.0" in b:
        return _DIGIT_DOT_ZERO.sub(b"", b)
    return b.replace(b".0,", b",").replace(b".0]", b"]")


def _parse_piece(text: memoryview, whole_numbers: bool = False) -> list[Any] | None:
    """Parse ``[ ... ]`` text; None when it is not a valid JSON list.

    With ``whole_numbers`` (landmark results) the 882-number lists are read by
    :mod:`~df2kit.evaluation._kptext` into arrays (each entry's ``keypoints`` becomes a float64 array).
    """
    if whole_numbers:
        out = _parse_with_keypoints(bytes(text))
        if out is not None:
            return out
    try:
        out = orjson.loads(whole_zeros(text) if whole_numbers else text)
    except orjson.JSONDecodeError:
        return None
    return out if isinstance(out, list) else None


def _parse_with_keypoints(raw: bytes) -> list[Any] | None:
    slim, spans = split_keypoint_lists(raw)
    try:
        entries = orjson.loads(slim)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entries, list):
        return None
    rows = [i for i, e in enumerate(entries) if type(e) is dict and e.get("keypoints") == []]
    if len(rows) != len(spans):
        return None
    if not rows:  # no entry with keypoints (an empty results file): nothing to fill in
        return entries
    cats = [entries[i].get("category_id") for i in rows]
    cats = [c if type(c) is int and 0 < c < 1000 else 0 for c in cats]  # 0: not a category, parsed the usual way
    kp, ok = keypoints_from_lists(raw, spans, cats)
    flat = kp.reshape(len(rows), 3 * NUM_LANDMARKS)  # -1 cannot be inferred when no list was read
    for r, i in enumerate(rows):
        if ok[r]:
            entries[i]["keypoints"] = flat[r]
        else:
            j, k = spans[r]
            try:
                entries[i]["keypoints"] = orjson.loads(whole_zeros(raw[j:k]))
            except orjson.JSONDecodeError:  # NaN, a stray character: the caller reads the file whole and names it
                return None
    return entries


def _parse_whole(src: str) -> list[Any]:
    with open(src, "rb") as f:
        raw = f.read()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        msg, item, field = explain_json_list(raw, e, item=lambda i: f"entry {i}")
        raise ResultsError(msg, path=src, item=item, field=field) from None
    if not isinstance(data, list):
        raise ResultsError(f"expected a JSON list of result entries, got a {type(data).__name__}", path=src)
    return data


# ---- entries to columns ---------------------------------------------------------------------------------
def _err(msg: str, src: str | None, index: int, field: str | None) -> ResultsError:
    return ResultsError(msg, path=src, item=f"entry {index}", field=field)


def _first_bad(entries: Sequence[Any], key: str, first: int, src: str | None, check: Any) -> ResultsError:
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            return _err(f"expected an object, got {type(e).__name__}", src, first + i, None)
        if key not in e:
            return _err(f"missing {key!r}", src, first + i, key)
        msg = check(e[key])
        if msg:
            return _err(msg, src, first + i, key)
    return _err("malformed entry", src, first, key)  # pragma: no cover - a fast path failed for no reason


def _is_int(v: Any) -> bool:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63


def _check_int(v: Any) -> str | None:
    if _is_int(v):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and float(v).is_integer():
        return f"expected an integer that fits in 64 bits, got {v!r:.40}"
    return f"expected an integer, got {v!r:.40}"


def _check_score(v: Any) -> str | None:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return f"expected a number, got {v!r:.40}"
    return None if math.isfinite(v) else f"expected a finite number, got {v!r}"


def _check_box(v: Any) -> str | None:
    if not isinstance(v, list) or len(v) != 4:
        return f"expected 4 numbers [x, y, w, h], got {v!r:.60}"
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
        return f"expected 4 finite numbers, got {v!r:.60}"
    if v[2] < 0 or v[3] < 0:
        return f"expected a width and height >= 0, got {v!r:.60}"
    return None


def _check_keypoints(v: Any) -> str | None:
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if not isinstance(v, list) or len(v) != 3 * NUM_LANDMARKS:
        n = len(v) if isinstance(v, list) else type(v).__name__
        return f"expected {3 * NUM_LANDMARKS} numbers (294 landmarks x [x, y, v]), got {n}"
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
        bad = next(
            j for j, x in enumerate(v)
            if not (isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x))
        )
        return f"expected finite numbers, got {v[bad]!r} at position {bad}"
    return None


def _check_segm(v: Any) -> str | None:
    if not isinstance(v, dict) or "size" not in v or "counts" not in v:
        return f"expected an RLE mask {{'size': [h, w], 'counts': ...}}, got {v!r:.60}"
    size = v["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(x) and x >= 0 for x in size)):
        return f"expected 'size': [height, width], got {size!r:.40}"
    if not isinstance(v["counts"], (str, list)):
        return f"expected 'counts' to be an RLE string, got {type(v['counts']).__name__}"
    return None


_CHECKS = {"bbox": _check_box, "keypoints": _check_keypoints, "segmentation": _check_segm}


def _ints(entries: Sequence[Any], key: str, first: int, src: str | None) -> np.ndarray:
    try:
        vals = [e[key] for e in entries]
        arr = np.array(vals)
    except (KeyError, TypeError, ValueError):
        raise _first_bad(entries, key, first, src, _check_int) from None
    if arr.shape != (len(vals),):  # lists in place of ids: [[]] is a float array of shape (1, 0)
        raise _first_bad(entries, key, first, src, _check_int)
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2**63:  # would wrap around to negative
        raise _first_bad(entries, key, first, src, _check_int)
    if bool in set(map(type, vals)):  # numpy reads true as 1
        raise _first_bad(entries, key, first, src, _check_int)
    if arr.dtype.kind not in "iu":
        if (arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
                and np.all(np.abs(arr) < 2**63)):
            return arr.astype(np.int64)
        raise _first_bad(entries, key, first, src, _check_int)
    return arr.astype(np.int64, copy=False)


def entries_to_columns(
    entries: Sequence[Any], first: int, task: str, src: str | None, *, need: tuple[str, ...] = ()
) -> Columns:
    """Check a block of result entries for ``task`` and turn it into :class:`Columns`.

    ``need`` names extra fields to read when present (``bbox`` for the area rule of masks and landmarks).
    """
    n = len(entries)
    try:  # fast path: one C-level pass for the three scalars (ids are exact in float64 below 2**53)
        rows = list(map(_TRIO, entries))
        trio = np.array(rows)  # numbers only: a string or None changes the dtype
        ok = trio.dtype.kind in "fiu" and trio.shape == (n, 3)
        ok = ok and bool not in set(map(type, itertools.chain.from_iterable(rows)))  # numpy makes true 1
        if ok:
            trio = trio.astype(np.float64, copy=False)
            ids = trio[:, :2]
            ok = (
                bool(np.isfinite(trio).all())
                and bool((np.abs(ids) < 2**53).all())
                and bool((ids == np.round(ids)).all())
            )
    except (KeyError, TypeError, ValueError):
        ok = False
    if ok:
        image_id = trio[:, 0].astype(np.int64)
        category_id = trio[:, 1].astype(np.int64)
        score = trio[:, 2].copy()
    else:  # find and name the first bad entry
        image_id = _ints(entries, "image_id", first, src)
        category_id = _ints(entries, "category_id", first, src)
        try:
            raw_scores = [e["score"] for e in entries]
            score = np.array(raw_scores)  # no dtype: a string must not become a number
            ok = score.dtype.kind in "fiu" and score.shape == (n,) and bool not in set(map(type, raw_scores))
            score = score.astype(np.float64)
            ok = ok and bool(np.isfinite(score).all())
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _first_bad(entries, "score", first, src, _check_score)
    cols = Columns(first=first, image_id=image_id, category_id=category_id, score=score)
    field = TASK_FIELD[task]
    if field == "bbox" or "bbox" in need:
        cols.bbox = _boxes(entries, first, src, required=(field == "bbox"))
    if field == "keypoints":
        try:
            kp = np.array(list(map(_KEYPOINTS, entries)))  # no dtype: strings must not become numbers
            ok = kp.dtype.kind in "fiu" and kp.shape == (n, 3 * NUM_LANDMARKS)
            kp = kp.astype(np.float64, copy=False)
            ok = ok and bool(np.isfinite(kp).all())
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _first_bad(entries, "keypoints", first, src, _check_keypoints)
        cols.keypoints = kp.reshape(n, NUM_LANDMARKS, 3)
    if field == "segmentation" or (field == "bbox" and cols.bbox is not None and np.isnan(cols.bbox[:, 0]).any()):
        cols.mask_size, cols.mask_counts = _masks(entries, first, src, required=(field == "segmentation"))
    return cols


def _masks(entries: Sequence[Any], first: int, src: str | None, *, required: bool) -> tuple[np.ndarray, list[Any]]:
    n = len(entries)
    try:  # fast path: every entry has a well-formed compressed mask
        segs = list(map(_SEGMENTATION, entries))
        sizes = np.array(list(map(_SIZE, segs)))
        counts = list(map(_COUNTS, segs))
        ok = sizes.shape == (n, 2) and sizes.dtype.kind in "iu" and bool((sizes >= 0).all())
    except (KeyError, TypeError, ValueError):
        ok = False
    if ok:
        return sizes.astype(np.int64).reshape(n, 2), counts
    masks = []
    for i, e in enumerate(entries):
        seg = e.get("segmentation")
        if seg is None:
            if required:
                what = "a 'bbox' but no 'segmentation'" if "bbox" in e else "no 'segmentation'"
                raise _err(
                    f"this entry has {what}: refusing to score it as a mask (pycocotools would silently "
                    "score boxes as masks)",
                    src, first + i, "segmentation",
                )
            masks.append(None)
            continue
        msg = _check_segm(seg)
        if msg:
            raise _err(msg, src, first + i, "segmentation")
        masks.append(seg)
    size = np.array([m["size"] if m is not None else [-1, -1] for m in masks], dtype=np.int64).reshape(n, 2)
    return size, [m["counts"] if m is not None else None for m in masks]


def _boxes(entries: Sequence[Any], first: int, src: str | None, *, required: bool) -> np.ndarray:
    n = len(entries)
    try:
        b = np.array(list(map(_BBOX, entries)))  # no dtype: a string must not become a number
        ok = b.dtype.kind in "fiu" and b.shape == (n, 4)
        b = b.astype(np.float64, copy=False)
        ok = ok and bool(np.isfinite(b).all()) and bool((b[:, 2:] >= 0).all())
    except (KeyError, TypeError, ValueError):
        ok = False
    if ok:
        return b.reshape(n, 4)
    out = np.full((n, 4), np.nan)
    for i, e in enumerate(entries):
        v = e.get("bbox")
        if v is None or (isinstance(v, list) and not v):
            if required and "segmentation" not in e:
                raise _err("missing 'bbox' (and no 'segmentation' to derive it from)", src, first + i, "bbox")
            continue
        msg = _check_box(v)
        if msg:
            raise _err(msg, src, first + i, "bbox")
        out[i] = v
    return out
