"""Positive commercial-consumer pairs, and a batch sampler of shop/user image couples for training.

A positive pair is one shop item and one user item with the same ``pair_id`` and the same ``style > 0``
(spec section 1); everything else is negative. :func:`positive_pairs` lists every such item pair of a split.

:class:`PairBatchSampler` yields training batches as the dataset paper describes them (spec section 6): each
batch holds ``pairs_per_batch`` couples (shop image, user image) that share a ``pair_id`` and hold at least one
positive item pair. It is plain Python/numpy, so it works as a ``batch_sampler`` of a torch ``DataLoader``
without importing torch here.

>>> from df2kit.io import scan_split
>>> from df2kit.formats.pairs import positive_pairs, PairBatchSampler
>>> table = scan_split("ROOT", "train")                              # doctest: +SKIP
>>> pairs = positive_pairs(table)                                    # doctest: +SKIP
>>> table.item_key[pairs.shop_item[0]], table.item_key[pairs.user_item[0]]   # doctest: +SKIP
('item1', 'item2')
>>> sampler = PairBatchSampler(table, pairs_per_batch=8, seed=0)     # doctest: +SKIP
>>> sampler.set_epoch(3)                                             # doctest: +SKIP
>>> batch = next(iter(sampler))      # 16 image rows: shop, user, shop, user, ...   # doctest: +SKIP

What one epoch is
-----------------
Every user image that holds an item of some positive pair appears exactly once per epoch (before padding),
coupled with one shop image of the same ``pair_id`` that holds a positive partner of one of its items. With
``shuffle=True`` the couples' order and the shop partner are drawn from ``numpy.random.default_rng([seed,
epoch])``, so every replica draws the same epoch; with ``shuffle=False`` the order is by user image row and
the shop partner cycles through the candidates as the epoch grows.

When the split has no positive pair at all, couples fall back to (shop, user) images that merely share a
``pair_id``; when not even that exists, the sampler raises :class:`~df2kit.errors.DatasetError`.

Batch count: ``drop_last=False`` pads the epoch by wrapping around to its start so that every batch is
full and every replica gets the same number of batches (``ceil(ceil(n / pairs_per_batch) / num_replicas)``);
``drop_last=True`` drops the incomplete tail (``floor(floor(n / pairs_per_batch) / num_replicas)``).
Replica ``rank`` takes batches ``rank, rank + num_replicas, ...`` of the epoch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from .._atomic import atomic_open
from ..errors import DatasetError
from ..io.scan import SplitTable, _ragged_index

__all__ = ["PairBatchSampler", "PositivePairs", "positive_pairs", "write_positive_pairs"]


@dataclass(frozen=True, eq=False)
class PositivePairs:
    """Every positive (shop item, user item) pair of a split, as aligned columns.

    ``shop_item``/``user_item`` index the items of the :class:`~df2kit.io.SplitTable` the pairs came from;
    ``shop_image``/``user_image`` are their image rows. Pairs are ordered by (pair_id, style, shop item,
    user item).
    """

    shop_item: np.ndarray  #: (n,) int64 item index of the shop item
    user_item: np.ndarray  #: (n,) int64 item index of the user item
    shop_image: np.ndarray  #: (n,) int64 image row of the shop item
    user_image: np.ndarray  #: (n,) int64 image row of the user item
    pair_id: np.ndarray  #: (n,) int64
    style: np.ndarray  #: (n,) int64, > 0

    def __len__(self) -> int:
        return len(self.shop_item)

    def image_couples(self) -> np.ndarray:
        """Distinct (shop image row, user image row) couples holding at least one pair: ``(c, 2)`` int64,
        sorted by user row then shop row."""
        if not len(self):
            return np.zeros((0, 2), np.int64)
        both = np.stack([self.user_image, self.shop_image], axis=1)
        uniq = np.unique(both, axis=0)
        return uniq[:, ::-1].copy()


def positive_pairs(table: SplitTable) -> PositivePairs:
    """Every shop item x user item with the same ``pair_id`` and the same ``style > 0``."""
    keys, group, _, user_n = table.style_identities()
    src = table.item_source
    shop = np.flatnonzero((group >= 0) & (src == 0))
    user = np.flatnonzero((group >= 0) & (src == 1))
    # sort both sides by (identity, item index); identities are sorted by (pair_id, style) already
    shop = shop[np.lexsort((shop, group[shop]))]
    user = user[np.lexsort((user, group[user]))]
    user_start = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(user_n, out=user_start[1:])
    reps = user_n[group[shop]].astype(np.int64)  # each shop item meets every user item of its identity
    shop_item = np.repeat(shop, reps)
    user_item = user[_ragged_index(user_start[group[shop]], reps)]
    g = group[shop_item]
    return PositivePairs(
        shop_item=shop_item.astype(np.int64),
        user_item=user_item.astype(np.int64),
        shop_image=table.item_image[shop_item],
        user_image=table.item_image[user_item],
        pair_id=keys[g, 0].astype(np.int64) if len(g) else np.zeros(0, np.int64),
        style=keys[g, 1].astype(np.int64) if len(g) else np.zeros(0, np.int64),
    )


def _box(b: np.ndarray) -> list[int | float]:
    return [int(v) if float(v).is_integer() else float(v) for v in b.tolist()]


def write_positive_pairs(table: SplitTable, pairs: PositivePairs, path: str | os.PathLike[str]) -> int:
    """Write the pairs as JSON lines (one pair per line, in the pairs' order); returns the line count.

    Each line: ``pair_id``, ``style``, then for ``shop`` and ``user`` each: ``*_image_id``, ``*_item`` (the
    item key in the annotation file, ``item2``), ``*_category_id`` and ``*_bbox`` ([x1, y1, x2, y2]), e.g.::

        {"pair_id":7,"style":1,"shop_image_id":12,"shop_item":"item1","shop_category_id":1,
         "shop_bbox":[10,20,200,300],"user_image_id":15,"user_item":"item2","user_category_id":1,
         "user_bbox":[5,8,150,260]}

    Read it with ``[json.loads(line) for line in open(path)]`` or ``pandas.read_json(path, lines=True)``.
    The file is written under a temporary name and renamed when complete.
    """
    ids = table.image_id
    keys = table.item_key
    cats = table.category_id
    boxes = table.bbox_xyxy
    step = 50_000
    with atomic_open(path, "wb") as f:
        for lo in range(0, len(pairs), step):
            hi = min(lo + step, len(pairs))
            lines = []
            for k in range(lo, hi):
                s, u = int(pairs.shop_item[k]), int(pairs.user_item[k])
                rec: dict[str, Any] = {
                    "pair_id": int(pairs.pair_id[k]),
                    "style": int(pairs.style[k]),
                    "shop_image_id": int(ids[pairs.shop_image[k]]),
                    "shop_item": str(keys[s]),
                    "shop_category_id": int(cats[s]),
                    "shop_bbox": _box(boxes[s]),
                    "user_image_id": int(ids[pairs.user_image[k]]),
                    "user_item": str(keys[u]),
                    "user_category_id": int(cats[u]),
                    "user_bbox": _box(boxes[u]),
                }
                lines.append(orjson.dumps(rec))
            f.write(b"\n".join(lines) + b"\n")
    return len(pairs)


def _fallback_couples(table: SplitTable) -> np.ndarray:
    """(shop row, user row) couples that share a pair_id, for splits without any positive pair."""
    rows = np.arange(len(table), dtype=np.int64)
    shop, user = rows[table.source == 0], rows[table.source == 1]
    if not len(shop) or not len(user):
        return np.zeros((0, 2), np.int64)
    shop = shop[np.argsort(table.pair_id[shop], kind="stable")]
    sp = table.pair_id[shop]
    lo = np.searchsorted(sp, table.pair_id[user], side="left")
    hi = np.searchsorted(sp, table.pair_id[user], side="right")
    cnt = hi - lo
    return np.stack([shop[_ragged_index(lo, cnt)], np.repeat(user, cnt)], axis=1)


class PairBatchSampler:
    """Batches of (shop, user) image couples for training a matching network (see the module docstring).

    Iterating yields lists of :class:`~df2kit.io.SplitTable` image rows, ``2 * pairs_per_batch`` long:
    ``[shop_0, user_0, shop_1, user_1, ...]``. Call :meth:`set_epoch` before each epoch (as with torch's
    ``DistributedSampler``) to draw a new order.

    >>> sampler = PairBatchSampler(table, pairs_per_batch=8, num_replicas=4, rank=1)   # doctest: +SKIP
    >>> loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler)            # doctest: +SKIP
    """

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
        for name, v, lo in (("pairs_per_batch", pairs_per_batch, 1), ("num_replicas", num_replicas, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name}: expected an integer >= {lo}, got {v!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"rank: expected an integer in 0..{num_replicas - 1}, got {rank!r}")
        self.pairs_per_batch = int(pairs_per_batch)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        couples = positive_pairs(table).image_couples()
        #: True when couples hold positive item pairs; False when the split has none (pair_id fallback).
        self.positive = bool(len(couples))
        if not len(couples):
            couples = _fallback_couples(table)
            if not len(couples):
                raise DatasetError(
                    "no shop image and user image share a pair_id, so there is no couple to sample",
                    path=str(table.split_dir),
                )
        # group the candidate shop images by user image (CSR): couples are sorted by user row
        order = np.lexsort((couples[:, 0], couples[:, 1]))
        couples = couples[order]
        users, start, count = np.unique(couples[:, 1], return_index=True, return_counts=True)
        self._users = users.astype(np.int64)
        self._cand_start = start.astype(np.int64)
        self._cand_count = count.astype(np.int64)
        self._cand_shop = couples[:, 0].astype(np.int64)

    @property
    def num_couples(self) -> int:
        """Couples per epoch before padding: the user images that take part."""
        return len(self._users)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` for the next iteration (same on every replica)."""
        self.epoch = int(epoch)

    def _batches_total(self) -> int:
        n, b = self.num_couples, self.pairs_per_batch
        return n // b if self.drop_last else -(-n // b)

    def __len__(self) -> int:
        total, r = self._batches_total(), self.num_replicas
        return total // r if self.drop_last else -(-total // r)

    def couples(self, epoch: int | None = None) -> np.ndarray:
        """The epoch's couples in order, before padding and sharding: ``(num_couples, 2)`` (shop row, user row)."""
        e = self.epoch if epoch is None else int(epoch)
        n = self.num_couples
        if self.shuffle:
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, e & 0xFFFFFFFF])
            order = rng.permutation(n)
            pick = np.floor(rng.random(n) * self._cand_count).astype(np.int64)
        else:
            order = np.arange(n)
            pick = e % self._cand_count
        shop = self._cand_shop[self._cand_start + np.minimum(pick, self._cand_count - 1)]
        return np.stack([shop[order], self._users[order]], axis=1)

    def __iter__(self) -> Iterator[list[int]]:
        per_rank = len(self)
        if per_rank == 0:
            return
        b, r = self.pairs_per_batch, self.num_replicas
        cps = self.couples()
        need = per_rank * r * b
        idx = np.resize(np.arange(len(cps)), need)  # wraps around when padding is needed
        batches = cps[idx].reshape(per_rank * r, 2 * b)
        for row in batches[self.rank :: r]:
            yield row.tolist()
