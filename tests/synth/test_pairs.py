"""Pairs: grouped by pair_id, consumer images first; styled identities shared across domains."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from df2kit.io import scan_split
from df2kit.stats import split_stats
from df2kit.synth.generate import plan_split
from df2kit.synth.identity import product_identity, style_variant


def test_plan_groups_pairs_user_first_and_covers_every_style_on_both_sides() -> None:
    specs = plan_split("train", 600, seed=5)
    assert [s.stem for s in specs] == [f"{i:06d}" for i in range(1, 601)]
    by_pair: dict[int, list] = defaultdict(list)
    for k, s in enumerate(specs):
        by_pair[s.pair_id].append((k, s))
    assert sorted(by_pair) == list(range(1, len(by_pair) + 1))
    for pid, group in by_pair.items():
        idx = [k for k, _ in group]
        assert idx == list(range(idx[0], idx[0] + len(idx))), "a pair_id's images are contiguous"
        sources = [s.source for _, s in group]
        assert sources == sorted(sources, key=lambda x: x == "shop"), "user images come first"
        styles = defaultdict(set)
        ident = {}
        for _, s in group:
            for shown in s.shown:
                styles[shown.style].add(s.source)
                # one (pair_id, style) is one identity: the same category, shape and look everywhere
                assert ident.setdefault(shown.style, shown.identity) == shown.identity
        for st, sides in styles.items():
            if st > 0:
                assert sides == {"user", "shop"}, f"pair {pid} style {st} is on one side only"


def test_style_variants_share_the_shape_and_change_the_look() -> None:
    a = product_identity(1, family=3, product_seed=11)
    b = style_variant(a, 5)
    assert a.params == b.params and a.category == b.category
    assert a.look != b.look
    # products of one family look alike: same shape up to a small jitter
    c = product_identity(1, family=3, product_seed=12)
    d = product_identity(1, family=4, product_seed=12)
    pa, pc, pd = (np.array([v for _, v in x.params]) for x in (a, c, d))
    assert np.abs(pa - pc).sum() < np.abs(pa - pd).sum()


def _mean_colours(root: Path, split: str):
    table = scan_split(root / split, cache=False)
    rows = []
    for r in range(len(table)):
        ann = table[r]
        img = Image.open(root / split / "image" / f"{ann.stem}.jpg").convert("RGB")
        arr = np.asarray(img, dtype=np.float64)
        for it in ann.items:
            m = Image.new("L", img.size, 0)
            d = ImageDraw.Draw(m)
            for p in it.segmentation:
                if len(p) >= 3:
                    d.polygon(p.ravel().tolist(), fill=1)
            mask = np.asarray(m, dtype=bool)
            if mask.sum() >= 20:
                rows.append((ann.source, ann.pair_id, it.style, int(it.category), arr[mask].mean(axis=0)))
    return table, rows


def test_positive_pairs_look_alike_and_retrieval_is_not_trivial(quirky_root: Path) -> None:
    table, rows = _mean_colours(quirky_root, "validation")
    stats = split_stats(table)
    assert stats.positive_pairs > 0 and stats.retrieval_queries > 0
    # every style > 0 user item has a shop partner
    shop_ids = {(p, s) for src, p, s, _, _ in rows if src == "shop" and s > 0}
    for src, p, s, c, _ in rows:
        if src == "user" and s > 0:
            assert (p, s) in shop_ids
    gallery = [(p, s, c, col) for src, p, s, c, col in rows if src == "shop" and s > 0]
    pos_d, neg_d, hits, queries = [], [], 0, 0
    for src, p, s, c, col in rows:
        if src != "user" or s == 0:
            continue
        same_cat = [(gp, gs, np.linalg.norm(col - gcol)) for gp, gs, gc, gcol in gallery if gc == c]
        pos = [d for gp, gs, d in same_cat if (gp, gs) == (p, s)]
        neg = [d for gp, gs, d in same_cat if (gp, gs) != (p, s)]
        if not pos or not neg:
            continue
        queries += 1
        pos_d.append(min(pos))
        neg_d.extend(neg)
        hits += min(pos) < min(neg)
    assert queries >= 10
    # the same identity keeps its colours across shop and consumer photos ...
    assert np.median(pos_d) < 0.5 * np.median(neg_d)
    # ... and products of the same category are close enough that colour alone sometimes picks the wrong one
    assert 0.3 < hits / queries < 1.0
