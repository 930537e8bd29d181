"""Score a model on an annotated split with df2kit's own scorers (the end of ``df2kit train``)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import orjson
import torch

from .._atomic import atomic_write_bytes
from ..evaluation import COCO_TASKS, Evaluator
from ..evaluation.retrieval import evaluate_retrieval
from ..io.scan import SplitTable
from ..models.match_rcnn import MatchRCNN
from ..search import write_retrieval_results
from .data import ImageDataset
from .inference import ResultsWriter, RetrievalCollector, result_entries, run_inference

log = logging.getLogger(__name__)

#: The retrieval accuracies kept as headline numbers.
TOPK = (1, 5, 10, 20)
#: Detections scored per image when measuring AP: every detection above this score, at most this many (the
#: scorers' largest maxDets). AP rewards ranking, not a cut-off, so a low threshold is the usual way to
#: measure it (as COCO-style validation in other toolkits does); ``predict`` keeps the model's own threshold.
EVAL_SCORE_THRESH = 0.001
EVAL_DETECTIONS = 100


def _num(v: Any) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


def headline(task: str, result: Any) -> dict[str, float | None]:
    """The few numbers worth a line: AP / AP50 / AP75 (the first ground-truth variant: ``vis`` for
    landmarks), or the top-k accuracies of retrieval; ``None`` where nothing counts (as in ``to_dict()``)."""
    if task == "retrieval":
        d = result.to_dict()
        return {f"top{k}": _num(d.get(f"top{k}")) for k in TOPK}
    return {"AP": _num(result.ap), "AP50": _num(result.ap50), "AP75": _num(result.ap75)}


def evaluate_split(
    model: MatchRCNN,
    table: SplitTable,
    out_dir: Path,
    *,
    device: torch.device,
    batch_size: int = 4,
    workers: int = 0,
    amp: str = "auto",
    progress: bool = False,
    top_k: int = 20,
    score_thresh: float = EVAL_SCORE_THRESH,
    detections_per_image: int = EVAL_DETECTIONS,
) -> dict[str, dict[str, float | None]]:
    """Predict ``table``'s images into ``out_dir`` and score all four tasks; returns headline scores.

    Detections are kept down to ``score_thresh``, at most ``detections_per_image`` per image (the model's own
    settings are restored afterwards).

    Writes ``results.json`` and ``retrieval_results.json`` (as ``df2kit predict``) and ``<task>.json`` (each
    result's ``to_dict()``, as ``df2kit evaluate --out``). The COCO-style tasks are scored while predicting
    (:class:`df2kit.evaluation.Evaluator`), retrieval from the collected embeddings at the end.
    """
    paths = [table.image_path(i) for i in range(len(table))]
    ids = [int(i) for i in table.image_id]
    source = {int(i): int(s) for i, s in zip(table.image_id, table.source)}
    evaluator = Evaluator(table, tasks=COCO_TASKS, workers=1)
    collector = RetrievalCollector()
    writer = ResultsWriter(out_dir / "results.json")
    heads = model.roi_heads
    kept = heads.score_thresh, heads.detections_per_img
    heads.score_thresh, heads.detections_per_img = float(score_thresh), int(detections_per_image)
    try:
        for d in run_inference(
            model, ImageDataset(paths, ids), device=device, batch_size=batch_size, workers=workers, amp=amp,
            progress=progress, desc=f"evaluate {table.name}",
        ):
            entries = result_entries(d)
            writer.write(entries)
            evaluator.add(d.image_id, entries)
            collector.add(d, source.get(d.image_id))
    except BaseException as e:
        writer.abort(e)
        raise
    finally:
        heads.score_thresh, heads.detections_per_img = kept
    writer.close()
    retrieval = collector.entries(model.roi_heads.pair_head.fc.weight.detach().cpu().numpy(), k=top_k)
    write_retrieval_results(out_dir / "retrieval_results.json", retrieval)
    results: dict[str, Any] = dict(evaluator.compute())
    results["retrieval"] = evaluate_retrieval(table, retrieval)
    scores: dict[str, dict[str, float | None]] = {}
    for task, res in results.items():
        atomic_write_bytes(out_dir / f"{task}.json",
                           orjson.dumps(res.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2))
        scores[task] = headline(task, res)
    return scores
