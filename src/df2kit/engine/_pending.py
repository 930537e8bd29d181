"""Temporary stand-ins for contracts that other branches are still landing (deleted as each one lands).

Each function here calls the real contract when it is importable and otherwise a small private version of
the same documented behaviour, so that training and prediction work (and are tested) in the meantime:

* contract 5 ``df2kit.search`` (``GalleryIndex``, ``retrieval_entries``, ``write_retrieval_results``)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import orjson

from .._atomic import atomic_write_bytes


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
        from ..search import GalleryIndex
        from ..search import retrieval_entries as real
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
