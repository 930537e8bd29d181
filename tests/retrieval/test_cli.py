"""`df2kit retrieve` and `df2kit evaluate --task retrieval`, end to end."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from retrieval_cases import random_case

from df2kit.cli.main import main
from df2kit.evaluation.retrieval import evaluate_retrieval
from df2kit.formats.retrieval import write_retrieval_ground_truth


@pytest.fixture
def world(tmp_path):
    """GT files plus query/gallery .npz whose embeddings put each item near its identity's vector."""
    gt, _ = random_case(11, n_pairs=60)
    rng = np.random.default_rng(0)
    d = 16
    ident = {}

    def vec(pair, style):
        if style == 0:
            return rng.normal(size=d)
        key = (int(pair), int(style))
        if key not in ident:
            ident[key] = rng.normal(size=d)
        return ident[key] + 0.3 * rng.normal(size=d)

    g_emb = np.stack([vec(p, s) for p, s in zip(gt.gallery_pair_id, gt.gallery_style)])
    q_emb = np.stack([vec(p, s) for p, s in zip(gt.query_pair_id, gt.query_style)])
    write_retrieval_ground_truth(gt, tmp_path / "gt")
    np.savez(tmp_path / "q.npz", embeddings=q_emb, image_ids=gt.query_image_id, boxes_xyxy=gt.query_bbox_xyxy,
             categories=gt.query_category, scores=np.linspace(1, 0.5, gt.num_queries))
    np.savez(tmp_path / "g.npz", embeddings=g_emb, image_ids=gt.gallery_image_id, boxes_xyxy=gt.gallery_bbox_xyxy)
    qn = q_emb / np.linalg.norm(q_emb, axis=1, keepdims=True)
    gn = g_emb / np.linalg.norm(g_emb, axis=1, keepdims=True)
    np.save(tmp_path / "sim.npy", (qn @ gn.T).astype(np.float32))
    return tmp_path, gt


def test_retrieve_then_evaluate(world, capsys):
    tmp, gt = world
    assert main(["-q", "retrieve", str(tmp / "q.npz"), str(tmp / "g.npz"), "-o", str(tmp / "r.json")]) == 0
    assert "wrote" in capsys.readouterr().out
    entries = orjson.loads((tmp / "r.json").read_bytes())
    assert len(entries) == gt.num_queries and all(len(e["gallery_image_id"]) == 20 for e in entries)
    expected = evaluate_retrieval(gt, entries)
    # near-duplicate embeddings and exact boxes: most matchable queries are found at rank 1
    matchable = expected.num_queries - expected.num_unmatchable
    assert expected.overall.hits[0] >= 0.8 * matchable and expected.overall.hits[-1] <= matchable

    out = tmp / "report"
    assert main(["-q", "evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json"), "--json",
                 "--subsets", "--out", str(out)]) == 0
    printed = orjson.loads(capsys.readouterr().out)
    assert printed["top1"] == expected.accuracy[1] and "subsets" in printed
    assert orjson.loads((out / "retrieval.json").read_bytes()) == printed

    assert main(["-q", "evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json"), "--gt-boxes"]) == 0
    text = capsys.readouterr().out
    with_gt_boxes = evaluate_retrieval(gt, entries, gt_boxes=True)
    assert "ground-truth boxes" in text and f"all     {with_gt_boxes.num_queries:>3}  {with_gt_boxes.accuracy[1]:.3f}" in text
    # every query item is represented by its own entry (items sharing a box take the entries in order)
    assert with_gt_boxes.num_represented == with_gt_boxes.num_queries

    assert main(["-q", "evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json"), "--min-iou", "0.5",
                 "--subset", "many-matches"]) == 0
    assert "subset many-matches" in capsys.readouterr().out


def test_retrieve_from_a_similarity_matrix_gives_the_same_file(world, capsys):
    tmp, _ = world
    np.savez(tmp / "q_ids.npz", **{k: v for k, v in np.load(tmp / "q.npz").items() if k != "embeddings"})
    np.savez(tmp / "g_ids.npz", **{k: v for k, v in np.load(tmp / "g.npz").items() if k != "embeddings"})
    assert main(["-q", "retrieve", str(tmp / "q.npz"), str(tmp / "g.npz"), "-o", str(tmp / "a.json"), "-k", "5"]) == 0
    assert main(["-q", "retrieve", str(tmp / "q_ids.npz"), str(tmp / "g_ids.npz"), "--similarity",
                 str(tmp / "sim.npy"), "-o", str(tmp / "b.json"), "-k", "5", "--json"]) == 0
    summary = orjson.loads(capsys.readouterr().out.split("\n", 1)[1])  # after the first command's line
    assert (summary["k"], summary["backend"]) == (5, "similarity matrix")
    a, b = orjson.loads((tmp / "a.json").read_bytes()), orjson.loads((tmp / "b.json").read_bytes())
    assert [e["gallery_image_id"] for e in a] == [e["gallery_image_id"] for e in b]
    assert all(len(e["gallery_image_id"]) == 5 for e in b)


def test_retrieve_errors_are_one_line(world, capsys):
    tmp, _ = world
    np.savez(tmp / "bad.npz", image_ids=np.arange(3))
    assert main(["-q", "retrieve", str(tmp / "bad.npz"), str(tmp / "g.npz"), "-o", str(tmp / "x.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.npz" in err and "missing array(s) boxes_xyxy, categories, scores" in err
    np.save(tmp / "wrong.npy", np.zeros((2, 2), dtype=np.float32))
    assert main(["-q", "retrieve", str(tmp / "q.npz"), str(tmp / "g.npz"), "--similarity", str(tmp / "wrong.npy"),
                 "-o", str(tmp / "x.json")]) == 1
    assert "expected shape" in capsys.readouterr().err
    assert main(["-q", "retrieve", str(tmp / "nope.npz"), str(tmp / "g.npz"), "-o", str(tmp / "x.json")]) == 1
    assert "file not found" in capsys.readouterr().err
    (tmp / "junk.npz").write_text("hello")
    assert main(["-q", "retrieve", str(tmp / "junk.npz"), str(tmp / "g.npz"), "-o", str(tmp / "x.json")]) == 1
    assert "junk.npz: not a .npz file" in capsys.readouterr().err
    assert not (tmp / "x.json").exists()
    with pytest.raises(SystemExit) as ei:
        main(["retrieve", str(tmp / "q.npz"), str(tmp / "g.npz"), "-o", str(tmp / "x.json"), "-k", "0"])
    assert ei.value.code == 2


def test_evaluate_errors(world, capsys):
    tmp, _ = world
    (tmp / "r.json").write_text("[{}]")
    assert main(["-q", "evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[0].query_image_id: missing" in err
    assert main(["-q", "evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json"), "--gt-boxes",
                 "--min-iou", "0.5"]) == 2
    with pytest.raises(SystemExit) as ei:
        main(["evaluate", "--task", "retrieval", str(tmp / "gt"), str(tmp / "r.json"), "--min-iou", "1.5"])
    assert ei.value.code == 2
