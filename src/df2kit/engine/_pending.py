"""Temporary stand-ins for contracts that other branches are still landing (deleted as each one lands).

Each function here calls the real contract when it is importable and otherwise a small private version of
the same documented behaviour, so that training and prediction work (and are tested) in the meantime:

* contract 4 ``df2kit.formats.pairs.PairBatchSampler``
* contract 3 ``df2kit.structures.masks.encode_mask``
* contract 5 ``df2kit.search`` (``GalleryIndex``, ``retrieval_entries``, ``write_retrieval_results``)
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np
import orjson

from .._atomic import atomic_write_bytes
from ..errors import DatasetError
from ..io.scan import SplitTable


# ---- contract 4 ----------------------------------------------------------------------------------------
class _PairBatchSampler:
    """Couples (shop image, user image) that share a pair_id and hold a positive item pair."""

    def __init__(
        self,
        table: SplitTable,
        pairs_per_batch: int = 8,
        *,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        self.b, self.seed, self.shuffle, self.drop_last = pairs_per_batch, seed, shuffle, drop_last
        self.r, self.rank, self.epoch = num_replicas, rank, 0
        _, group, _, _ = table.style_identities()
        src, img = table.item_source, table.item_image
        cand: dict[int, set[int]] = {}
        shop_items: dict[int, list[int]] = {}
        for j in np.flatnonzero((group >= 0) & (src == 0)):
            shop_items.setdefault(int(group[j]), []).append(int(img[j]))
        for j in np.flatnonzero((group >= 0) & (src == 1)):
            for s in shop_items.get(int(group[j]), []):
                cand.setdefault(int(img[j]), set()).add(s)
        if not cand:
            raise DatasetError("no positive shop/user pair to sample couples from", path=str(table.split_dir))
        self.users = sorted(cand)
        self.cands = [sorted(cand[u]) for u in self.users]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n, b = len(self.users), self.b
        total = n // b if self.drop_last else -(-n // b)
        return total // self.r if self.drop_last else -(-total // self.r)

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.users)
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        couples = []
        for i in order:
            c = self.cands[i]
            couples.append((c[int(rng.integers(len(c)))] if self.shuffle else c[self.epoch % len(c)], self.users[i]))
        per = len(self)
        idx = np.resize(np.arange(n), per * self.r * self.b)
        flat = [couples[i] for i in idx]
        batches = [flat[k * self.b : (k + 1) * self.b] for k in range(per * self.r)]
        for batch in batches[self.rank :: self.r]:
            yield [x for cp in batch for x in cp]


def pair_batch_sampler(table: SplitTable, pairs_per_batch: int, **kw: Any) -> Any:
    try:
        from ..formats.pairs import PairBatchSampler
    except ImportError:
        return _PairBatchSampler(table, pairs_per_batch, **kw)
    return PairBatchSampler(table, pairs_per_batch, **kw)


# ---- contract 3 ----------------------------------------------------------------------------------------
def _encode_mask(mask: np.ndarray) -> dict[str, Any]:
    m = np.asarray(mask, dtype=bool)
    h, w = m.shape
    flat = m.ravel(order="F")
    if flat.size == 0:
        return {"size": [h, w], "counts": ""}
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    if flat[0]:
        runs = [0] + runs
    out = []
    for i, x in enumerate(runs):
        if i > 2:
            x -= runs[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return {"size": [h, w], "counts": "".join(out)}


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    try:
        from ..structures.masks import encode_mask as real
    except ImportError:
        return _encode_mask(mask)
    return real(mask)


# ---- contract 5 ----------------------------------------------------------------------------------------
def retrieval_entries(
    gallery: np.ndarray,
    gallery_image_ids: np.ndarray,
    gallery_boxes_xyxy: np.ndarray,
    queries: np.ndarray,
    query_image_ids: np.ndarray,
    query_boxes_xyxy: np.ndarray,
    query_categories: np.ndarray,
    query_scores: np.ndarray,
    k: int = 20,
) -> list[dict[str, Any]]:
    """Official retrieval result entries: each query's k most similar gallery items (cosine)."""
    try:
        from ..search import GalleryIndex, retrieval_entries as real
    except ImportError:
        pass
    else:
        index = GalleryIndex(gallery, gallery_image_ids, gallery_boxes_xyxy)
        return list(
            real(index, queries, query_image_ids, query_boxes_xyxy, query_categories, query_scores, k=k)
        )
    g = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    kk = min(k, len(g))
    out = []
    for s in range(0, len(q), 1024):
        sim = q[s : s + 1024] @ g.T
        top = np.argsort(-sim, axis=1, kind="stable")[:, :kk]
        for r, row in enumerate(top):
            i = s + r
            out.append(
                {
                    "query_image_id": int(query_image_ids[i]),
                    "query_bbox": [float(v) for v in query_boxes_xyxy[i]],
                    "query_cls": int(query_categories[i]),
                    "query_score": float(query_scores[i]),
                    "gallery_image_id": [int(v) for v in gallery_image_ids[row]],
                    "gallery_bbox": [[float(v) for v in gallery_boxes_xyxy[j]] for j in row],
                }
            )
    return out


def write_retrieval_results(path: str | os.PathLike[str], entries: list[dict[str, Any]]) -> None:
    try:
        from ..search import write_retrieval_results as real
    except ImportError:
        atomic_write_bytes(path, orjson.dumps(entries))
        return
    real(path, entries)
