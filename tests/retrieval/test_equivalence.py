"""Randomized equivalence: df2kit's vectorised scorer against the straight port of the official script."""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_cases import random_case
from retrieval_official_port import official_retrieval

from df2kit.evaluation.retrieval import MANY_MATCHES, TOPK, evaluate_retrieval
from df2kit.layout import ATTRIBUTE_LEVELS, ATTRIBUTES


def _port(gt, results, **kw):
    return official_retrieval(gt.query_records(), gt.gallery_records(), results, **kw)


@pytest.mark.parametrize("seed", range(40))
def test_official_mode_matches_the_port(seed):
    gt, results = random_case(seed)
    hits, n = _port(gt, results)
    r = evaluate_retrieval(gt, results, subsets=True)
    assert r.num_queries == n
    assert r.overall.hits == tuple(int(v) for v in hits.sum(axis=0))
    # per attribute level: the same query items hit
    rows = {row.name: row for row in r.subsets}
    scored = gt.query_style > 0
    for a, attr in enumerate(ATTRIBUTES):
        for lv, level in enumerate(ATTRIBUTE_LEVELS[attr], start=1):
            m = scored & (gt.query_attributes[:, a] == lv)
            assert rows[f"{attr}: {level}"].hits == tuple(int(v) for v in hits[m].sum(axis=0))
            assert rows[f"{attr}: {level}"].num_queries == int(m.sum())


def test_random_cases_exercise_the_rules():
    """Guard against a generator that makes the equivalence test trivial."""
    tot = np.zeros(len(TOPK), dtype=int)
    missed = unused = 0
    for seed in range(40):
        gt, results = random_case(seed)
        r = evaluate_retrieval(gt, results)
        tot += r.overall.hits
        missed += r.num_missed
        unused += r.num_unused
    assert tot[0] > 20 and tot[-1] > tot[0] * 2 and missed > 100 and unused > 100


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("min_iou", [0.0, 0.3, 0.5, 0.75])
def test_min_iou_matches_the_port_with_a_minimum(seed, min_iou):
    gt, results = random_case(seed)
    hits, _ = _port(gt, results, min_iou=min_iou)
    r = evaluate_retrieval(gt, results, min_iou=min_iou)
    assert r.overall.hits == tuple(int(v) for v in hits.sum(axis=0))


@pytest.mark.parametrize("seed", range(12))
def test_many_matches_subset_matches_the_port_restricted(seed):
    gt, results = random_case(seed, n_pairs=25)
    # more shop items per identity so that some queries have more than five
    rng = np.random.default_rng(seed)
    extra = rng.integers(0, gt.num_gallery, size=3 * gt.num_gallery)
    gt = type(gt)(**{**gt.__dict__, **{
        k: np.concatenate([getattr(gt, k), getattr(gt, k)[extra]])
        for k in ("gallery_image_id", "gallery_bbox_xyxy", "gallery_style", "gallery_pair_id", "gallery_category")
    }})
    hits, _ = _port(gt, results)
    counts = np.array([np.count_nonzero((gt.gallery_pair_id == p) & (gt.gallery_style == s))
                       for p, s in zip(gt.query_pair_id, gt.query_style)])
    m = (gt.query_style > 0) & (counts > MANY_MATCHES)
    assert 0 < m.sum() < (gt.query_style > 0).sum()
    r = evaluate_retrieval(gt, results, subset="many-matches")
    assert r.num_queries == int(m.sum())
    assert r.overall.hits == tuple(int(v) for v in hits[m].sum(axis=0))


def test_larger_case_matches_the_port():
    gt, results = random_case(1234, n_pairs=300)
    hits, n = _port(gt, results)
    r = evaluate_retrieval(gt, results)
    assert (r.num_queries, r.overall.hits) == (n, tuple(int(v) for v in hits.sum(axis=0)))
    assert r.overall.hits[-1] > 50
