"""End to end on a synthetic DeepFashion2 split: scan, derive the ground truth, score, through the CLI too."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from retrieval_official_port import official_retrieval

from df2kit.cli.main import main
from df2kit.evaluation.retrieval import evaluate_retrieval
from df2kit.formats.retrieval import retrieval_ground_truth
from df2kit.io import scan_split
from df2kit.synth import synthesize


@pytest.fixture(scope="module")
def synth_split(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    synthesize(root, validation=120, seed=3, images=False, workers=1)
    return root / "validation"


def _perfect_results(gt):
    """One entry per query item with its own box and class, its correct shop items first."""
    out = []
    for i in range(gt.num_queries):
        correct = np.flatnonzero((gt.gallery_pair_id == gt.query_pair_id[i]) & (gt.gallery_style == gt.query_style[i]))
        others = np.setdiff1d(np.arange(gt.num_gallery), correct)[: 20 - min(len(correct), 20)]
        ranked = np.concatenate([correct[:20], others]).astype(int)
        out.append({"query_image_id": int(gt.query_image_id[i]), "query_bbox": gt.query_bbox_xyxy[i].tolist(),
                    "query_cls": int(gt.query_category[i]), "query_score": 1.0,
                    "gallery_image_id": gt.gallery_image_id[ranked].tolist(),
                    "gallery_bbox": gt.gallery_bbox_xyxy[ranked].tolist()})
    return out


def test_perfect_results_on_a_synthetic_split(synth_split, tmp_path, capsys):
    gt = retrieval_ground_truth(scan_split(synth_split, None))
    assert gt.num_scored_queries > 20 and gt.num_gallery > 20
    results = _perfect_results(gt)
    r = evaluate_retrieval(synth_split, results, subsets=True)
    matchable = r.num_queries - r.num_unmatchable
    assert r.overall.hits[0] == matchable  # every matchable query found at rank 1
    hits, n = official_retrieval(gt.query_records(), gt.gallery_records(), results)
    assert (n, tuple(int(v) for v in hits.sum(axis=0))) == (r.num_queries, r.overall.hits)
    assert sum(row.num_queries for row in r.subsets) == 4 * r.num_queries  # every item has all four levels
    assert evaluate_retrieval(synth_split, results, gt_boxes=True).overall.hits == r.overall.hits

    (tmp_path / "r.json").write_bytes(orjson.dumps(results))
    assert main(["-q", "evaluate", "--task", "retrieval", str(synth_split), str(tmp_path / "r.json"), "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["hits1"] == matchable
