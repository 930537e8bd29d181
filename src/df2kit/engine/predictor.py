"""``df2kit predict``: run a trained checkpoint over a split or a folder of images.

Writes into ``out``:

* ``results.json``: one entry per detection with ``bbox``, ``category_id``, ``score``, ``keypoints`` (882
  numbers) and ``segmentation`` (compressed RLE): the detection, landmark and segmentation result file at
  once (``df2kit evaluate --task detection|landmarks|segmentation`` read it);
* ``retrieval_results.json``: for each detected item of a user image, the 20 best detected shop items of the
  same input (needs the split's annotations to know which images are shop and which are user);
* ``image_ids.json`` when the input's file names are not DeepFashion2 numbers (the ids used instead);
* ``pictures/`` with ``draw`` pictures showing the predictions (next to the ground truth when the input
  is an annotated split; drawn by :mod:`df2kit.viz`); ``summary.json``.

>>> summary = predict("runs/toy/checkpoint.pt", "synth/validation", "pred/")   # doctest: +SKIP
>>> print(summary.format())                                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import torch

from .._atomic import atomic_open, atomic_write_bytes
from .._table import format_table
from ..errors import ConfigError, DatasetError
from ..io.images import IMAGE_EXTENSIONS
from ..io.scan import scan_split
from ..search import write_retrieval_results
from ..structures.records import image_id_from_stem
from .checkpoint import load_model
from .data import ImageDataset
from .inference import ResultsWriter, RetrievalCollector, resolve_device, result_entries, run_inference

__all__ = ["PredictSummary", "find_images", "predict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictSummary:
    """What ``predict`` did and where it wrote it."""

    images: int
    detections: int
    queries: int
    gallery: int
    seconds: float
    images_per_second: float
    device: str
    results_path: str
    retrieval_path: str | None
    pictures: int
    #: why there is no retrieval file (empty when there is one)
    retrieval_skipped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        rows = [
            ("images", self.images),
            ("detections", self.detections),
            ("retrieval queries (user items)", self.queries),
            ("retrieval gallery (shop items)", self.gallery),
            ("seconds", self.seconds),
            ("images/s", self.images_per_second),
            ("device", self.device),
            ("results", self.results_path),
            ("retrieval results", self.retrieval_path or f"- ({self.retrieval_skipped or 'not written'})"),
        ]
        if self.pictures:
            rows.append(("pictures", self.pictures))
        return format_table(["", "value"], rows, title="df2kit predict", digits=2)


def find_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (by extension), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _inputs(path: Path) -> tuple[list[Path], list[int], dict[int, int], bool]:
    """Images, their ids, the source of each annotated id, and whether ids were assigned (not file stems)."""
    if not path.is_dir():
        raise DatasetError("expected a split folder or a folder of images", path=str(path))
    native = (path / "image").is_dir()
    folder = path / "image" if native else path
    images = find_images(folder)
    if not images:
        raise DatasetError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) here", path=str(folder))
    stems_ok = all(p.stem.isdigit() and p.stem.isascii() for p in images)
    assigned = False
    if stems_ok and len({int(p.stem) for p in images}) == len(images):
        ids = [image_id_from_stem(p.stem, path=str(p)) for p in images]
    elif native:
        bad = next(p for p in images if not (p.stem.isdigit() and p.stem.isascii()))
        raise DatasetError(f"expected DeepFashion2 image names like 000123.jpg, got {bad.name!r}", path=str(bad))
    else:
        ids, assigned = list(range(1, len(images) + 1)), True
    sources: dict[int, int] = {}
    if native and (path / "annos").is_dir():
        table = scan_split(path, None)
        sources = {int(i): int(s) for i, s in zip(table.image_id, table.source)}
    return images, ids, sources, assigned


def _draw_picture(image: str | os.PathLike[str], image_id: int, entries: list[dict[str, Any]], annos: Path | None, path: Path) -> None:
    """One picture with df2kit.viz: ground truth and predictions side by side when the image has an
    annotation, else the predictions (scores >= 0.3) alone; written atomically as JPEG."""
    from ..io import read_annotation
    from ..viz import compare, draw_predictions, load_image

    img = load_image(image)
    anno = annos / f"{Path(image).stem}.json" if annos is not None else None
    if anno is not None and anno.is_file():
        pic = compare(img, read_annotation(anno), entries)
    else:
        pic = draw_predictions(img, entries, image_id=image_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        pic.save(f, format="JPEG", quality=90)


def predict(
    checkpoint: str | os.PathLike[str],
    input: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    batch_size: int = 4,
    device: str = "auto",
    workers: int = 2,
    amp: str = "auto",
    score_thresh: float | None = None,
    detections_per_image: int | None = None,
    retrieval: bool = True,
    top_k: int = 20,
    gallery_min_score: float = 0.3,
    draw: int = 0,
    threads: int = 0,
    progress: bool = False,
) -> PredictSummary:
    """Predict every image of ``input`` (a native split folder or a folder of images) into ``out``.

    ``threads``: CPU threads torch computes with (0: torch's default, one per core).
    """
    if threads < 0:
        raise ConfigError(f"expected an integer >= 0, got {threads!r}", field="threads")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _predict(checkpoint, input, out, batch_size=batch_size, device=device, workers=workers, amp=amp,
                        score_thresh=score_thresh, detections_per_image=detections_per_image, retrieval=retrieval,
                        top_k=top_k, gallery_min_score=gallery_min_score, draw=draw, progress=progress)
    finally:
        torch.set_num_threads(before)


def _predict(
    checkpoint: str | os.PathLike[str],
    input: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    batch_size: int,
    device: str,
    workers: int,
    amp: str,
    score_thresh: float | None,
    detections_per_image: int | None,
    retrieval: bool,
    top_k: int,
    gallery_min_score: float,
    draw: int,
    progress: bool,
) -> PredictSummary:
    dev = resolve_device(device)
    model, _ = load_model(checkpoint, device=dev)
    if score_thresh is not None:
        model.roi_heads.score_thresh = float(score_thresh)
    if detections_per_image is not None:
        model.roi_heads.detections_per_img = int(detections_per_image)
    images, ids, sources, assigned = _inputs(Path(input))
    annos = Path(input) / "annos" if sources else None
    out_dir = Path(out).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    if assigned:
        atomic_write_bytes(out_dir / "image_ids.json", orjson.dumps({p.name: i for p, i in zip(images, ids)}))
        log.info("file names are not DeepFashion2 numbers: ids 1..%d assigned (image_ids.json)", len(ids))
    collector = RetrievalCollector(gallery_min_score=gallery_min_score)
    writer = ResultsWriter(out_dir / "results.json")
    n_img = n_det = n_pic = 0
    start = time.perf_counter()
    try:
        for d in run_inference(
            model, ImageDataset(images, ids), device=dev, batch_size=batch_size, workers=workers, amp=amp,
            progress=progress,
        ):
            entries = result_entries(d)
            writer.write(entries)
            if retrieval:
                collector.add(d, sources.get(d.image_id))
            if n_pic < draw:
                _draw_picture(d.path, d.image_id, entries, annos, out_dir / "pictures" / f"{Path(d.path).stem}.jpg")
                n_pic += 1
            n_img += 1
            n_det += len(d)
    except BaseException as e:
        writer.abort(e)
        raise
    writer.close()
    seconds = time.perf_counter() - start
    retrieval_path = None
    if retrieval and sources:
        entries = collector.entries(model.roi_heads.pair_head.fc.weight.detach().cpu().numpy(), k=top_k)
        retrieval_path = str(out_dir / "retrieval_results.json")
        write_retrieval_results(retrieval_path, entries)
    summary = PredictSummary(
        images=n_img,
        detections=n_det,
        queries=collector.num_queries,
        gallery=collector.num_gallery,
        seconds=round(seconds, 3),
        images_per_second=round(n_img / max(seconds, 1e-9), 3),
        device=str(dev),
        results_path=str(out_dir / "results.json"),
        retrieval_path=retrieval_path,
        pictures=n_pic,
        retrieval_skipped=(
            "" if retrieval_path else "--no-retrieval" if not retrieval
            else "no shop/user sources: the input has no annos/"
        ),
    )
    atomic_write_bytes(out_dir / "summary.json", orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
    return summary
