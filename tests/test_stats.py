"""split_stats counts exactly what the README's Table 1 and Figure 3 count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from df2kit.io import scan_split, write_annotation
from df2kit.stats import split_stats
from df2kit.structures import ClothingItem, ImageAnnotation


def _item(key: str, cat: int, style: int, v: tuple[int, ...] = (2,), scale: int = 2) -> ClothingItem:
    from df2kit.layout import Category

    k = Category(cat).num_landmarks
    lm = np.zeros((k, 3))
    for j, vis in enumerate(v):
        if vis:
            lm[j] = (5 + j, 5, vis)
    return ClothingItem(key, cat, style, (0, 0, 50, 50), lm, [[0, 0, 50, 0, 50, 50]], scale, 1, 1, 2)


def test_counts_on_a_hand_built_split(tmp_path: Path) -> None:
    d = tmp_path / "train" / "annos"
    d.mkdir(parents=True)
    images = [
        ImageAnnotation("000001", "user", 1, (_item("item1", 1, 1, (2, 1)), _item("item2", 8, 0, (0,), scale=1))),
        ImageAnnotation("000002", "user", 1, (_item("item1", 1, 1),)),
        ImageAnnotation("000003", "shop", 1, (_item("item1", 1, 1), _item("item2", 9, 2, scale=3))),
        ImageAnnotation("000004", "shop", 1, (_item("item1", 1, 1),)),
        ImageAnnotation("000007", "user", 2, (_item("item1", 7, 1),)),
        ImageAnnotation("000009", "shop", 2, (_item("item1", 7, 1),)),
    ]
    for im in images:
        write_annotation(im, d / f"{im.stem}.json")
    s = split_stats(scan_split(tmp_path, "train", cache=False))
    assert (s.images, s.items, s.shop_images, s.user_images) == (6, 8, 3, 3)
    assert (s.shop_items, s.user_items) == (4, 4)
    assert s.pair_ids == 2
    assert s.style_identities == 3  # (1,1), (1,2), (2,1)
    assert s.positive_pairs == 2 * 2 + 1  # identity (1,1): 2 user x 2 shop items; (2,1): 1 x 1; (1,2): no user
    assert (s.retrieval_queries, s.retrieval_gallery) == (3, 4)
    assert s.items_per_category["short sleeve top"] == 4 and s.items_per_category["trousers"] == 1
    assert sum(s.items_per_category.values()) == 8
    assert s.scale == {"small": 1, "moderate": 6, "large": 1}
    assert s.viewpoint == {"no wear": 0, "frontal": 8, "side or back": 0}
    assert (s.landmarks_visible, s.landmarks_occluded) == (7, 1)
    total_k = 4 * 25 + 14 + 8 + 2 * 10
    assert s.landmarks_missing == total_k - 8
    assert s.items_without_landmarks == 1
    text = s.format()
    assert "positive commercial-consumer pairs" in text and "short sleeve top" in text
    assert s.to_dict()["positive_pairs"] == 5


def test_outwear_layout_check(tmp_path: Path) -> None:
    from df2kit.layout import Category

    d = tmp_path / "train" / "annos"
    d.mkdir(parents=True)

    def outwear(key: str, cat: Category, y2: float, y4: float) -> ClothingItem:
        lm = np.zeros((cat.num_landmarks, 3))
        lm[1] = (20, y2, 2)
        lm[3] = (25, y4, 2)
        return ClothingItem(key, cat, 0, (0, 0, 50, 50), lm, [[0, 0, 50, 0, 50, 50]], 2, 1, 1, 2)

    c3, c4 = Category.SHORT_SLEEVE_OUTWEAR, Category.LONG_SLEEVE_OUTWEAR
    ims = [
        ImageAnnotation("000001", "shop", 1, (outwear("item1", c3, 5, 20), outwear("item2", c4, 5, 20))),
        ImageAnnotation("000002", "shop", 1, (outwear("item1", c3, 30, 20),)),
    ]
    for im in ims:
        write_annotation(im, d / f"{im.stem}.json")
    s = split_stats(scan_split(tmp_path, "train", cache=False))
    assert s.outwear_point2_above_point4 == {"short sleeve outwear": [1, 2], "long sleeve outwear": [1, 1]}
    assert "point 2 above point 4" in s.format()
