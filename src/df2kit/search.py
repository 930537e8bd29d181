"""Find the top-k shop items of each consumer item: exact cosine search and the official results file.

>>> import numpy as np
>>> from df2kit.search import GalleryIndex, retrieval_entries, write_retrieval_results
>>> rng = np.random.default_rng(0)
>>> index = GalleryIndex(rng.normal(size=(50, 8)), image_ids=np.arange(50) // 2,
...                      boxes_xyxy=np.tile([0.0, 0.0, 10.0, 20.0], (50, 1)))
>>> found = index.search(rng.normal(size=(3, 8)), k=5)
>>> found.indices.shape, found.scores.dtype.name
((3, 5), 'float32')
>>> entries = retrieval_entries(index, rng.normal(size=(3, 8)), query_image_ids=[7, 7, 9],
...                             query_boxes_xyxy=np.zeros((3, 4)), query_categories=[1, 2, 1],
...                             query_scores=[0.9, 0.8, 0.7], k=5)
>>> sorted(entries[0])
['gallery_bbox', 'gallery_image_id', 'query_bbox', 'query_cls', 'query_image_id', 'query_score']
>>> write_retrieval_results("results.json", entries)     # doctest: +SKIP

Search is exact: cosine similarity (dot products of L2-normalised float32 vectors), the k largest per query,
best first, ties to the lower gallery row. The numpy backend works through the queries in batches so that the
similarity block stays within ``max_batch_bytes`` (default 256 MiB) however large the gallery; memory is the
normalised gallery plus one block. With ``faiss`` installed (``pip install df2kit[faiss]``),
``backend="faiss"`` uses its exact inner-product index (``IndexFlatIP``), the fast choice for galleries of
millions; ``"auto"`` picks faiss from :data:`FAISS_AUTO_MIN` gallery items when it is installed. A zero
embedding has similarity 0 to everything.

If you already have a query x gallery similarity matrix (any score, larger = more similar), use
:func:`search_similarity` (it takes a memory-mapped ``.npy`` as well) and :func:`entries_from_search`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from ._atomic import atomic_write_bytes
from ._progress import progress_bar
from .errors import ConfigError, FormatError
from .layout import NUM_CATEGORIES

__all__ = [
    "BACKENDS",
    "FAISS_AUTO_MIN",
    "GalleryIndex",
    "SearchResult",
    "entries_from_search",
    "faiss_available",
    "retrieval_entries",
    "search_similarity",
    "write_retrieval_results",
]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "numpy", "faiss")
#: ``backend="auto"`` uses faiss (when installed) from this many gallery items on.
FAISS_AUTO_MIN = 200_000
_DEFAULT_BATCH_BYTES = 256 * 2**20
# Bytes per similarity element a numpy batch holds at once: the float32 block and the candidate mask.
_BYTES_PER_ELEMENT = 5
_TILE_ROWS, _TILE_MIN_COLS = 1024, 4096  # query rows per block; narrowest gallery chunk before rows shrink
_FAISS_ADD_ROWS = 65_536
_GROUP = 64  # columns per group when bounding the k-th largest value
_HEAVY_FACTOR, _HEAVY_MIN = 64, 4096  # a row with more candidates than this is sorted on its own


@dataclass(frozen=True, eq=False)
class SearchResult:
    """The k best gallery rows of each query, best first."""

    indices: np.ndarray  #: (q, k) int64 gallery rows
    scores: np.ndarray  #: (q, k) float32 similarities

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def k(self) -> int:
        return self.indices.shape[1]


def faiss_available() -> bool:
    """True when the optional ``faiss`` package imports."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _as_matrix(x: Any, name: str, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2 or (rows is not None and a.shape[0] != rows) or (cols is not None and a.shape[1] != cols):
        want = f"({rows if rows is not None else 'n'}, {cols if cols is not None else 'd'})"
        raise FormatError(f"expected a 2-d array of shape {want}, got shape {a.shape}", field=name)
    if a.dtype.kind not in "iuf":
        raise FormatError(f"expected numbers, got dtype {a.dtype}", field=name)
    return a


def _normalized(x: Any, name: str, *, cols: int | None = None, row_offset: int = 0) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero); non-finite values are an error."""
    a = _as_matrix(x, name, cols=cols).astype(np.float32, copy=True)
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise FormatError(f"row {row_offset + int(np.flatnonzero(bad)[0])} holds NaN or infinity", field=name)
    norm = np.sqrt(np.einsum("ij,ij->i", a, a, dtype=np.float64)).astype(np.float32)
    norm[norm == 0] = 1.0
    a /= norm[:, None]
    return a


def _kth_lower_bound(sim: np.ndarray, k: int) -> np.ndarray:
    """Per row, a value <= the row's k-th largest (cheap: the k-th largest of strided group maxima).

    Columns are split into groups of ``G``; k different groups have a maximum >= the k-th largest group
    maximum, so at least k elements are >= it. On random data about k elements pass it.
    """
    b, n = sim.shape
    g = min(_GROUP, n // (2 * k))
    if g <= 1:
        return np.partition(sim, n - k, axis=1)[:, n - k]
    m = n // g * g
    maxima = sim[:, :m].reshape(b, g, m // g).max(axis=1)  # group j = columns j, j + m/g, j + 2m/g, ...
    if m < n:
        maxima = np.concatenate([maxima, sim[:, m:]], axis=1)
    width = maxima.shape[1]
    return np.partition(maxima, width - k, axis=1)[:, width - k]


def _topk_block(sim: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of each row of ``sim`` (b, n), best first, ties to the lower column (= a stable argsort).

    Candidates are the elements >= a cheap lower bound of the k-th largest (:func:`_kth_lower_bound`), so
    every tie at the boundary is among them; they are sorted by (value descending, column). A row with very
    many candidates (massive ties) is sorted on its own, so memory stays bounded.
    """
    b, n = sim.shape
    if k >= n:
        idx = np.argsort(-sim, axis=1, kind="stable")
        return idx.astype(np.int64), np.take_along_axis(sim, idx, axis=1)
    mask = sim >= _kth_lower_bound(sim, k)[:, None]
    heavy = np.count_nonzero(mask, axis=1) > max(_HEAVY_FACTOR * k, _HEAVY_MIN)
    idx = np.empty((b, k), dtype=np.int64)
    val = np.empty((b, k), dtype=sim.dtype)
    if not heavy.all():
        if heavy.any():
            mask[heavy] = False
        flat = np.flatnonzero(mask)
        rows, cols = np.divmod(flat, n)
        vals = sim.reshape(-1)[flat]
        order = np.lexsort((cols, -vals, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        counts = np.bincount(rows, minlength=b)
        keep = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows] < k
        light = ~heavy
        idx[light] = cols[keep].reshape(-1, k)
        val[light] = vals[keep].reshape(-1, k)
    for r in np.flatnonzero(heavy):
        o = np.argsort(-sim[r], kind="stable")[:k]
        idx[r], val[r] = o, sim[r, o]
    return idx, val


def _batch_rows(n: int, max_batch_bytes: int) -> int:
    return max(1, int(max_batch_bytes) // max(1, n * _BYTES_PER_ELEMENT))


def _tiles(q: int, n: int, max_batch_bytes: int) -> tuple[int, int]:
    """Query rows and gallery columns of one similarity block within the memory bound.

    Up to 1024 query rows per block, so that the gallery is read from memory once per 1024 queries rather
    than once per handful (what makes a 1M-item gallery slow); the gallery is cut into column chunks to fit.
    """
    rows = max(1, min(q, _TILE_ROWS))
    cols = min(n, max(1, int(max_batch_bytes) // (_BYTES_PER_ELEMENT * rows)))
    if cols < min(n, _TILE_MIN_COLS):  # a small budget: fewer rows, wider chunks
        cols = min(n, _TILE_MIN_COLS)
        rows = max(1, min(q, int(max_batch_bytes) // (_BYTES_PER_ELEMENT * cols)))
    return rows, cols


def search_similarity(
    similarity: Any,
    k: int = 20,
    *,
    max_batch_bytes: int = _DEFAULT_BATCH_BYTES,
    progress: bool = False,
) -> SearchResult:
    """Top-k columns of each row of a (query x gallery) similarity matrix, largest first.

    ``similarity`` may be a memory-mapped array (``np.load(path, mmap_mode="r")``): rows are read in
    batches of at most ``max_batch_bytes``. ``k`` larger than the gallery is cut to the gallery size.

    >>> s = np.array([[0.1, 0.9, 0.5], [0.7, 0.2, 0.7]])
    >>> search_similarity(s, k=2).indices.tolist()
    [[1, 2], [0, 2]]
    """
    sim = _as_matrix(similarity, "similarity")
    q, n = sim.shape
    k = _check_k(k, n)
    idx = np.zeros((q, k), dtype=np.int64)
    scores = np.zeros((q, k), dtype=np.float32)
    step = _batch_rows(n, max_batch_bytes)
    starts = range(0, q, step)
    for s in progress_bar(starts, total=len(starts), desc="search", unit="batch", enabled=progress):
        block = np.asarray(sim[s : s + step], dtype=np.float32)
        if not np.isfinite(block).all():
            r, c = np.argwhere(~np.isfinite(block))[0]
            raise FormatError(f"row {s + int(r)}, column {int(c)} is not a finite number", field="similarity")
        i, v = _topk_block(block, k)
        idx[s : s + step], scores[s : s + step] = i, v
    return SearchResult(indices=idx, scores=scores)


def _check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"expected an integer >= 1, got {k!r}", field="k")
    return int(min(k, n))


class GalleryIndex:
    """Gallery items (shop items) with their embeddings, image ids and boxes, searchable by cosine similarity.

    Args:
        embeddings: (n, d) item embeddings (any float dtype; stored normalised as float32).
        image_ids: (n,) the shop image of each item.
        boxes_xyxy: (n, 4) each item's box, corners in pixels.
        backend: ``"numpy"`` (exact, batched), ``"faiss"`` (exact ``IndexFlatIP``; needs faiss) or
            ``"auto"`` (faiss from :data:`FAISS_AUTO_MIN` items when installed, else numpy).
        max_batch_bytes: memory bound of one numpy similarity block.
    """

    def __init__(
        self,
        embeddings: Any,
        image_ids: Any,
        boxes_xyxy: Any,
        *,
        backend: str = "auto",
        max_batch_bytes: int = _DEFAULT_BATCH_BYTES,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"expected one of {', '.join(BACKENDS)}, got {backend!r}", field="backend")
        raw = _as_matrix(embeddings, "embeddings")
        n, self._dim = raw.shape
        ids = np.asarray(image_ids)
        if ids.shape != (n,) or (n and ids.dtype.kind not in "iu"):
            raise FormatError(f"expected ({n},) integers (one per embedding), got {ids.dtype} {ids.shape}",
                              field="image_ids")
        self.image_ids = ids.astype(np.int64)
        self.boxes_xyxy = _as_matrix(boxes_xyxy, "boxes_xyxy", rows=n, cols=4).astype(np.float64)
        if not np.isfinite(self.boxes_xyxy).all():
            raise FormatError("holds NaN or infinity", field="boxes_xyxy")
        if backend == "auto":
            backend = "faiss" if n >= FAISS_AUTO_MIN and faiss_available() else "numpy"
        elif backend == "faiss" and not faiss_available():
            raise ConfigError("faiss is not installed (pip install faiss-cpu, or df2kit[faiss])", field="backend")
        self.backend = backend
        self.max_batch_bytes = int(max_batch_bytes)
        self._faiss: Any = None
        self._emb: np.ndarray | None = None
        if backend == "faiss":  # faiss keeps its own copy: normalise and add in chunks, never hold two
            import faiss

            self._faiss = faiss.IndexFlatIP(self._dim)
            for s in range(0, n, _FAISS_ADD_ROWS):
                self._faiss.add(_normalized(raw[s : s + _FAISS_ADD_ROWS], "embeddings", row_offset=s))
        else:
            self._emb = _normalized(raw, "embeddings")

    @property
    def embeddings(self) -> np.ndarray:
        """(n, d) float32 unit-length gallery embeddings (with faiss: read back from its index)."""
        if self._emb is None:
            return self._faiss.reconstruct_n(0, self._faiss.ntotal)
        return self._emb

    def __len__(self) -> int:
        return len(self.image_ids)

    @property
    def dim(self) -> int:
        return self._dim

    def search(self, query_embeddings: Any, k: int = 20, *, progress: bool = False) -> SearchResult:
        """The k most similar gallery items of each query (cosine), best first."""
        q = _normalized(query_embeddings, "query_embeddings", cols=self.dim)
        k = _check_k(k, len(self))
        if self.backend == "faiss":
            return self._search_faiss(q, k, progress)
        rows, cols = _tiles(len(q), len(self), self.max_batch_bytes)
        idx = np.zeros((len(q), k), dtype=np.int64)
        scores = np.zeros((len(q), k), dtype=np.float32)
        starts = range(0, len(q), rows)
        g = self.embeddings
        for s in progress_bar(starts, total=len(starts), desc="search", unit="batch", enabled=progress):
            qb = q[s : s + rows]
            best_i, best_v = _topk_block(qb @ g[:cols].T, k)
            for c in range(cols, len(g), cols):
                i, v = _topk_block(qb @ g[c : c + cols].T, k)
                i += c  # merge: value descending, then gallery row (the tie rule of one block)
                all_i, all_v = np.concatenate([best_i, i], axis=1), np.concatenate([best_v, v], axis=1)
                o = np.lexsort((all_i, -all_v), axis=1)[:, :k]
                best_i, best_v = np.take_along_axis(all_i, o, axis=1), np.take_along_axis(all_v, o, axis=1)
            idx[s : s + rows], scores[s : s + rows] = best_i, best_v
        return SearchResult(indices=idx, scores=scores)

    def _search_faiss(self, q: np.ndarray, k: int, progress: bool) -> SearchResult:
        step = 4096
        idx = np.zeros((len(q), k), dtype=np.int64)
        scores = np.zeros((len(q), k), dtype=np.float32)
        starts = range(0, len(q), step)
        for s in progress_bar(starts, total=len(starts), desc="search", unit="batch", enabled=progress):
            v, i = self._faiss.search(np.ascontiguousarray(q[s : s + step]), k)
            idx[s : s + step], scores[s : s + step] = i, v
        return SearchResult(indices=idx, scores=scores)


def _column(x: Any, name: str, n: int, kind: str) -> np.ndarray:
    a = np.asarray(x)
    if a.shape != (n,) or (n and a.dtype.kind not in kind):
        what = "integers" if kind == "iu" else "numbers"
        raise FormatError(f"expected ({n},) {what} (one per query), got {a.dtype} {a.shape}", field=name)
    return a


def entries_from_search(
    found: SearchResult,
    gallery_image_ids: Any,
    gallery_boxes_xyxy: Any,
    query_image_ids: Any,
    query_boxes_xyxy: Any,
    query_categories: Any,
    query_scores: Any,
) -> list[dict[str, Any]]:
    """Official retrieval result entries, one per query, from a :class:`SearchResult`.

    Each entry: ``query_image_id``, ``query_bbox`` [x1, y1, x2, y2], ``query_cls``, ``query_score``,
    ``gallery_image_id`` (k ids) and ``gallery_bbox`` (k boxes), best first.
    """
    n = len(found)
    g_ids = np.asarray(gallery_image_ids)
    g_boxes = np.asarray(gallery_boxes_xyxy)
    if g_ids.ndim != 1 or g_boxes.shape != (len(g_ids), 4):
        raise FormatError(f"expected (m,) ids and (m, 4) boxes, got {g_ids.shape} and {g_boxes.shape}",
                          field="gallery_boxes_xyxy")
    if found.indices.size and (found.indices.max() >= len(g_ids) or found.indices.min() < 0):
        raise FormatError(f"search result points outside the gallery of {len(g_ids):,} items", field="indices")
    q_ids = _column(query_image_ids, "query_image_ids", n, "iu").astype(np.int64)
    q_boxes = _as_matrix(query_boxes_xyxy, "query_boxes_xyxy", rows=n, cols=4).astype(np.float64)
    q_cls = _column(query_categories, "query_categories", n, "iu").astype(np.int64)
    q_scores = _column(query_scores, "query_scores", n, "iuf").astype(np.float64)
    if n and (q_cls.min() < 1 or q_cls.max() > NUM_CATEGORIES):
        raise FormatError(f"expected category ids 1..{NUM_CATEGORIES}, got {q_cls.min()}..{q_cls.max()}",
                          field="query_categories")
    if not (np.isfinite(q_scores).all() and np.isfinite(q_boxes).all()):
        raise FormatError("holds NaN or infinity", field="query_scores" if not np.isfinite(q_scores).all()
                          else "query_boxes_xyxy")
    ids = g_ids.astype(np.int64)[found.indices].tolist()
    boxes = g_boxes.astype(np.float64)[found.indices].tolist()
    qi, qb, qc, qs = q_ids.tolist(), q_boxes.tolist(), q_cls.tolist(), q_scores.tolist()
    return [
        {
            "query_image_id": qi[i],
            "query_bbox": qb[i],
            "query_cls": qc[i],
            "query_score": qs[i],
            "gallery_image_id": ids[i],
            "gallery_bbox": boxes[i],
        }
        for i in range(n)
    ]


def retrieval_entries(
    index: GalleryIndex,
    query_embeddings: Any,
    query_image_ids: Any,
    query_boxes_xyxy: Any,
    query_categories: Any,
    query_scores: Any,
    k: int = 20,
    *,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Search ``index`` with the query embeddings and return the official result entries (one per query)."""
    found = index.search(query_embeddings, k=k, progress=progress)
    return entries_from_search(found, index.image_ids, index.boxes_xyxy, query_image_ids, query_boxes_xyxy,
                               query_categories, query_scores)


def write_retrieval_results(path: str | os.PathLike[str], entries: Sequence[dict[str, Any]]) -> None:
    """Write result entries as the official flat JSON list (atomically: a temporary file, then a rename)."""
    atomic_write_bytes(path, orjson.dumps(list(entries), option=orjson.OPT_SERIALIZE_NUMPY))
