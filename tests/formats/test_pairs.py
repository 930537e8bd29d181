"""Contract 4: every positive pair is found (against a brute-force loop), and the batch sampler's couples,
epochs, padding and shards follow the documented rules."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from df2kit.errors import DatasetError
from df2kit.formats.pairs import PairBatchSampler, positive_pairs
from df2kit.io import scan_split, write_annotation
from df2kit.structures import ImageAnnotation

from .._factory import make_split, random_item


def _brute_pairs(table) -> list[tuple[int, int]]:
    out = []
    for s in range(table.num_items):
        for u in range(table.num_items):
            if (
                table.item_source[s] == 0
                and table.item_source[u] == 1
                and table.style[s] > 0
                and table.style[s] == table.style[u]
                and table.item_pair_id[s] == table.item_pair_id[u]
            ):
                out.append((s, u))
    return out


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory):
    return scan_split(make_split(tmp_path_factory.mktemp("pairs"), 48, seed=11, images=False), None, cache=False)


def _write(root: Path, anns: list[ImageAnnotation]) -> Path:
    d = root / "train"
    for a in anns:
        write_annotation(a, d / "annos" / f"{a.stem}.json")
    return d


def test_positive_pairs_equal_brute_force(table) -> None:
    p = positive_pairs(table)
    want = _brute_pairs(table)
    assert len(want) > 10  # the fixture really has pairs
    assert sorted(zip(p.shop_item.tolist(), p.user_item.tolist())) == sorted(want)
    assert len(set(zip(p.shop_item.tolist(), p.user_item.tolist()))) == len(p)
    assert np.array_equal(p.shop_image, table.item_image[p.shop_item])
    assert np.array_equal(p.user_image, table.item_image[p.user_item])
    assert np.array_equal(p.pair_id, table.item_pair_id[p.shop_item])
    assert np.array_equal(p.style, table.style[p.user_item]) and (p.style > 0).all()
    keys = np.stack([p.pair_id, p.style, p.shop_item, p.user_item], axis=1)
    assert np.array_equal(keys, keys[np.lexsort(keys.T[::-1])])  # documented order


def test_positive_pairs_count_matches_stats(table) -> None:
    from df2kit.stats import split_stats

    assert len(positive_pairs(table)) == split_stats(table).positive_pairs


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_positive_pairs_random_splits(tmp_path: Path, seed: int) -> None:
    t = scan_split(make_split(tmp_path, 20, seed=seed, images=False), None, cache=False, workers=1)
    p = positive_pairs(t)
    assert sorted(zip(p.shop_item.tolist(), p.user_item.tolist())) == sorted(_brute_pairs(t))


def test_no_pairs_when_styles_differ_or_zero(tmp_path: Path) -> None:
    rng = random.Random(0)
    anns = [
        ImageAnnotation("000001", "shop", 7, (random_item(rng, "item1", 100, 100, style=1),)),
        ImageAnnotation("000002", "user", 7, (random_item(rng, "item1", 100, 100, style=2),)),
        ImageAnnotation("000003", "user", 7, (random_item(rng, "item1", 100, 100, style=0),)),
        ImageAnnotation("000004", "shop", 7, (random_item(rng, "item1", 100, 100, style=0),)),
        ImageAnnotation("000005", "user", 8, (random_item(rng, "item1", 100, 100, style=1),)),
    ]
    t = scan_split(_write(tmp_path, anns), None, cache=False)
    p = positive_pairs(t)
    assert len(p) == 0 and p.shop_item.dtype == np.int64 and p.image_couples().shape == (0, 2)


# ---- the sampler --------------------------------------------------------------------------------------
def _positive_couples(table) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in positive_pairs(table).image_couples()}


def test_every_batch_is_full_and_made_of_positive_couples(table) -> None:
    ok = _positive_couples(table)
    s = PairBatchSampler(table, pairs_per_batch=3, seed=5)
    assert s.positive
    batches = list(s)
    assert len(batches) == len(s) > 0
    for b in batches:
        assert len(b) == 6 and all(isinstance(x, int) for x in b)
        for shop, user in zip(b[0::2], b[1::2]):
            assert (shop, user) in ok
            assert table.source[shop] == 0 and table.source[user] == 1
            assert table.pair_id[shop] == table.pair_id[user]


def test_each_user_image_once_per_epoch(table) -> None:
    users = {u for _, u in _positive_couples(table)}
    s = PairBatchSampler(table, pairs_per_batch=4, seed=1)
    seen = [u for b in s for u in b[1::2]]
    n = len(users)
    assert s.num_couples == n
    assert len(seen) == len(s) * 4 == -(-n // 4) * 4
    assert set(seen[:n]) == users and len(set(seen[:n])) == n  # every user image once, then padding
    assert seen[n:] == seen[: len(seen) - n]  # padding wraps around to the start


def test_epochs_are_deterministic_and_differ(table) -> None:
    a = PairBatchSampler(table, pairs_per_batch=2, seed=3)
    b = PairBatchSampler(table, pairs_per_batch=2, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != first
    c = PairBatchSampler(table, pairs_per_batch=2, seed=4)
    assert list(c) != first


def test_shop_partner_varies_over_epochs(table) -> None:
    s = PairBatchSampler(table, pairs_per_batch=2, seed=0)
    multi = s._users[s._cand_count > 1]
    assert len(multi), "fixture should have user images with several shop partners"
    u = int(multi[0])
    partners = set()
    for e in range(30):
        cps = s.couples(e)
        partners.add(int(cps[cps[:, 1] == u][0, 0]))
    assert len(partners) > 1


def test_no_shuffle_is_ordered_and_cycles_partners(table) -> None:
    s = PairBatchSampler(table, pairs_per_batch=2, shuffle=False)
    c0, c1 = s.couples(0), s.couples(1)
    assert np.array_equal(c0[:, 1], np.sort(c0[:, 1]))
    assert np.array_equal(c0[:, 1], c1[:, 1])
    many = s._cand_count > 1
    assert (c0[many, 0] != c1[many, 0]).all() and (c0[~many, 0] == c1[~many, 0]).all()


def test_drop_last(table) -> None:
    n = PairBatchSampler(table, pairs_per_batch=1).num_couples
    b = 4 if n % 4 else 5
    s = PairBatchSampler(table, pairs_per_batch=b, drop_last=True)
    batches = list(s)
    assert len(batches) == len(s) == n // b
    assert len({u for bt in batches for u in bt[1::2]}) == (n // b) * b  # nothing repeated


@pytest.mark.parametrize("drop_last", [False, True])
def test_replicas_shard_the_epoch(table, drop_last: bool) -> None:
    r = 3
    full = PairBatchSampler(table, pairs_per_batch=2, seed=9, drop_last=drop_last)
    shards = [PairBatchSampler(table, pairs_per_batch=2, seed=9, drop_last=drop_last, num_replicas=r, rank=k) for k in range(r)]
    lens = {len(s) for s in shards}
    assert len(lens) == 1  # every replica runs the same number of steps
    got = [list(s) for s in shards]
    assert all(len(g) == len(s) for g, s in zip(got, shards))
    inter = [b for step in zip(*got) for b in step]
    want = list(full)
    n_common = min(len(inter), len(want))
    assert inter[:n_common] == want[:n_common]  # rank k takes batches k, k + r, ...
    users = [u for b in inter for u in b[1::2]]
    if drop_last:
        assert len(users) == len(set(users))
    else:
        assert set(users) == {u for _, u in _positive_couples(table)}


def test_fallback_without_positive_pairs(tmp_path: Path) -> None:
    rng = random.Random(2)
    anns = [
        ImageAnnotation("000001", "shop", 7, (random_item(rng, "item1", 100, 100, style=0),)),
        ImageAnnotation("000002", "user", 7, (random_item(rng, "item1", 100, 100, style=0),)),
        ImageAnnotation("000003", "user", 9, (random_item(rng, "item1", 100, 100, style=1),)),
        ImageAnnotation("000004", "shop", 8, (random_item(rng, "item1", 100, 100, style=1),)),
    ]
    t = scan_split(_write(tmp_path, anns), None, cache=False)
    s = PairBatchSampler(t, pairs_per_batch=2)
    assert not s.positive
    assert list(s) == [[0, 1, 0, 1]]  # the only couple sharing a pair_id, padded to a full batch


def test_no_couple_at_all_is_a_clear_error(tmp_path: Path) -> None:
    rng = random.Random(2)
    anns = [
        ImageAnnotation("000001", "shop", 1, (random_item(rng, "item1", 100, 100, style=1),)),
        ImageAnnotation("000002", "user", 2, (random_item(rng, "item1", 100, 100, style=1),)),
    ]
    t = scan_split(_write(tmp_path, anns), None, cache=False)
    with pytest.raises(DatasetError, match="share a pair_id"):
        PairBatchSampler(t)


@pytest.mark.parametrize(
    "kwargs", [{"pairs_per_batch": 0}, {"num_replicas": 0}, {"rank": 2, "num_replicas": 2}, {"rank": -1}, {"pairs_per_batch": True}]
)
def test_bad_arguments(table, kwargs) -> None:
    with pytest.raises(ValueError):
        PairBatchSampler(table, **kwargs)
