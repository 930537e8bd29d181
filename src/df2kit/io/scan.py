"""Scan a whole split fast into a columnar :class:`SplitTable`.

>>> from df2kit.io import scan_split
>>> table = scan_split("ROOT", "validation")            # doctest: +SKIP
>>> len(table), table.num_items                           # doctest: +SKIP
(32153, 51490)
>>> table[0].items[0].category.dataset_name              # doctest: +SKIP
'short sleeve top'

How it is fast
--------------
* Files are parsed with simdjson on all cores: the calling process and ``workers - 1`` helper processes take
  jobs from one shared counter; helpers return flat numpy arrays, not Python objects. The number lists go
  from the parser straight into float64 buffers, never through a Python float each (where simdjson has no
  wheel, orjson parses instead, with the same proofs).
* A file takes the fast path only when cheap proofs show it is clean (quote count = the exact count a
  well-formed file has, no ``true``/``false``, ``[`` count = the exact count of its lists, structure and
  ranges checked in bulk); anything else goes through the authoritative checker of
  :mod:`df2kit.io._check`, so both paths agree (a property test holds both fast paths to it).
* Jobs shrink as the scan goes on (big first, small last), so few messages travel and both cores finish
  together.
* The cache is a folder with one raw file per column. During a cold scan every process writes the two big
  columns (landmarks and polygon points, nine tenths of the bytes) of the jobs it parsed straight into the
  cache's files at their place (``pwrite``; a job's place is known once all earlier jobs have published their
  row counts), so they never travel between processes; the table then memory-maps them from there
  (copy-on-write), so they are neither joined nor copied a second time, and a cached scan maps them without
  reading. Like Hugging Face datasets' Arrow cache: delete a cache folder
  whenever you like, but do not edit its files in place while a table that maps them is in use.
* The parsed split is cached on disk (``$DF2KIT_CACHE_DIR``, default ``~/.cache/df2kit``) keyed on every
  annotation file's name, size and modification time. A re-scan re-parses only the files that changed, so
  an unchanged split loads in well under a second per 100k files and an interrupted download can be
  re-scanned without redoing finished work.

Lenient (default) vs strict: lenient skips broken files and items and records every problem in
``table.issues``; strict raises :class:`~df2kit.errors.AnnotationError` for the first error, naming the file,
item and field.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import operator
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson

try:  # the fastest path of the scanner; orjson does the same work where simdjson is missing
    import simdjson as _simdjson
except ImportError:  # pragma: no cover - simdjson is a dependency; kept for platforms without a wheel
    _simdjson = None

from .._atomic import part_prefix, remove_stale_parts
from .._progress import progress_bar
from .._workers import cpu_count, mp_context
from ..errors import AnnotationError, DatasetError, Issue
from ..layout import CATEGORIES, NUM_LANDMARKS, NUM_LANDMARKS_BY_ID, OFFSET_BY_ID, SOURCES, Category
from ..structures.records import ClothingItem, ImageAnnotation
from ._check import CleanImage, check_annotation, decode_json
from .images import ImageInfo, image_size

__all__ = [
    "SPLITS",
    "SplitTable",
    "annotation_names",
    "default_cache_dir",
    "image_size_or_error",
    "resolve_split",
    "scan_files",
    "scan_split",
]

log = logging.getLogger(__name__)

#: The split folder names of a DeepFashion2 root.
SPLITS = ("train", "validation", "test")
_CACHE_VERSION = 3
_NAME_OF = [""] + [c.name for c in CATEGORIES]
_K = [0] + [c.num_landmarks for c in CATEGORIES]


def _ragged_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges ``[starts[i], starts[i] + counts[i])`` in order."""
    counts = counts.astype(np.int64, copy=False)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(counts) - counts
    return np.repeat(starts.astype(np.int64) - offs, counts) + np.arange(total, dtype=np.int64)


def _starts(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


@dataclass(frozen=True, eq=False)
class SplitTable:
    """A parsed split in columns (one row per image, one per item), built by :func:`scan_split`.

    Images are sorted by image id. Item ``j`` belongs to image ``item_image[j]``; image ``i`` owns items
    ``item_start[i]:item_start[i + 1]``. Per-item ragged data (landmarks, polygons) is stored flat with
    start offsets; use :meth:`item_landmarks` and :meth:`item_polygons` to read them. Indexing gives
    :class:`~df2kit.structures.ImageAnnotation` records built on demand.
    """

    split_dir: Path
    stems: np.ndarray  #: (n,) file stems as str
    source: np.ndarray  #: (n,) int8: 0 shop, 1 user (see layout.SOURCES)
    pair_id: np.ndarray  #: (n,) int64
    item_count: np.ndarray  #: (n,) int64 items per image
    item_key: np.ndarray  #: (m,) str
    category_id: np.ndarray  #: (m,) int16
    style: np.ndarray  #: (m,) int64
    bbox_xyxy: np.ndarray  #: (m, 4) float64 corners
    attributes: np.ndarray  #: (m, 4) int8: scale, occlusion, zoom_in, viewpoint
    landmarks: np.ndarray  #: (sum K, 3) float64, each item's K rows in category-local order
    polygon_count: np.ndarray  #: (m,) int64 polygons per item
    point_count: np.ndarray  #: (p,) int64 points per polygon
    points: np.ndarray  #: (sum points, 2) float64
    issues: tuple[Issue, ...] = ()
    num_files: int = 0  #: annotation files seen (including unusable ones)
    width: np.ndarray | None = None  #: (n,) int64 image widths, -1 where unknown (see with_image_sizes)
    height: np.ndarray | None = None

    # ---- sizes and derived columns ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The split's folder name (``validation``)."""
        return self.split_dir.name

    def __len__(self) -> int:
        return len(self.stems)

    @property
    def num_items(self) -> int:
        return len(self.category_id)

    @cached_property
    def image_id(self) -> np.ndarray:
        """(n,) int64 image ids (file stem integers), ascending."""
        return self.stems.astype(np.int64) if len(self.stems) else np.zeros(0, np.int64)

    @cached_property
    def item_start(self) -> np.ndarray:
        return _starts(self.item_count)

    @cached_property
    def item_image(self) -> np.ndarray:
        """(m,) index of each item's image row."""
        return np.repeat(np.arange(len(self.stems), dtype=np.int64), self.item_count)

    @cached_property
    def landmark_start(self) -> np.ndarray:
        return _starts(NUM_LANDMARKS_BY_ID[self.category_id.astype(np.int64)])

    @cached_property
    def polygon_start(self) -> np.ndarray:
        return _starts(self.polygon_count)

    @cached_property
    def point_start(self) -> np.ndarray:
        return _starts(self.point_count)

    @property
    def bbox_xywh(self) -> np.ndarray:
        b = self.bbox_xyxy.copy()
        b[:, 2:] -= b[:, :2]
        return b

    @cached_property
    def item_source(self) -> np.ndarray:
        return self.source[self.item_image]

    @cached_property
    def item_pair_id(self) -> np.ndarray:
        return self.pair_id[self.item_image]

    def style_identities(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Style identities (pair_id, style > 0) and the items in them.

        Returns ``(keys, item_group, shop_count, user_count)``: ``keys`` (g, 2) [pair_id, style],
        ``item_group`` (m,) the identity of each item (-1 for style 0), and per identity the number of shop
        and user items. A positive pair is one shop item and one user item of the same identity.
        """
        group = np.full(self.num_items, -1, dtype=np.int64)
        sel = np.flatnonzero(self.style > 0)
        if not len(sel):
            z = np.zeros(0, np.int64)
            return np.zeros((0, 2), np.int64), group, z, z
        keys = np.stack([self.item_pair_id[sel], self.style[sel]], axis=1)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        group[sel] = inv
        src = self.item_source[sel]
        shop = np.bincount(inv[src == 0], minlength=len(uniq))
        user = np.bincount(inv[src == 1], minlength=len(uniq))
        return uniq, group, shop, user

    @cached_property
    def _row_of_id(self) -> dict[int, int]:
        return {int(i): r for r, i in enumerate(self.image_id)}

    # ---- access ----------------------------------------------------------------------------------------
    def index_of(self, image_id: int) -> int:
        """Row of an image id; KeyError if the split has no such image."""
        try:
            return self._row_of_id[int(image_id)]
        except KeyError:
            raise KeyError(f"image id {image_id} is not in {self.split_dir}") from None

    def item_landmarks(self, j: int) -> np.ndarray:
        """(K, 3) landmarks of item ``j`` (a read-only view)."""
        s = self.landmark_start
        v = self.landmarks[s[j] : s[j + 1]]
        v.flags.writeable = False
        return v

    def item_polygons(self, j: int) -> list[np.ndarray]:
        """The polygons of item ``j`` as (P, 2) arrays (read-only views)."""
        ps, qs = self.polygon_start, self.point_start
        out = []
        for p in range(ps[j], ps[j + 1]):
            v = self.points[qs[p] : qs[p + 1]]
            v.flags.writeable = False
            out.append(v)
        return out

    def landmarks_294(self, items: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Landmarks of the given items (default all) in the global layout: ``(len(items), 294, 3)``."""
        idx = np.arange(self.num_items) if items is None else np.asarray(items, dtype=np.int64)
        out = np.zeros((len(idx), NUM_LANDMARKS, 3), dtype=np.float64)
        cats = self.category_id[idx].astype(np.int64)
        ks = NUM_LANDMARKS_BY_ID[cats]
        src = _ragged_index(self.landmark_start[idx], ks)
        rows = np.repeat(np.arange(len(idx)), ks)
        cols = np.repeat(OFFSET_BY_ID[cats], ks) + (np.arange(len(src)) - np.repeat(np.cumsum(ks) - ks, ks))
        out[rows, cols] = self.landmarks[src]
        return out

    def image_path(self, i: int) -> Path:
        return self.split_dir / "image" / f"{self.stems[i]}.jpg"

    def annotation_path(self, i: int) -> Path:
        return self.split_dir / "annos" / f"{self.stems[i]}.json"

    def item(self, j: int) -> ClothingItem:
        """Record of item ``j``."""
        a = self.attributes[j]
        return ClothingItem(
            key=str(self.item_key[j]),
            category=Category(int(self.category_id[j])),
            style=int(self.style[j]),
            bbox_xyxy=tuple(self.bbox_xyxy[j].tolist()),  # type: ignore[arg-type]
            landmarks=self.item_landmarks(j),
            segmentation=tuple(self.item_polygons(j)),
            scale=int(a[0]),
            occlusion=int(a[1]),
            zoom_in=int(a[2]),
            viewpoint=int(a[3]),
        )

    def __getitem__(self, i: int) -> ImageAnnotation:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"image row {i} out of range for {n} images")
        i %= n
        s = self.item_start
        w = int(self.width[i]) if self.width is not None and self.width[i] >= 0 else None
        h = int(self.height[i]) if self.height is not None and self.height[i] >= 0 else None
        return ImageAnnotation(
            stem=str(self.stems[i]),
            source=SOURCES[int(self.source[i])],
            pair_id=int(self.pair_id[i]),
            items=tuple(self.item(j) for j in range(s[i], s[i + 1])),
            width=w,
            height=h,
            path=str(self.annotation_path(i)),
        )

    def __iter__(self) -> Iterator[ImageAnnotation]:
        for i in range(len(self)):
            yield self[i]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    def with_image_sizes(self, *, workers: int | None = None, progress: bool = False) -> SplitTable:
        """A copy with ``width``/``height`` read from the image headers (-1 where an image is unreadable)."""
        paths = [str(self.image_path(i)) for i in range(len(self))]
        infos = read_image_sizes(paths, workers=workers, progress=progress)
        w = np.array([-1 if isinstance(x, Exception) else x.width for x in infos], dtype=np.int64)
        h = np.array([-1 if isinstance(x, Exception) else x.height for x in infos], dtype=np.int64)
        return replace(self, width=w, height=h)

    def select(self, rows: np.ndarray | Sequence[int]) -> SplitTable:
        """A new table with only the given image rows (in the given order)."""
        rows = np.asarray(rows, dtype=np.int64)
        items = _ragged_index(self.item_start[rows], self.item_count[rows])
        lms = _ragged_index(self.landmark_start[items], NUM_LANDMARKS_BY_ID[self.category_id[items].astype(np.int64)])
        polys = _ragged_index(self.polygon_start[items], self.polygon_count[items])
        pts = _ragged_index(self.point_start[polys], self.point_count[polys])
        return SplitTable(
            split_dir=self.split_dir,
            stems=self.stems[rows],
            source=self.source[rows],
            pair_id=self.pair_id[rows],
            item_count=self.item_count[rows],
            item_key=self.item_key[items],
            category_id=self.category_id[items],
            style=self.style[items],
            bbox_xyxy=self.bbox_xyxy[items],
            attributes=self.attributes[items],
            landmarks=self.landmarks[lms],
            polygon_count=self.polygon_count[items],
            point_count=self.point_count[polys],
            points=self.points[pts],
            issues=self.issues,
            num_files=self.num_files,
            width=None if self.width is None else self.width[rows],
            height=None if self.height is None else self.height[rows],
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "stems": self.stems,
            "source": self.source,
            "pair_id": self.pair_id,
            "item_count": self.item_count,
            "item_key": self.item_key,
            "category_id": self.category_id,
            "style": self.style,
            "bbox_xyxy": self.bbox_xyxy,
            "attributes": self.attributes,
            "landmarks": self.landmarks,
            "polygon_count": self.polygon_count,
            "point_count": self.point_count,
            "points": self.points,
        }


# ---- image headers -------------------------------------------------------------------------------------
def image_size_or_error(p: str) -> ImageInfo | Exception:
    """:func:`df2kit.io.image_size` of ``p``, or the exception it raised (for pools that must not stop)."""
    try:
        return image_size(p)
    except Exception as e:  # noqa: BLE001 - returned to the caller as a value
        return e


def read_image_sizes(
    paths: Sequence[str], *, workers: int | None = None, progress: bool = False
) -> list[ImageInfo | Exception]:
    """Header sizes of many images (threads: the work is I/O). Errors are returned in place, not raised."""
    from concurrent.futures import ThreadPoolExecutor

    n_workers = workers or min(16, (os.cpu_count() or 1) * 4)
    with ThreadPoolExecutor(n_workers) as ex:
        it = ex.map(image_size_or_error, paths, chunksize=256)
        return list(progress_bar(it, total=len(paths), desc="image headers", enabled=progress))


# ---- locating a split ----------------------------------------------------------------------------------
def _named(p: Path) -> Path:
    """``p`` with a real last name: the split's name names output folders (YOLO ``labels/<split>``), and
    ``x/annos/..`` or ``--split ..`` would otherwise name them ``..``."""
    return p.resolve() if p.name in ("", "..") else p


def resolve_split(root: str | os.PathLike[str], split: str | None = None) -> Path:
    """The split folder for ``root`` and ``split``.

    ``root`` may be the dataset root (holding ``train/``, ``validation/``, ``test/``) together with a split
    name, or a split folder itself (holding ``annos/`` and/or ``image/``), in which case ``split`` is ignored
    unless ``root/split`` exists. ``~`` means the home folder.
    """
    r = Path(root).expanduser()
    if not r.exists():
        raise DatasetError("no such folder", path=str(r))
    if not r.is_dir():
        raise DatasetError("expected a folder (a DeepFashion2 root or split), got a file", path=str(r))
    if split is not None and (r / split).is_dir():
        return _named(r / split)
    if (r / "annos").is_dir() or (r / "image").is_dir():
        return _named(r)
    tried = f"{r / split}" if split else f"{r}/annos"
    found = sorted(p.name for p in r.iterdir() if p.is_dir())[:8]
    raise DatasetError(
        f"expected a DeepFashion2 split folder with annos/ and image/ (looked for {tried}); "
        f"folders here: {', '.join(found) or 'none'}",
        path=str(r),
    )


def default_cache_dir() -> Path:
    env = os.environ.get("DF2KIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "df2kit"


# ---- parsing chunks ------------------------------------------------------------------------------------
@dataclass
class _Chunk:
    """Columns parsed from some files (counts, not starts, so chunks concatenate)."""

    stems: list[str] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    pair_id: list[int] = field(default_factory=list)
    item_count: list[int] = field(default_factory=list)
    item_key: list[str] = field(default_factory=list)
    category_id: list[int] = field(default_factory=list)
    style: list[int] = field(default_factory=list)
    bbox: list[Any] = field(default_factory=list)
    attrs: list[int] = field(default_factory=list)
    landmarks: list[Any] = field(default_factory=list)
    polygon_count: list[int] = field(default_factory=list)
    point_count: list[int] = field(default_factory=list)
    points: list[Any] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def add_clean(self, stem: str, clean: CleanImage) -> None:
        self.stems.append(stem)
        self.source.append(0 if clean.source == "shop" else 1)
        self.pair_id.append(clean.pair_id)
        self.item_count.append(len(clean.items))
        for it in clean.items:
            self.item_key.append(it.key)
            self.category_id.append(it.category_id)
            self.style.append(it.style)
            self.bbox.extend(it.bbox)
            self.attrs.extend(it.attrs)
            self.landmarks.extend(it.landmarks)
            self.polygon_count.append(len(it.polygons))
            for p in it.polygons:
                self.point_count.append(len(p) // 2)
                self.points.extend(p)


@dataclass
class _Arrays:
    stems: np.ndarray
    source: np.ndarray
    pair_id: np.ndarray
    item_count: np.ndarray
    item_key: np.ndarray
    category_id: np.ndarray
    style: np.ndarray
    bbox: np.ndarray
    attrs: np.ndarray
    landmarks: np.ndarray
    polygon_count: np.ndarray
    point_count: np.ndarray
    points: np.ndarray
    issues: list[Issue]


def _to_arrays(c: _Chunk) -> _Arrays:
    return _Arrays(
        stems=np.array(c.stems, dtype=str) if c.stems else np.zeros(0, dtype="<U6"),
        source=np.array(c.source, dtype=np.int8),
        pair_id=np.array(c.pair_id, dtype=np.int64),
        item_count=np.array(c.item_count, dtype=np.int64),
        item_key=np.array(c.item_key, dtype=str) if c.item_key else np.zeros(0, dtype="<U5"),
        category_id=np.array(c.category_id, dtype=np.int16),
        style=np.array(c.style, dtype=np.int64),
        bbox=np.array(c.bbox, dtype=np.float64).reshape(-1, 4),
        attrs=np.array(c.attrs, dtype=np.int8).reshape(-1, 4),
        landmarks=np.array(c.landmarks, dtype=np.float64).reshape(-1, 3),
        polygon_count=np.array(c.polygon_count, dtype=np.int64),
        point_count=np.array(c.point_count, dtype=np.int64),
        points=np.array(c.points, dtype=np.float64).reshape(-1, 2),
        issues=c.issues,
    )


def _slow(chunk: _Chunk, raw: bytes | None, stem: str, path: str, err: OSError | None = None) -> None:
    issues: list[Issue] = []
    if err is not None:
        issues.append(Issue("error", "unreadable-file", f"cannot read: {err.strerror or err}", path))
        clean = None
    elif not stem.isdigit() or not stem.isascii():
        issues.append(
            Issue("error", "bad-file-name", f"expected a file name made of digits like 000123, got {stem!r}", path)
        )
        clean = None
    else:
        ok, obj = decode_json(raw or b"", path, issues)
        clean = check_annotation(obj, path=path, issues=issues) if ok else None
    chunk.issues.extend(issues)
    if clean is not None:
        chunk.add_clean(stem, clean)


_GET_FIELDS = operator.itemgetter(
    "category_id", "category_name", "style", "bounding_box", "landmarks", "segmentation",
    "scale", "occlusion", "zoom_in", "viewpoint",
)
_K3 = [3 * k for k in _K]
_K3_ARR = np.array(_K3, dtype=np.int64)
_NAME_ARR = np.array(_NAME_OF, dtype=object)
_READ = 1 << 20
_MIN_CHUNK = 500  # files per worker job at least (tests lower it to exercise the pool)


def _read_file(path: str) -> tuple[bytes, int, int]:
    """Bytes, size and mtime (ns) of a file, from one open file descriptor.

    The first read asks for the size fstat gives plus one byte: asking for much more makes Python allocate
    (and page in) that much for every small file, which cost more than the read itself.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        want = st.st_size + 1
        raw = os.read(fd, want)
        if len(raw) == want:  # the file grew since fstat (or is not a regular file): read to the end
            parts = [raw]
            while True:
                more = os.read(fd, _READ)
                if not more:
                    break
                parts.append(more)
            raw = b"".join(parts)
        return raw, st.st_size, st.st_mtime_ns
    finally:
        os.close(fd)


_READ_THREADS = 16  # files read at once: a cold disk answers many requests in about the time of one
_READ_AHEAD = 256  # files read ahead of the parser at most (bounds the memory held in flight)
_PROBE = 32  # files read one by one first, to tell a cold disk from the page cache
_SLOW_READ_S = 2e-4  # a mean read slower than this means the disk, not the page cache


def _read_or_error(path: str) -> tuple[bytes, int, int] | OSError:
    try:
        return _read_file(path)
    except OSError as e:
        return e


def _read_ahead(paths: list[str]) -> Iterator[tuple[bytes, int, int] | OSError]:
    """:func:`_read_file` of each path, in order; from a slow (cold) disk, many files are read at once.

    The first files are read one by one and timed. When they come from the page cache (tens of
    microseconds each) the rest follow the same way; when they come from the disk, threads keep up to
    ``_READ_AHEAD`` reads in flight (the GIL is released while waiting), which turns a cold scan from
    disk-latency-bound into parse-bound.
    """
    t0 = time.perf_counter()
    head = paths[:_PROBE]
    for p in head:
        yield _read_or_error(p)
    rest = paths[len(head):]
    if not rest:
        return
    if (time.perf_counter() - t0) / len(head) < _SLOW_READ_S:
        yield from map(_read_or_error, rest)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(_READ_THREADS, thread_name_prefix="df2kit-read") as pool:
        it = iter(rest)
        window = deque(pool.submit(_read_or_error, p) for p in itertools.islice(it, _READ_AHEAD))
        while window:
            got = window.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                window.append(pool.submit(_read_or_error, nxt))
            yield got


class _Candidates:
    """Files that passed the per-file proofs, with their items not yet checked."""

    def __init__(self) -> None:
        self.files: list[int] = []  # index into names
        self.stems: list[str] = []
        self.source: list[int] = []
        self.pair_id: list[int] = []
        self.item_count: list[int] = []
        self.keys: list[str] = []
        self.items: list[Any] = []


def _int_column(values: Sequence[Any], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """int64 column and a bad mask (not an int, or outside lo..hi-1)."""
    arr = np.array(values)
    if arr.dtype.kind == "i" and len(arr):
        return arr.astype(np.int64, copy=False), (arr < lo) | (arr >= hi)
    if not len(arr):
        return np.zeros(0, np.int64), np.zeros(0, bool)
    ok = np.fromiter((type(v) is int and lo <= v < hi for v in values), dtype=bool, count=len(values))
    out = np.zeros(len(values), np.int64)
    out[ok] = [v for v, g in zip(values, ok) if g]
    return out, ~ok


def _scalar_columns(
    n: int, cids: Sequence[Any], names: Sequence[Any], styles: Sequence[Any], attr_cols: Sequence[Sequence[Any]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """category_id, style and the 4 attributes as columns, plus a bad-item mask (type, range, name)."""
    cid, bad = _int_column(cids, 1, 14)
    cid[bad] = 1
    bad |= np.array(names, dtype=object) != _NAME_ARR[cid]
    style, b = _int_column(styles, 0, 2**63 - 1)
    bad |= b
    attrs = np.zeros((n, 4), np.int8)
    for k, col in enumerate(attr_cols):
        a, b = _int_column(col, 1, 4)
        bad |= b
        attrs[:, k] = np.where(b, 1, a)
    return cid, style, attrs, bad


def _bad_keys(keys: Sequence[str]) -> np.ndarray:
    """True for item keys that are not ``item`` + digits."""
    return np.fromiter((not (k[:4] == "item" and k[4:].isdigit()) for k in keys), dtype=bool, count=len(keys))


def _items_bulk(c: _Candidates) -> tuple[_Arrays, np.ndarray]:
    """Columns of the candidates' items with C-level passes only; (arrays, bad item mask).

    Raises TypeError/KeyError/ValueError when the structure is off somewhere (then the caller checks item
    by item). Number lists go through np.fromiter(float64): strings cannot occur (quote count), booleans
    cannot (no true/false in the bytes), None and nested lists raise.
    """
    fields = list(map(_GET_FIELDS, c.items))  # TypeError for non-objects, KeyError for missing fields
    n = len(fields)
    bad = np.fromiter(map(len, c.items), dtype=np.int64, count=n) != 10
    if n:
        cids, names, styles, bbs, lms, segs, s1, s2, s3, s4 = zip(*fields)
    else:
        cids = names = styles = bbs = lms = segs = s1 = s2 = s3 = s4 = ()
    cid, style, attrs, b = _scalar_columns(n, cids, names, styles, (s1, s2, s3, s4))
    bad |= b
    bb_len = np.fromiter(map(len, bbs), dtype=np.int64, count=n)
    lm_len = np.fromiter(map(len, lms), dtype=np.int64, count=n)
    seg_len = np.fromiter(map(len, segs), dtype=np.int64, count=n)
    if (bb_len != 4).any() or (lm_len != _K3_ARR[cid]).any():
        raise ValueError("box or landmark length")  # rare: the item-by-item path names the item
    bad |= seg_len == 0
    polys = list(itertools.chain.from_iterable(segs))
    p_len = np.fromiter(map(len, polys), dtype=np.int64, count=len(polys))
    poly_item = np.repeat(np.arange(n), seg_len)
    bad_poly = (p_len < 6) | (p_len % 2 == 1)
    if bad_poly.any():
        bad[poly_item[bad_poly]] = True
    bbox = np.fromiter(itertools.chain.from_iterable(bbs), dtype=np.float64, count=4 * n).reshape(-1, 4)
    lm = np.fromiter(itertools.chain.from_iterable(lms), dtype=np.float64, count=int(lm_len.sum())).reshape(-1, 3)
    pts = np.fromiter(itertools.chain.from_iterable(polys), dtype=np.float64, count=int(p_len.sum())).reshape(-1, 2)
    keys = c.keys
    bad |= _bad_keys(keys)
    arrays = _Arrays(
        stems=np.array(c.stems, dtype=str) if c.stems else np.zeros(0, dtype="<U6"),
        source=np.array(c.source, dtype=np.int8),
        pair_id=np.array(c.pair_id, dtype=np.int64),
        item_count=np.array(c.item_count, dtype=np.int64),
        item_key=np.array(keys, dtype=str) if keys else np.zeros(0, dtype="<U5"),
        category_id=cid.astype(np.int16),
        style=style,
        bbox=bbox,
        attrs=attrs,
        landmarks=lm,
        polygon_count=seg_len,
        point_count=p_len // 2,
        points=pts,
        issues=[],
    )
    return arrays, bad


def _items_one_by_one(c: _Candidates) -> tuple[_Arrays, np.ndarray]:
    """The same as _items_bulk, item by item in Python (used when the bulk pass meets odd structure)."""
    out = _Chunk()
    pos = 0
    for r, cnt in enumerate(c.item_count):
        staged = []
        for key, it in zip(c.keys[pos : pos + cnt], c.items[pos : pos + cnt]):
            item = _check_item_fast(key, it)
            if item is None:
                staged = None
                break
            staged.append(item)
        pos += cnt
        if staged is None:
            staged = []
        out.stems.append(c.stems[r])
        out.source.append(c.source[r])
        out.pair_id.append(c.pair_id[r])
        out.item_count.append(len(staged))
        for key, cid, style, bb, lm, seg, attrs in staged:
            out.item_key.append(key)
            out.category_id.append(cid)
            out.style.append(style)
            out.bbox.extend(bb)
            out.attrs.extend(attrs)
            out.landmarks.extend(lm)
            out.polygon_count.append(len(seg))
            for poly in seg:
                out.point_count.append(len(poly) >> 1)
                out.points.extend(poly)
    # a failed file keeps no items, so the caller sees it by its item count
    arrays = _to_arrays(out)
    return arrays, np.zeros(len(arrays.category_id), dtype=bool)


def _check_item_fast(key: str, it: Any) -> tuple[Any, ...] | None:
    if type(it) is not dict or len(it) != 10 or key[:4] != "item" or not key[4:].isdigit():
        return None
    try:
        cid, cname, style, bb, lm, seg, s1, s2, s3, s4 = _GET_FIELDS(it)
    except KeyError:
        return None
    if (
        type(cid) is not int
        or not 0 < cid < 14
        or cname != _NAME_OF[cid]
        or type(style) is not int
        or not 0 <= style < 2**63
        or type(bb) is not list
        or len(bb) != 4
        or type(lm) is not list
        or len(lm) != _K3[cid]
        or type(seg) is not list
        or not seg
        or type(s1) is not int
        or type(s2) is not int
        or type(s3) is not int
        or type(s4) is not int
        or not (0 < s1 < 4 and 0 < s2 < 4 and 0 < s3 < 4 and 0 < s4 < 4)
    ):
        return None
    for poly in seg:
        if type(poly) is not list or len(poly) < 6 or len(poly) & 1:
            return None
    return (key, cid, style, bb, lm, seg, (s1, s2, s3, s4))


def _parse_files(anno_dir: str, names: list[str]) -> tuple[_Arrays, np.ndarray, np.ndarray]:
    """Parse annotation files with the cyclic garbage collector paused (see _parse_files_gc_on)."""
    was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers, no cycles: collections would only re-walk them
    try:
        return _parse_files_gc_on(anno_dir, names)
    finally:
        if was_enabled:
            gc.enable()


def _parse_files_gc_on(anno_dir: str, names: list[str]) -> tuple[_Arrays, np.ndarray, np.ndarray]:
    """Parse annotation files; return the usable rows as arrays, all issues, and each file's size/mtime.

    The fast path accepts a file only when cheap proofs show it is clean: the exact count of quote
    characters a well-formed file has (no strings where numbers belong, no duplicate or extra keys), no
    ``true``/``false`` in the bytes, then the items' structure, types and numbers checked in bulk over the
    whole chunk with C-level passes. Every file that fails a proof goes through the authoritative checker,
    so the issues are the same either way. With simdjson installed the number lists go from the parser
    straight into float64 buffers (no Python float per number); otherwise orjson parses.
    """
    if _simdjson is not None:
        return _parse_files_simd(anno_dir, names)
    cand = _Candidates()
    slow_idx: list[int] = []
    raws: dict[int, bytes] = {}
    loads = orjson.loads
    prefix = anno_dir + os.sep
    sizes = np.full(len(names), -1, dtype=np.int64)
    mtimes = np.full(len(names), -1, dtype=np.int64)
    f_a, st_a, src_a, pid_a, cnt_a = (
        cand.files.append, cand.stems.append, cand.source.append, cand.pair_id.append, cand.item_count.append
    )
    keys_e, items_e = cand.keys.extend, cand.items.extend
    for f_i, (name, got) in enumerate(zip(names, _read_ahead([prefix + n for n in names]))):
        stem = name[:-5]
        if isinstance(got, OSError):
            slow_idx.append(f_i)
            continue
        raw, sizes[f_i], mtimes[f_i] = got
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            slow_idx.append(f_i)
            raws[f_i] = raw
            continue
        if type(obj) is dict:
            src = obj.pop("source", None)
            pid = obj.pop("pair_id", None)
            if (
                obj
                and (src == "shop" or src == "user")
                and type(pid) is int
                and 0 <= pid < 2**63
                and raw.count(b'"') == 6 + 24 * len(obj)
                and b"true" not in raw
                and b"false" not in raw
                and stem.isdigit()
            ):
                f_a(f_i)
                st_a(stem)
                src_a(0 if src == "shop" else 1)
                pid_a(pid)
                cnt_a(len(obj))
                keys_e(obj.keys())
                items_e(obj.values())
                continue
        slow_idx.append(f_i)
        raws[f_i] = raw
    def bulk() -> tuple[_Arrays, np.ndarray]:
        try:
            return _items_bulk(cand)
        except (TypeError, KeyError, ValueError, OverflowError):
            return _items_one_by_one(cand)

    return _finish(anno_dir, names, cand.files, cand.item_count, bulk, slow_idx, raws, sizes, mtimes)


def _finish(
    anno_dir: str,
    names: list[str],
    files: list[int],
    item_count: list[int],
    bulk: Any,
    slow_idx: list[int],
    raws: dict[int, bytes],
    sizes: np.ndarray,
    mtimes: np.ndarray,
) -> tuple[_Arrays, np.ndarray, np.ndarray]:
    """Check the fast path's candidate files in bulk (``bulk()`` gives their arrays and a bad-item mask) and
    send every file that fails, and every file in ``slow_idx``, through the authoritative checker."""
    arr: _Arrays | None
    try:
        arr, bad_item = bulk()
        counts = np.array(item_count, dtype=np.int64)
        item_file = np.repeat(np.arange(len(files)), arr.item_count)
        bad_files = np.zeros(len(files), dtype=bool)
        if bad_item.any():
            bad_files[item_file[bad_item]] = True
        bad_files |= arr.item_count != counts  # the item-by-item path dropped a file's items
        bad_files |= _bulk_check(arr)
    except (TypeError, ValueError, OverflowError):  # numbers that are not numbers: check every file
        arr, bad_files = None, np.ones(len(files), dtype=bool)
    if bad_files.any():
        slow_idx.extend(files[r] for r in np.flatnonzero(bad_files))
        keep = np.flatnonzero(~bad_files)
        arr = _take_rows(arr, keep) if arr is not None and len(keep) else None
    if arr is not None and not len(arr.stems):
        arr = None
    if not slow_idx:
        return (arr if arr is not None else _to_arrays(_Chunk())), sizes, mtimes
    slow = _Chunk()
    for f_i in sorted(slow_idx):
        name = names[f_i]
        path = os.path.join(anno_dir, name)
        raw = raws.get(f_i)
        if raw is None:
            try:
                with open(path, "rb") as fh:
                    raw = fh.read()
            except OSError as e:
                _slow(slow, None, name[:-5], path, e)
                continue
        _slow(slow, raw, name[:-5], path)
    sarr = _to_arrays(slow)
    return (sarr if arr is None else _concat([arr, sarr])), sizes, mtimes


# ---- the simdjson fast path ------------------------------------------------------------------------------
_K3_OF = {cid: k3 for cid, k3 in enumerate(_K3) if cid}
_SIMD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RuntimeError)  # RuntimeError: big integers


class _SimdColumns:
    """What the simdjson fast path keeps of each clean-looking file: scalars in lists, numbers as buffers."""

    def __init__(self) -> None:
        self.files: list[int] = []
        self.stems: list[str] = []
        self.source: list[int] = []
        self.pair_id: list[int] = []
        self.item_count: list[int] = []
        self.keys: list[str] = []
        self.scalars: list[Any] = []  # per item: category_id, category_name, style, 4 attributes
        self.seg_n: list[int] = []  # polygons per item
        self.p_len: list[int] = []  # numbers per polygon
        self.bbs: list[Any] = []  # float64 buffers
        self.lms: list[Any] = []
        self.pts: list[Any] = []


def _simd_file(parser: Any, raw: bytes, c: _SimdColumns) -> bool:
    """Add one file to ``c`` when it passes the per-file proofs; False (nothing added) otherwise.

    Proofs: starts with ``{``; no ``true``/``false``; keys are ``source``, ``pair_id`` and distinct
    ``itemN``; quote count 6 + 24 per item (no string where a number belongs, no extra key); ``[`` count
    3 per item + 1 per polygon (no nested list where numbers belong); box of 4 and the category's landmark
    count. simdjson refuses strings, null, objects and non-finite numbers inside the number lists. Types
    and ranges of the scalars are checked in bulk afterwards (:func:`_items_simd`).
    """
    if raw[:1] != b"{" or b"true" in raw or b"false" in raw:
        return False
    doc = parser.parse(raw)
    keys = list(doc.keys())
    n = len(keys) - 2
    if n < 1 or raw.count(b'"') != 6 + 24 * n:
        return False
    src = doc["source"]
    pid = doc["pair_id"]
    if not ((src == "shop" or src == "user") and type(pid) is int and 0 <= pid < 2**63):
        return False
    item_keys = [k for k in keys if k != "source" and k != "pair_id"]
    if len(item_keys) != n or len(set(item_keys)) != n:
        return False
    n0, p0 = len(c.keys), len(c.p_len)
    polys = 0
    try:
        for k in item_keys:
            it = doc[k]
            if len(it) != 10:
                raise ValueError
            cid = it["category_id"]
            c.scalars.append((cid, it["category_name"], it["style"], it["scale"], it["occlusion"], it["zoom_in"],
                              it["viewpoint"]))
            x = it["bounding_box"]
            if len(x) != 4:
                raise ValueError
            c.bbs.append(x.as_buffer(of_type="d"))
            x = it["landmarks"]
            if len(x) != _K3_OF[cid]:
                raise ValueError
            c.lms.append(x.as_buffer(of_type="d"))
            x = it["segmentation"]
            lens = [len(q) for q in x]
            c.seg_n.append(len(lens))
            c.p_len.extend(lens)
            polys += len(lens)
            c.pts.append(x.as_buffer(of_type="d"))
            c.keys.append(k)
        if raw.count(b"[") != 3 * n + polys:
            raise ValueError
    except _SIMD_ERRORS:
        del c.keys[n0:], c.scalars[n0:], c.seg_n[n0:], c.bbs[n0:], c.lms[n0:], c.pts[n0:], c.p_len[p0:]
        return False
    c.source.append(0 if src == "shop" else 1)
    c.pair_id.append(pid)
    c.item_count.append(n)
    return True


def _items_simd(c: _SimdColumns) -> tuple[_Arrays, np.ndarray]:
    """Columns of the simdjson candidates' items and a bad-item mask (types and ranges, checked in bulk).

    The number columns are read-only views of the joined buffers (no second copy): parts are only read
    until :func:`_concat` copies them into the table's arrays.
    """
    n = len(c.keys)
    if n:
        cids, names, styles, s1, s2, s3, s4 = zip(*c.scalars)
    else:
        cids = names = styles = s1 = s2 = s3 = s4 = ()
    cid, style, attrs, bad = _scalar_columns(n, cids, names, styles, (s1, s2, s3, s4))
    seg_n = np.array(c.seg_n, dtype=np.int64)
    p_len = np.array(c.p_len, dtype=np.int64)
    bad |= seg_n == 0
    bad_poly = (p_len < 6) | (p_len % 2 == 1)
    if bad_poly.any():
        bad[np.repeat(np.arange(n), seg_n)[bad_poly]] = True
    keys = c.keys
    bad |= _bad_keys(keys)
    arrays = _Arrays(
        stems=np.array(c.stems, dtype=str) if c.stems else np.zeros(0, dtype="<U6"),
        source=np.array(c.source, dtype=np.int8),
        pair_id=np.array(c.pair_id, dtype=np.int64),
        item_count=np.array(c.item_count, dtype=np.int64),
        item_key=np.array(keys, dtype=str) if keys else np.zeros(0, dtype="<U5"),
        category_id=cid.astype(np.int16),
        style=style,
        bbox=np.frombuffer(b"".join(c.bbs), dtype=np.float64).reshape(-1, 4),
        attrs=attrs,
        landmarks=np.frombuffer(b"".join(c.lms), dtype=np.float64).reshape(-1, 3),
        polygon_count=seg_n,
        point_count=p_len // 2,
        points=np.frombuffer(b"".join(c.pts), dtype=np.float64).reshape(-1, 2),
        issues=[],
    )
    return arrays, bad


def _parse_files_simd(anno_dir: str, names: list[str]) -> tuple[_Arrays, np.ndarray, np.ndarray]:
    """:func:`_parse_files_gc_on` with simdjson: the same proofs, the numbers never become Python floats."""
    assert _simdjson is not None
    parser = _simdjson.Parser()
    c = _SimdColumns()
    slow_idx: list[int] = []
    raws: dict[int, bytes] = {}
    prefix = anno_dir + os.sep
    sizes = np.full(len(names), -1, dtype=np.int64)
    mtimes = np.full(len(names), -1, dtype=np.int64)
    for f_i, (name, got) in enumerate(zip(names, _read_ahead([prefix + n for n in names]))):
        if isinstance(got, OSError):
            slow_idx.append(f_i)
            continue
        raw, sizes[f_i], mtimes[f_i] = got
        stem = name[:-5]
        try:
            ok = stem.isdigit() and stem.isascii() and _simd_file(parser, raw, c)
        except _SIMD_ERRORS:  # not JSON simdjson accepts, or not the expected shape
            ok = False
        if ok:
            c.files.append(f_i)
            c.stems.append(stem)
        else:
            slow_idx.append(f_i)
            raws[f_i] = raw
    return _finish(anno_dir, names, c.files, c.item_count, lambda: _items_simd(c), slow_idx, raws, sizes, mtimes)


def _bulk_check(a: _Arrays) -> np.ndarray:
    """Per image row: True where some number is out of rule (then the row is re-checked in detail)."""
    n = len(a.stems)
    bad_item = ~np.isfinite(a.bbox).all(axis=1) | ~(a.bbox[:, 2] > a.bbox[:, 0]) | ~(a.bbox[:, 3] > a.bbox[:, 1])
    lm = a.landmarks
    v = lm[:, 2]
    bad_lm = ~np.isfinite(lm).all(axis=1) | ~((v == 0) | (v == 1) | (v == 2)) | ((v == 0) & ((lm[:, 0] != 0) | (lm[:, 1] != 0)))
    ks = NUM_LANDMARKS_BY_ID[a.category_id.astype(np.int64)]
    lm_item = np.repeat(np.arange(len(ks)), ks)
    bad_item |= np.bincount(lm_item[bad_lm], minlength=len(ks)).astype(bool)
    if len(a.points):
        bad_pt = ~np.isfinite(a.points).all(axis=1)
        if bad_pt.any():
            pt_poly = np.repeat(np.arange(len(a.point_count)), a.point_count)
            poly_item = np.repeat(np.arange(len(a.polygon_count)), a.polygon_count)
            bad_item[poly_item[pt_poly[bad_pt]]] = True
    item_img = np.repeat(np.arange(n), a.item_count)
    return np.bincount(item_img[bad_item], minlength=n).astype(bool)


def _take_rows(a: _Arrays, rows: np.ndarray) -> _Arrays:
    item_start = _starts(a.item_count)
    items = _ragged_index(item_start[rows], a.item_count[rows])
    ks = NUM_LANDMARKS_BY_ID[a.category_id.astype(np.int64)]
    lms = _ragged_index(_starts(ks)[items], ks[items])
    polys = _ragged_index(_starts(a.polygon_count)[items], a.polygon_count[items])
    pts = _ragged_index(_starts(a.point_count)[polys], a.point_count[polys])
    return _Arrays(
        stems=a.stems[rows],
        source=a.source[rows],
        pair_id=a.pair_id[rows],
        item_count=a.item_count[rows],
        item_key=a.item_key[items],
        category_id=a.category_id[items],
        style=a.style[items],
        bbox=a.bbox[items],
        attrs=a.attrs[items],
        landmarks=a.landmarks[lms],
        polygon_count=a.polygon_count[items],
        point_count=a.point_count[polys],
        points=a.points[pts],
        issues=a.issues,
    )


def _concat(parts: list[_Arrays]) -> _Arrays:
    def cat(name: str, empty: np.ndarray) -> np.ndarray:
        xs = [getattr(p, name) for p in parts if len(getattr(p, name))]
        return np.concatenate(xs) if xs else empty

    return _Arrays(
        stems=cat("stems", np.zeros(0, "<U6")),
        source=cat("source", np.zeros(0, np.int8)),
        pair_id=cat("pair_id", np.zeros(0, np.int64)),
        item_count=cat("item_count", np.zeros(0, np.int64)),
        item_key=cat("item_key", np.zeros(0, "<U5")),
        category_id=cat("category_id", np.zeros(0, np.int16)),
        style=cat("style", np.zeros(0, np.int64)),
        bbox=cat("bbox", np.zeros((0, 4))),
        attrs=cat("attrs", np.zeros((0, 4), np.int8)),
        landmarks=cat("landmarks", np.zeros((0, 3))),
        polygon_count=cat("polygon_count", np.zeros(0, np.int64)),
        point_count=cat("point_count", np.zeros(0, np.int64)),
        points=cat("points", np.zeros((0, 2))),
        issues=[i for p in parts for i in p.issues],
    )


def _sorted_by_id(a: _Arrays) -> _Arrays:
    if len(a.stems) < 2:
        return a
    ids = a.stems.astype(np.int64)
    if np.all(ids[1:] > ids[:-1]):
        return a
    order = np.argsort(ids, kind="stable")
    return _take_rows(a, order)


def _dedupe_ids(a: _Arrays, anno_dir: Path) -> _Arrays:
    ids = a.stems.astype(np.int64)
    dup = np.flatnonzero(ids[1:] == ids[:-1]) + 1
    if not len(dup):
        return a
    issues = list(a.issues)
    for r in dup:
        issues.append(
            Issue(
                "error",
                "duplicate-image-id",
                f"image id {ids[r]} already comes from {a.stems[r - 1]}.json; this file is skipped",
                str(anno_dir / f"{a.stems[r]}.json"),
            )
        )
    keep = np.ones(len(ids), dtype=bool)
    keep[dup] = False
    out = _take_rows(a, np.flatnonzero(keep))
    out.issues = issues
    return out


# ---- the scanner ---------------------------------------------------------------------------------------
def annotation_names(anno_dir: str | os.PathLike[str]) -> list[str]:
    """Sorted ``*.json`` names of an ``annos`` folder (no stat: workers stat what they open)."""
    return sorted(n for n in os.listdir(Path(anno_dir).expanduser()) if n.endswith(".json"))


def _stat_all(anno_dir: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Size and mtime of each file (-1 where it cannot be stat'ed or is not a regular file)."""
    sizes = np.full(len(names), -1, dtype=np.int64)
    mtimes = np.full(len(names), -1, dtype=np.int64)
    prefix = str(anno_dir) + os.sep
    stat = os.stat
    for i, n in enumerate(names):
        try:
            st = stat(prefix + n)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000:
            sizes[i] = st.st_size
            mtimes[i] = st.st_mtime_ns
    return sizes, mtimes


def _jobs(names: list[str], workers: int) -> list[list[str]]:
    """Split the files into jobs: one job per 2,000 files for one worker; for several, shrinking jobs (an
    quarter of what is left per worker, at least ``_MIN_CHUNK`` files), so that few messages travel and the
    workers still finish together."""
    if workers <= 1:
        n_jobs = max(1, len(names) // 2000)
        step = -(-len(names) // n_jobs) if names else 1
        return [names[i : i + step] for i in range(0, len(names), step)]
    jobs, i = [], 0
    while i < len(names):
        size = max(_MIN_CHUNK, (len(names) - i) // (4 * workers))
        if len(names) - i - size < _MIN_CHUNK:
            size = len(names) - i
        jobs.append(names[i : i + size])
        i += size
    return jobs


def _parse_all(
    anno_dir: Path, names: list[str], *, workers: int, progress: bool, strict: bool, writer: Any = None
) -> tuple[_Arrays, np.ndarray, np.ndarray]:
    """Parse files in ``workers`` processes, this one included; returns the rows plus each file's size and mtime.

    ``writer`` (a :class:`_CacheWriter`), when given, stores the big columns (landmarks, points) and the
    returned arrays hold only the big columns it did not take. With helper processes (and ``os.pwrite``),
    every process writes the big columns of the jobs it parsed straight into the writer's files at their
    place (see :class:`_DirectSink`), so they never travel between processes, and ``writer.direct`` is set;
    otherwise ``writer.add`` appends each part in file order here.

    The jobs are taken in turn from a shared counter by ``workers - 1`` helper processes and by this process
    itself, so every core parses all the time and only the helpers' results travel between processes. Parts
    are used in job order (strict mode raises the first error in file order), so the result does not depend
    on who parsed what.
    """
    jobs = _jobs(names, workers)
    results: list[tuple[_Arrays, np.ndarray, np.ndarray] | None] = [None] * len(jobs)
    checked = 0  # jobs 0..checked-1 are in and passed the strict check
    bar = progress_bar(total=len(names), desc=f"scan {anno_dir.parent.name}", unit="file", enabled=progress)

    direct = writer is not None and workers > 1 and len(jobs) > 1 and hasattr(os, "pwrite")
    if writer is not None:
        writer.direct = direct

    def take(j: int, res: tuple[_Arrays, np.ndarray, np.ndarray]) -> None:
        nonlocal checked
        results[j] = res
        bar.update(len(jobs[j]))
        while checked < len(jobs) and (done := results[checked]) is not None:
            _raise_if_strict(done[0], strict)
            if writer is not None and not direct and writer.add(done[0]):
                done[0].landmarks = done[0].landmarks[:0]
                done[0].points = done[0].points[:0]
            checked += 1

    try:
        if workers <= 1 or len(jobs) <= 1:
            for j, names_j in enumerate(jobs):
                take(j, _parse_files(str(anno_dir), names_j))
        else:
            paths = writer.paths() if direct else None
            _parse_shared(str(anno_dir), jobs, min(workers, len(jobs)) - 1, take, paths)
    finally:
        bar.close()
    parts = [r for r in results if r is not None]
    empty = np.zeros(0, np.int64)
    sizes = np.concatenate([p[1] for p in parts]) if parts else empty
    mtimes = np.concatenate([p[2] for p in parts]) if parts else empty
    arrays = _concat([p[0] for p in parts]) if parts else _to_arrays(_Chunk())
    return arrays, sizes, mtimes


def _next_job(counter: Any) -> int:
    with counter.get_lock():
        j = int(counter.value)
        counter.value = j + 1
    return j


def _helper(anno_dir: str, jobs: list[list[str]], counter: Any, out: Any, paths: Any = None, rows: Any = None) -> None:
    """A helper process: parse jobs from the shared counter until none is left, sending ``(job, result)``;
    ``None`` says it is done. With ``paths``, it writes its jobs' big columns itself and sends the rest."""
    try:
        sink = _DirectSink(paths, rows, len(jobs)) if paths is not None else None
        parent = os.getppid()
        while (j := _next_job(counter)) < len(jobs):
            res = _parse_files(anno_dir, jobs[j])
            if sink is not None:
                res = (sink.publish(j, res[0]), res[1], res[2])
            out.put((j, res))
        if sink is not None:
            sink.drain(lambda: time.sleep(0.0005) if os.getppid() == parent else sys.exit(1))
            sink.close()
    except BaseException as e:  # noqa: BLE001 - sent to the parent, which raises it
        out.put((-1, e))
    out.put(None)


def _pwrite_all(fd: int, a: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    while view:  # pwrite may write less than asked
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


class _DirectSink:
    """Writes the big columns of the parts this process parsed straight into the cache's column files.

    A part's place in a file is the sum of the rows of all earlier jobs, whoever parsed them: every process
    publishes its jobs' row counts in the shared ``rows`` array (-1 until known) and writes a part with
    ``pwrite`` as soon as every earlier job has published. Nothing waits while there is parsing to do; at
    the end each process :meth:`drain` s what is left (the earlier jobs are parsed by then, or being parsed).
    """

    def __init__(self, paths: dict[str, str], rows: Any, n_jobs: int) -> None:
        self.fds = {c: os.open(paths[c], os.O_WRONLY) for c in _STREAMED}
        self.rows, self.n_jobs = rows, n_jobs
        self.pending: dict[int, _Arrays] = {}
        self.known = 0  # jobs 0..known-1 have published their counts
        self.next_row = [0, 0]  # landmark and point rows before job `known`
        self.start: dict[int, tuple[int, int]] = {}

    def publish(self, j: int, part: _Arrays) -> _Arrays:
        """Publish job ``j``'s row counts, write its big columns when their place is known (else later), and
        return the part without them (what travels to the calling process)."""
        self.rows[2 * j], self.rows[2 * j + 1] = len(part.landmarks), len(part.points)
        self.pending[j] = part
        self.flush()
        return replace(part, landmarks=part.landmarks[:0], points=part.points[:0])

    def flush(self) -> None:
        rows = self.rows
        while self.known < self.n_jobs and rows[2 * self.known] >= 0 and rows[2 * self.known + 1] >= 0:
            self.start[self.known] = (self.next_row[0], self.next_row[1])
            self.next_row[0] += rows[2 * self.known]
            self.next_row[1] += rows[2 * self.known + 1]
            self.known += 1
        for j in [j for j in self.pending if j < self.known]:
            part = self.pending.pop(j)
            lm0, pt0 = self.start[j]
            _pwrite_all(self.fds["landmarks"], part.landmarks, lm0 * 24)
            _pwrite_all(self.fds["points"], part.points, pt0 * 16)

    def drain(self, wait: Any) -> None:
        while True:
            self.flush()
            if not self.pending:
                return
            wait()

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


def _parse_shared(anno_dir: str, jobs: list[list[str]], helpers: int, take: Any, paths: Any = None) -> None:
    """Parse ``jobs`` here and in ``helpers`` processes; call ``take(job, result)`` for each, in this process.

    Helpers queue their results (a feeder thread sends them), so they never wait for this process to finish
    its own job before parsing the next. With ``paths`` (the cache's column files), every process writes
    its jobs' big columns itself (:class:`_DirectSink`) and only the rest travels.
    """
    import queue

    ctx = mp_context()
    counter = ctx.Value("q", 0)
    rows = ctx.Array("q", [-1] * (2 * len(jobs))) if paths is not None else None
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_helper, args=(anno_dir, jobs, counter, out, paths, rows), daemon=True)
        for _ in range(helpers)
    ]
    for p in procs:
        p.start()
    running = len(procs)
    sink = _DirectSink(paths, rows, len(jobs)) if paths is not None else None

    def receive(timeout: float | None) -> bool:
        nonlocal running
        try:
            msg = out.get(timeout=timeout) if timeout else out.get_nowait()
        except queue.Empty:
            if timeout and all(p.exitcode is not None for p in procs) and out.empty():
                raise RuntimeError("a scan worker process ended without sending its results") from None
            return False
        if msg is None:
            running -= 1
        elif msg[0] < 0:
            raise msg[1]
        else:
            take(*msg)
        return True

    try:
        while (j := _next_job(counter)) < len(jobs):
            res = _parse_files(anno_dir, jobs[j])
            if sink is not None:
                res = (sink.publish(j, res[0]), res[1], res[2])
            take(j, res)
            while running and receive(None):
                pass
        if sink is not None:
            sink.drain(lambda: receive(0.0005) if running else time.sleep(0.0005))
        while running:
            receive(1.0)
    finally:
        if sink is not None:
            sink.close()
        if running:
            for p in procs:
                p.terminate()
        for p in procs:
            p.join()
        out.close()
        out.join_thread()


def _raise_if_strict(part: _Arrays, strict: bool) -> None:
    if strict:
        for i in part.issues:
            if i.severity == "error":
                raise i.to_error(AnnotationError)


def _cache_path(cache_dir: Path, anno_dir: Path) -> Path:
    h = hashlib.blake2b(str(anno_dir.resolve()).encode(), digest_size=10).hexdigest()
    return cache_dir / f"scan-{h}"


_COLUMNS = ("stems", "source", "pair_id", "item_count", "item_key", "category_id", "style", "bbox", "attrs",
            "landmarks", "polygon_count", "point_count", "points")
_STREAMED = ("landmarks", "points")  # the big columns: written part by part while the scan runs
_WIDTH = {"landmarks": 3, "points": 2}  # float64 values per row of each big column
_HEAD = "head.json"


def _load_cache(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays and meta of a cache folder, or None when it is missing, of another version or broken.

    The folder holds ``head.json`` (version, meta, each array's dtype and shape) and one raw file per array.
    The big columns are memory-mapped copy-on-write (they share the page cache's pages: no copy, no read
    until used); the small ones are read. The folder is written under a temporary name and renamed, so it
    is whole or absent; a column file of the wrong length is refused all the same.
    """
    try:
        if not path.is_dir():
            return None
        head = orjson.loads((path / _HEAD).read_bytes())
        meta = head["meta"]
        if meta.get("version") != _CACHE_VERSION:
            return None
        data = {}
        for name, dtype, shape in head["arrays"]:
            dt = np.dtype(dtype)
            nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            f = path / f"{name}.bin"
            if f.stat().st_size != nbytes:  # cut short or grown: not what the head describes
                return None
            data[name] = _map_file(f, dt, shape) if name in _STREAMED else np.fromfile(f, dtype=dt).reshape(shape)
        return data, meta
    except Exception as e:  # noqa: BLE001 - a broken cache is simply rebuilt
        if path.exists():
            log.info("ignoring unreadable scan cache %s: %s", path, e)
        return None


def _map_file(f: Path, dt: np.dtype, shape: Sequence[int]) -> np.ndarray:
    """A writable array over a file's pages, copy-on-write: writes stay in this process, the file is never
    changed. (The cache writer only ever renames a new folder into place, so a mapped file is not cut.)"""
    import mmap

    if not int(np.prod(shape, dtype=np.int64)):
        return np.zeros(shape, dt)
    with open(f, "rb") as fh:
        m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
    return np.frombuffer(m, dtype=dt).reshape(shape)


def _replace_folder(tmp: Path, path: Path) -> None:
    """Rename the folder ``tmp`` to ``path``, replacing an older ``path`` (renamed aside, then removed)."""
    import shutil

    old = None
    if path.exists():
        old = path.parent / (part_prefix(path.name) + "old.part")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    for stale in (path.with_suffix(".bin"), path.with_suffix(".npz")):  # the same split's older cache formats
        stale.unlink(missing_ok=True)


class _CacheWriter:
    """Writes a cache folder under a temporary name: the big columns part by part while the scan runs
    (:meth:`add`, in file order), the rest at the end (:meth:`commit`), which renames it into place."""

    def __init__(self, path: Path) -> None:
        import tempfile

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(path.parent, path.name)
        self.tmp = Path(tempfile.mkdtemp(prefix=part_prefix(path.name), suffix=".part", dir=path.parent))
        self.files = {c: open(self.tmp / f"{c}.bin", "wb", buffering=0) for c in _STREAMED}  # noqa: SIM115
        self.rows = dict.fromkeys(_STREAMED, 0)  # rows whose bytes are all written
        self.failed = False
        self.direct = False  # set by _parse_all when the worker processes write the big columns themselves

    def paths(self) -> dict[str, str]:
        """The big columns' files, for the worker processes' direct writes."""
        return {c: str(self.tmp / f"{c}.bin") for c in _STREAMED}

    def count_rows(self, arrays: _Arrays) -> None:
        """After direct writes: the rows the files hold are those the table's small columns describe."""
        self.rows = {
            "landmarks": int(NUM_LANDMARKS_BY_ID[arrays.category_id.astype(np.int64)].sum()),
            "points": int(arrays.point_count.sum()),
        }

    def add(self, part: _Arrays) -> bool:
        """Append a part's big columns; False (and nothing more is written) once a write has failed."""
        if self.failed:
            return False
        try:
            for c in _STREAMED:
                a = np.ascontiguousarray(getattr(part, c), dtype=np.float64)
                view = memoryview(a.reshape(-1).view(np.uint8))
                while view:  # a raw write may take less than all
                    view = view[self.files[c].write(view) :]
        except OSError as e:
            log.warning("could not write the scan cache %s: %s", self.path, e)
            self.failed = True
            return False
        for c in _STREAMED:
            self.rows[c] += len(getattr(part, c))
        return True

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def read_back(self) -> dict[str, np.ndarray]:
        """The rows added so far, read into memory (when the table cannot use the files as written)."""
        self.close()
        out = {}
        for c in _STREAMED:
            w = _WIDTH[c]
            out[c] = np.fromfile(self.tmp / f"{c}.bin", dtype=np.float64, count=self.rows[c] * w).reshape(-1, w)
        return out

    def commit(self, arrays: _Arrays, names: list[str], sizes: np.ndarray, mtimes: np.ndarray) -> dict[str, np.ndarray]:
        """Write the other columns and the head, rename the folder into place, and return the streamed
        columns mapped from their files."""
        self.close()
        payload = {c: getattr(arrays, c) for c in _COLUMNS if c not in _STREAMED}
        payload["file_names"] = np.array(names, dtype=str) if names else np.zeros(0, "<U11")
        payload["file_sizes"] = sizes
        payload["file_mtimes"] = mtimes
        head_arrays = []
        for name, a in payload.items():
            a = np.ascontiguousarray(a)
            a.tofile(self.tmp / f"{name}.bin")
            head_arrays.append([name, a.dtype.str, list(a.shape)])
        for c in _STREAMED:
            head_arrays.append([c, "<f8", [self.rows[c], _WIDTH[c]]])
        meta = {"version": _CACHE_VERSION, "issues": [i.to_dict() for i in arrays.issues]}
        (self.tmp / _HEAD).write_bytes(orjson.dumps({"meta": meta, "arrays": head_arrays}))
        _replace_folder(self.tmp, self.path)
        return {c: _map_file(self.path / f"{c}.bin", np.dtype("<f8"), [self.rows[c], _WIDTH[c]]) for c in _STREAMED}

    def abort(self) -> None:
        import shutil

        self.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _save_cache(path: Path, arrays: _Arrays, names: list[str], sizes: np.ndarray, mtimes: np.ndarray) -> None:
    """Write a whole table's rows as a cache folder (the incremental and the out-of-order paths)."""
    try:
        w = _CacheWriter(path)
    except OSError as e:
        log.warning("could not write the scan cache %s: %s", path, e)
        return
    try:
        if not w.add(arrays):
            w.abort()
            return
        w.commit(arrays, names, sizes, mtimes)
    except OSError as e:
        w.abort()
        log.warning("could not write the scan cache %s: %s", path, e)
    except BaseException:
        w.abort()
        raise


def _arrays_from_cache(data: dict[str, np.ndarray], meta: dict[str, Any]) -> _Arrays:
    return _Arrays(
        stems=data["stems"],
        source=data["source"],
        pair_id=data["pair_id"],
        item_count=data["item_count"],
        item_key=data["item_key"],
        category_id=data["category_id"],
        style=data["style"],
        bbox=data["bbox"],
        attrs=data["attrs"],
        landmarks=data["landmarks"],
        polygon_count=data["polygon_count"],
        point_count=data["point_count"],
        points=data["points"],
        issues=[Issue(**d) for d in meta["issues"]],
    )


def _cold(
    anno_dir: Path, names: list[str], cache_file: Path | None, workers: int, progress: bool, strict: bool
) -> tuple[_Arrays, np.ndarray, np.ndarray, bool]:
    """Parse a whole split; returns the rows, each file's size and mtime, and whether a cache is still to be
    written. With ``cache_file``, the big columns go into a new cache folder while the workers parse, and the
    table maps them from there: no join of the parts, no second copy, no write at the end."""
    writer = None
    if cache_file is not None:
        try:
            writer = _CacheWriter(cache_file)
        except OSError as e:
            log.warning("could not write the scan cache %s: %s", cache_file, e)
    try:
        try:
            arrays, sizes, mtimes = _parse_all(
                anno_dir, names, workers=workers, progress=progress, strict=strict, writer=writer
            )
        except OSError as e:  # only the cache's writes raise it (unreadable files are issues): parse again
            if writer is None:
                raise
            log.warning("could not write the scan cache %s: %s", cache_file, e)
            writer.abort()
            writer = None
            arrays, sizes, mtimes = _parse_all(anno_dir, names, workers=workers, progress=progress, strict=strict)
            return _dedupe_ids(_sorted_by_id(arrays), anno_dir), sizes, mtimes, False
        if writer is None:
            return _dedupe_ids(_sorted_by_id(arrays), anno_dir), sizes, mtimes, cache_file is not None
        if writer.direct:
            writer.count_rows(arrays)
        ids = arrays.stems.astype(np.int64)
        in_order = bool(np.all(ids[1:] > ids[:-1]))  # then the table is these rows as they are
        save_later = in_order is False and not writer.failed  # sorted or de-duplicated rows: saved afterwards
        if not writer.failed and in_order:
            try:
                big = writer.commit(arrays, names, sizes, mtimes)
            except OSError as e:
                log.warning("could not write the scan cache %s: %s", cache_file, e)
            else:
                arrays.landmarks, arrays.points = big["landmarks"], big["points"]
                return arrays, sizes, mtimes, False
        # rows out of id order, or the cache disk failed: the streamed rows come back into memory
        back = writer.read_back()
        arrays.landmarks = np.concatenate([back["landmarks"], arrays.landmarks])
        arrays.points = np.concatenate([back["points"], arrays.points])
        writer.abort()
        writer = None
        return _dedupe_ids(_sorted_by_id(arrays), anno_dir), sizes, mtimes, save_later
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def scan_split(
    root: str | os.PathLike[str],
    split: str | None = "train",
    *,
    strict: bool = False,
    workers: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
    progress: bool = False,
    _log_skips: bool = True,
) -> SplitTable:
    """Read every annotation file of a split into a :class:`SplitTable`.

    Args:
        root: the dataset root (with ``train/``, ``validation/``) or a split folder itself.
        split: split name under ``root`` (ignored when ``root`` is a split folder).
        strict: raise AnnotationError on the first error instead of skipping and recording it.
        workers: processes for parsing, this one included (default: all cores).
        cache: ``True`` for the default cache folder, a folder path, or ``False`` for no cache.
        progress: show a progress bar on stderr.

    Lenient mode records every problem in ``table.issues`` (errors: the file or item was skipped;
    warnings: kept) and logs one summary line.
    """
    split_dir = resolve_split(root, split)
    anno_dir = split_dir / "annos"
    if not anno_dir.is_dir():
        hint = " (the test split has no annotations: its labels are withheld)" if split_dir.name == "test" else ""
        raise DatasetError(f"no annos/ folder{hint}", path=str(split_dir))
    names = annotation_names(anno_dir)
    n_workers = workers or cpu_count()
    cache_file = None
    if cache:
        cache_file = _cache_path(default_cache_dir() if cache is True else Path(cache), anno_dir)  # type: ignore[arg-type]
    arrays: _Arrays | None = None
    loaded = _load_cache(cache_file) if cache_file is not None else None
    save = cache_file is not None
    if loaded is not None:
        data, meta = loaded
        sizes, mtimes = _stat_all(anno_dir, names)
        res = _incremental(anno_dir, data, meta, names, sizes, mtimes, n_workers, progress, strict)
        if res is not None:
            arrays, save = res
    if arrays is None:
        arrays, sizes, mtimes, save = _cold(anno_dir, names, cache_file if save else None, n_workers, progress, strict)
    if save and cache_file is not None:
        _save_cache(cache_file, arrays, names, sizes, mtimes)
    issues = arrays.issues
    if strict:
        for i in issues:
            if i.severity == "error":
                raise i.to_error(AnnotationError)
    errors = [i for i in issues if i.severity == "error"]
    if errors and _log_skips:
        log.warning(
            "%s: skipped %d broken file(s) or item(s) of %d files (first: %s); `df2kit validate` lists them",
            anno_dir, len(errors), len(names), errors[0],
        )
    return _table(split_dir, arrays, len(names))


def _writable(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else a.copy()  # the simdjson path's parts are views of read-only bytes


def _table(split_dir: Path, arrays: _Arrays, num_files: int) -> SplitTable:
    return SplitTable(
        split_dir=split_dir,
        stems=arrays.stems,
        source=arrays.source,
        pair_id=arrays.pair_id,
        item_count=arrays.item_count,
        item_key=arrays.item_key,
        category_id=arrays.category_id,
        style=arrays.style,
        bbox_xyxy=_writable(arrays.bbox),
        attributes=arrays.attrs,
        landmarks=_writable(arrays.landmarks),
        polygon_count=arrays.polygon_count,
        point_count=arrays.point_count,
        points=_writable(arrays.points),
        issues=tuple(arrays.issues),
        num_files=num_files,
    )


def scan_files(split_dir: str | os.PathLike[str], names: Sequence[str]) -> SplitTable:
    """Some annotation files of a split, parsed here with :func:`scan_split`'s rules (no cache, no workers).

    ``names`` are file names in ``split_dir/annos`` (see :func:`annotation_names`). Broken files and items
    are skipped and listed in ``table.issues`` exactly as a lenient scan lists them; rows are in image-id
    order. The converters use it to stream a split in chunks without holding all of it.

    >>> t = scan_files("DeepFashion2/validation", ["000001.json", "000002.json"])   # doctest: +SKIP
    """
    d = Path(split_dir).expanduser()
    arrays = _sorted_by_id(_parse_files(str(d / "annos"), list(names))[0])
    return _table(d, arrays, len(names))


def _incremental(
    anno_dir: Path,
    data: dict[str, np.ndarray],
    meta: dict[str, Any],
    names: list[str],
    sizes: np.ndarray,
    mtimes: np.ndarray,
    workers: int,
    progress: bool,
    strict: bool,
) -> tuple[_Arrays, bool] | None:
    """Reuse the cached rows of unchanged files and parse the rest.

    Returns ``(arrays, changed)`` or None when nothing can be reused. Files that could not be stat'ed have
    size -1 and are always parsed again (so their problem is reported the same way as in a cold scan).
    """
    cached = _arrays_from_cache(data, meta)
    c_names = [str(n) for n in data["file_names"].tolist()]
    if c_names == names and np.array_equal(data["file_sizes"], sizes) and np.array_equal(data["file_mtimes"], mtimes) and (sizes >= 0).all():
        return cached, False
    old = {n: (int(sz), int(mt)) for n, sz, mt in zip(c_names, data["file_sizes"].tolist(), data["file_mtimes"].tolist()) if sz >= 0}
    unchanged = {n for n, sz, mt in zip(names, sizes.tolist(), mtimes.tolist()) if sz >= 0 and old.get(n) == (sz, mt)}
    if not unchanged:
        return None
    changed = [n for n in names if n not in unchanged]
    keep_stems = np.array(sorted(n[:-5] for n in unchanged), dtype=str)
    rows = np.flatnonzero(np.isin(cached.stems, keep_stems))
    kept = _take_rows(cached, rows)
    kept.issues = [i for i in cached.issues if i.path is not None and os.path.basename(i.path) in unchanged]
    fresh, f_sizes, f_mtimes = _parse_all(anno_dir, changed, workers=workers, progress=progress, strict=strict)
    pos = {n: k for k, n in enumerate(names)}
    for n, sz, mt in zip(changed, f_sizes.tolist(), f_mtimes.tolist()):
        sizes[pos[n]], mtimes[pos[n]] = sz, mt
    log.info("%s: reused %d cached files, parsed %d changed or new", anno_dir, len(unchanged), len(changed))
    return _dedupe_ids(_sorted_by_id(_concat([kept, fresh])), anno_dir), True
