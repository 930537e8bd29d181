"""Builders for the retrieval tests: hand-made and random ground truth and results."""

from __future__ import annotations

import numpy as np

from df2kit.formats.retrieval import RetrievalGroundTruth


def make_gt(queries, gallery) -> RetrievalGroundTruth:
    """queries: dicts {img, box, cls, style, pair, attrs?}; gallery: dicts {img, box, style, pair}."""
    return RetrievalGroundTruth(
        query_image_id=np.array([q["img"] for q in queries], dtype=np.int64),
        query_bbox_xyxy=np.array([q["box"] for q in queries], dtype=np.float64).reshape(-1, 4),
        query_category=np.array([q.get("cls", 1) for q in queries], dtype=np.int64),
        query_style=np.array([q.get("style", 1) for q in queries], dtype=np.int64),
        query_pair_id=np.array([q.get("pair", 1) for q in queries], dtype=np.int64),
        query_attributes=np.array([q.get("attrs", (1, 1, 1, 1)) for q in queries], dtype=np.int64).reshape(-1, 4),
        gallery_image_id=np.array([g["img"] for g in gallery], dtype=np.int64),
        gallery_bbox_xyxy=np.array([g["box"] for g in gallery], dtype=np.float64).reshape(-1, 4),
        gallery_style=np.array([g.get("style", 1) for g in gallery], dtype=np.int64),
        gallery_pair_id=np.array([g.get("pair", 1) for g in gallery], dtype=np.int64),
        gallery_category=np.array([g.get("cls", 0) for g in gallery], dtype=np.int64),
    )


def entry(img, box, gallery, *, cls=1, score=0.9, pad_to=20, pad_id=999_999):
    """One result entry; ``gallery`` = [(image id, box), ...], padded to 20 with a never-correct image."""
    ids = [g[0] for g in gallery] + [pad_id] * max(0, pad_to - len(gallery))
    boxes = [list(g[1]) for g in gallery] + [[0, 0, 1, 1]] * max(0, pad_to - len(gallery))
    return {"query_image_id": img, "query_bbox": list(box), "query_cls": cls, "query_score": score,
            "gallery_image_id": ids, "gallery_bbox": boxes}


def random_case(seed: int, *, n_pairs: int = 30):
    """A random ground truth with ties, style-0 items, shared boxes, and results that exercise every rule."""
    rng = np.random.default_rng(seed)
    queries, gallery = [], []
    img = 1

    def box():
        x, y = rng.integers(0, 60, size=2)
        return [int(x), int(y), int(x + rng.integers(1, 40)), int(y + rng.integers(1, 40))]

    for pair in range(1, n_pairs + 1):
        styles = list(range(1, int(rng.integers(2, 4))))
        for _ in range(int(rng.integers(1, 4))):  # shop images
            for _ in range(int(rng.integers(1, 4))):
                st = int(rng.choice(styles + [0]))
                if st > 0:
                    gallery.append({"img": img, "box": box(), "style": st, "pair": pair})
            img += 1
        for _ in range(int(rng.integers(1, 3))):  # user images
            n_items = int(rng.integers(1, 4))
            shared = box()
            for _ in range(n_items):
                st = int(rng.choice(styles + [0]))
                b = shared if rng.random() < 0.2 else box()
                queries.append({"img": img, "box": b, "cls": int(rng.integers(1, 4)), "style": st, "pair": pair,
                                "attrs": tuple(int(v) for v in rng.integers(1, 4, size=4))})
            img += 1
    gt = make_gt(queries, gallery)
    # results
    gal_ids = gt.gallery_image_id
    gal_boxes = gt.gallery_bbox_xyxy
    q_imgs = np.unique(gt.query_image_id)
    results = []
    for qi in q_imgs:
        items = np.flatnonzero(gt.query_image_id == qi)
        same_pair = np.flatnonzero(gt.gallery_pair_id == gt.query_pair_id[items[0]])
        for _ in range(int(rng.integers(0, 6))):
            if rng.random() < 0.8:
                j = int(rng.choice(items))
                b = (gt.query_bbox_xyxy[j] + rng.integers(-3, 4, size=4) * (rng.random() < 0.6)).tolist()
                c = int(gt.query_category[j]) if rng.random() < 0.8 else int(rng.integers(1, 4))
            else:
                b = [float(v) for v in box()]
                c = int(rng.integers(1, 4))
            u = rng.random(20)
            jitter = rng.integers(-8, 9, size=(20, 4)) * (rng.random((20, 1)) < 0.5)
            xy = rng.integers(0, 60, size=(20, 2))
            rand_box = np.concatenate([xy, xy + rng.integers(1, 40, size=(20, 2))], axis=1).astype(float)
            if len(gal_ids):
                pick = rng.integers(0, len(gal_ids), size=20)
                if len(same_pair):  # 15%: an item of the right identity family, often a correct one
                    pick = np.where(u < 0.15, rng.choice(same_pair, size=20), pick)
                known, near = gal_ids[pick], gal_boxes[pick] + jitter
            else:
                known, near = np.full(20, 5), rand_box
            ids = np.where(u < 0.8, known, rng.integers(10_000, 10_010, size=20))  # 10_000+: not in the gallery
            boxes = np.where((u < 0.5)[:, None], near, rand_box)
            ids, boxes = [int(v) for v in ids], boxes.tolist()
            results.append({"query_image_id": int(qi), "query_bbox": b, "query_cls": c,
                            "query_score": float(rng.choice([0.2, 0.5, 0.9, float(rng.random())])),
                            "gallery_image_id": ids, "gallery_bbox": boxes})
    rng.shuffle(results)
    return gt, list(results)
