"""Score a model on an annotated split with df2kit's own scorers (the end of ``df2kit train``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import torch

from .._atomic import atomic_write_bytes
from ..io.scan import SplitTable
from ..models.match_rcnn import MatchRCNN
from ..search import write_retrieval_results
from .data import ImageDataset
from .inference import ResultsWriter, RetrievalCollector, result_entries, run_inference

log = logging.getLogger(__name__)

#: The COCO-style tasks scored from the one results file.
COCO_TASKS = ("detection", "landmarks", "segmentation")


def _headline(result: Any) -> dict[str, float]:
    """The few numbers worth a line: AP / AP50 / AP75 or top-k accuracies."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    out: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (k in ("AP", "AP50", "AP75") or k.startswith("top")):
            out[k] = float(v)
    return out


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
) -> dict[str, dict[str, float]]:
    """Predict ``table``'s images into ``out_dir`` and score all four tasks; returns headline scores.

    The result files are written even when the scorers are not available; the scores are then empty.
    """
    paths = [table.image_path(i) for i in range(len(table))]
    ids = [int(i) for i in table.image_id]
    source = {int(i): int(s) for i, s in zip(table.image_id, table.source)}
    collector = RetrievalCollector()
    writer = ResultsWriter(out_dir / "results.json")
    per_image: list[tuple[int, list[dict[str, Any]]]] = []
    try:
        for d in run_inference(
            model, ImageDataset(paths, ids), device=device, batch_size=batch_size, workers=workers, amp=amp,
            progress=progress, desc=f"evaluate {table.name}",
        ):
            entries = result_entries(d)
            writer.write(entries)
            per_image.append((d.image_id, entries))
            collector.add(d, source.get(d.image_id))
    except BaseException as e:
        writer.abort(e)
        raise
    writer.close()
    retrieval = collector.entries(model.roi_heads.pair_head.fc.weight.detach().cpu().numpy(), k=top_k)
    write_retrieval_results(out_dir / "retrieval_results.json", retrieval)
    from ..evaluation.retrieval import evaluate_retrieval

    scores: dict[str, dict[str, float]] = {}
    try:
        from ..evaluation import evaluate
    except ImportError:
        log.warning("detection, landmark and mask results written to %s; scoring them needs df2kit.evaluation.evaluate", out_dir)
    else:
        flat = [e for _, entries in per_image for e in entries]
        for task in COCO_TASKS:
            res = evaluate(task, table, flat)
            _save(out_dir / f"{task}.json", res)
            scores[task] = _headline(res)
    res = evaluate_retrieval(table, retrieval)
    _save(out_dir / "retrieval.json", res)
    scores["retrieval"] = _headline(res)
    return scores


def _save(path: Path, result: Any) -> None:
    atomic_write_bytes(path, orjson.dumps(result.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2))
