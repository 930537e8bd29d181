"""The numbers of the DeepFashion2 README's Table 1 and Figure 3 for one split.

>>> from df2kit.io import scan_split
>>> from df2kit.stats import split_stats
>>> s = split_stats(scan_split("ROOT", "validation"))   # doctest: +SKIP
>>> s.positive_pairs                                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._table import format_table
from .io.scan import SplitTable
from .layout import ATTRIBUTE_LEVELS, CATEGORIES, Category

__all__ = ["SplitStats", "split_stats"]


@dataclass(frozen=True)
class SplitStats:
    """Counts for one split. Dicts keep the README's order (categories 1..13, levels 1..3)."""

    split: str
    images: int
    items: int
    shop_images: int
    user_images: int
    shop_items: int
    user_items: int
    pair_ids: int
    style_identities: int  #: distinct (pair_id, style > 0)
    positive_pairs: int  #: shop item x user item with the same pair_id and the same style > 0
    retrieval_queries: int  #: user items with style > 0 (the retrieval task's scored queries)
    retrieval_gallery: int  #: shop items with style > 0
    items_per_category: dict[str, int]
    scale: dict[str, int]
    occlusion: dict[str, int]
    zoom_in: dict[str, int]
    viewpoint: dict[str, int]
    landmarks_visible: int
    landmarks_occluded: int
    landmarks_missing: int  #: v = 0 (not labeled)
    items_without_landmarks: int
    #: Layout check for the outwear categories (3 and 4): on frontal items with landmarks 2 and 4 labeled,
    #: how often 2 lies above 4 ({category name: [above, total]}). The layout (and the official sigmas)
    #: read category 3 like category 4: 2 = neck point at the top, 4 = lower front neckline, so both
    #: fractions should be high; a low one for category 3 means the data follows the figure's other labels.
    outwear_point2_above_point4: dict[str, list[int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        """The tables, as printed by ``df2kit stats``."""
        head = [
            ("images", self.images),
            ("  shop / user", f"{self.shop_images:,} / {self.user_images:,}"),
            ("items (bboxes, landmarks, masks)", self.items),
            ("  shop / user", f"{self.shop_items:,} / {self.user_items:,}"),
            ("pair_ids", self.pair_ids),
            ("style identities (pair_id, style > 0)", self.style_identities),
            ("positive commercial-consumer pairs", self.positive_pairs),
            ("retrieval queries (user items, style > 0)", self.retrieval_queries),
            ("retrieval gallery (shop items, style > 0)", self.retrieval_gallery),
            ("landmarks visible / occluded / missing", f"{self.landmarks_visible:,} / {self.landmarks_occluded:,} / {self.landmarks_missing:,}"),
            ("items with no labeled landmark", self.items_without_landmarks),
        ]
        for name, (above, n) in self.outwear_point2_above_point4.items():
            if n:
                head.append((f"{name}: point 2 above point 4 (frontal)", f"{above:,} of {n:,} ({100.0 * above / n:.0f}%)"))
        out = [format_table(["split " + self.split, "count"], head)]
        tot = max(self.items, 1)
        rows = [(name, n, 100.0 * n / tot) for name, n in self.items_per_category.items()]
        out.append("")
        out.append(format_table(["category", "items", "%"], rows, digits=1))
        attr_rows = []
        for attr in ATTRIBUTE_LEVELS:
            counts: dict[str, int] = getattr(self, attr)
            for lvl, n in counts.items():
                attr_rows.append((attr, lvl, n, 100.0 * n / tot))
        out.append("")
        out.append(format_table(["attribute", "level", "items", "%"], attr_rows, digits=1))
        return "\n".join(out)


def _point2_above_point4(table: SplitTable) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    frontal = table.attributes[:, 3] == 2
    for cat in (Category.SHORT_SLEEVE_OUTWEAR, Category.LONG_SLEEVE_OUTWEAR):
        items = np.flatnonzero((table.category_id == int(cat)) & frontal)
        starts = table.landmark_start[items]
        p2, p4 = table.landmarks[starts + 1], table.landmarks[starts + 3]
        both = (p2[:, 2] > 0) & (p4[:, 2] > 0)
        out[cat.dataset_name] = [int(np.count_nonzero(both & (p2[:, 1] < p4[:, 1]))), int(np.count_nonzero(both))]
    return out


def split_stats(table: SplitTable) -> SplitStats:
    """Count everything the README's Table 1 and Figure 3 show, for one scanned split."""
    src_img = table.source
    src_item = table.item_source
    cats = np.bincount(table.category_id.astype(np.int64), minlength=14)
    attrs = {}
    for a_i, (attr, levels) in enumerate(ATTRIBUTE_LEVELS.items()):
        cnt = np.bincount(table.attributes[:, a_i].astype(np.int64), minlength=4)
        attrs[attr] = {lvl: int(cnt[k + 1]) for k, lvl in enumerate(levels)}
    v = table.landmarks[:, 2]
    ks = np.diff(table.landmark_start)
    lm_item = np.repeat(np.arange(table.num_items), ks)
    labeled_per_item = np.bincount(lm_item[v > 0], minlength=table.num_items)
    _, _, shop, user = table.style_identities()
    styled = table.style > 0
    return SplitStats(
        split=table.name,
        images=len(table),
        items=table.num_items,
        shop_images=int(np.count_nonzero(src_img == 0)),
        user_images=int(np.count_nonzero(src_img == 1)),
        shop_items=int(np.count_nonzero(src_item == 0)),
        user_items=int(np.count_nonzero(src_item == 1)),
        pair_ids=len(np.unique(table.pair_id)),
        style_identities=len(shop),
        positive_pairs=int(np.sum(shop.astype(np.int64) * user.astype(np.int64))),
        retrieval_queries=int(np.count_nonzero(styled & (src_item == 1))),
        retrieval_gallery=int(np.count_nonzero(styled & (src_item == 0))),
        items_per_category={c.name: int(cats[c.id]) for c in CATEGORIES},
        scale=attrs["scale"],
        occlusion=attrs["occlusion"],
        zoom_in=attrs["zoom_in"],
        viewpoint=attrs["viewpoint"],
        landmarks_visible=int(np.count_nonzero(v == 2)),
        landmarks_occluded=int(np.count_nonzero(v == 1)),
        landmarks_missing=int(np.count_nonzero(v == 0)),
        items_without_landmarks=int(np.count_nonzero(labeled_per_item == 0)),
        outwear_point2_above_point4=_point2_above_point4(table),
    )
