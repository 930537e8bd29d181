"""The layout table: a faithful copy of the shared facts, and internally consistent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from df2kit import layout
from df2kit.layout import (
    CATEGORIES,
    CATEGORY_OF_LANDMARK_294,
    FLIP_INDEX_294,
    INEXACT_FLIP_PAIRS,
    LANDMARK_NAMES_294,
    NUM_LANDMARKS,
    SIGMAS_294,
    Category,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "df2_layout.json"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/df2_layout.json is not beside this checkout")
def test_packaged_copy_equals_the_shared_facts() -> None:
    assert layout.layout_json() == json.loads(SHARED.read_text())


def test_slices_cover_0_to_293_exactly_once() -> None:
    seen = np.zeros(NUM_LANDMARKS, dtype=int)
    for c in CATEGORIES:
        seen[c.landmark_slice] += 1
        assert len(c.sigmas) == c.num_landmarks
    assert (seen == 1).all()
    assert [c.id for c in CATEGORIES] == list(range(1, 14))


def test_flip_pairs_stay_in_category_and_have_equal_sigmas_but_one() -> None:
    inexact = []
    for c in CATEGORIES:
        flat = [j for pair in c.flip_pairs for j in pair]
        assert len(flat) == len(set(flat)), f"{c.name}: a landmark in two flip pairs"
        for a, b in c.flip_pairs:
            assert 1 <= a <= c.num_landmarks and 1 <= b <= c.num_landmarks and a != b
            if c.sigmas[a - 1] != c.sigmas[b - 1]:
                inexact.append((c.id, a, b))
    assert tuple(inexact) == INEXACT_FLIP_PAIRS


def test_skeleton_indices_in_range() -> None:
    for c in CATEGORIES:
        for a, b in c.skeleton:
            assert 1 <= a <= c.num_landmarks and 1 <= b <= c.num_landmarks and a != b


def test_global_flip_index_is_an_involution_within_each_slice() -> None:
    assert np.array_equal(FLIP_INDEX_294[FLIP_INDEX_294], np.arange(NUM_LANDMARKS))
    assert np.array_equal(CATEGORY_OF_LANDMARK_294[FLIP_INDEX_294], CATEGORY_OF_LANDMARK_294)
    # the documented inexact pair aside, a flip never changes the sigma
    diff = np.flatnonzero(SIGMAS_294 != SIGMAS_294[FLIP_INDEX_294])
    off = Category.LONG_SLEEVE_DRESS.offset
    assert set(diff.tolist()) == {off + 14, off + 28}


def test_trousers_slice_as_in_the_spec() -> None:
    assert Category.TROUSERS.landmark_slice == slice(168, 182)
    assert Category(8).dataset_name == "trousers"


def test_names_and_lookup() -> None:
    assert LANDMARK_NAMES_294[0] == "short_sleeve_top_01"
    assert LANDMARK_NAMES_294[-1] == "sling_dress_19"
    assert len(set(LANDMARK_NAMES_294)) == NUM_LANDMARKS
    assert Category.from_name("short sleeve top") is Category.SHORT_SLEEVE_TOP
    assert Category.from_name("short_sleeved_shirt") is Category.SHORT_SLEEVE_TOP
    with pytest.raises(ValueError, match="unknown category name 'hat'"):
        Category.from_name("hat")
    assert len({c.colour for c in CATEGORIES}) == 13


def test_arrays_are_read_only() -> None:
    with pytest.raises(ValueError):
        SIGMAS_294[0] = 1.0
