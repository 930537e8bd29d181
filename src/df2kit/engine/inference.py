"""Run a model over images in batches and turn its outputs into the official result entries.

One entry per detection carries all three COCO-style tasks (spec section 4): ``image_id``, ``category_id``,
``bbox`` [x, y, w, h], ``score``, ``keypoints`` (294 x [x, y, v]: the predicted category's slice filled with
v = 1, zeros elsewhere) and ``segmentation`` (compressed RLE of the mask at the image's own size).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import torch

from .._atomic import atomic_open
from .._progress import progress_bar
from ..layout import NUM_LANDMARKS, NUM_LANDMARKS_BY_ID, OFFSET_BY_ID
from ..models.heads import ranking_vectors
from ..search import GalleryIndex, retrieval_entries
from ..structures.masks import encode_mask
from .data import ImageDataset, check_batch, collate

__all__ = ["Detections", "ResultsWriter", "RetrievalCollector", "autocast", "resolve_device", "result_entries", "run_inference"]


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the first GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        from ..errors import ConfigError

        raise ConfigError("no CUDA device is available (use --device cpu)", field="device")
    return dev


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for an ``amp`` setting on ``device`` (None = full precision)."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass
class Detections:
    """One image's detections as numpy arrays (image pixel coordinates)."""

    image_id: int
    path: str
    height: int
    width: int
    boxes_xyxy: np.ndarray  #: (n, 4) float32
    labels: np.ndarray  #: (n,) int64 category ids
    scores: np.ndarray  #: (n,) float32
    keypoints: np.ndarray  #: (n, 39, 3) float32 category-local, v = 1 on the category's landmarks
    masks: np.ndarray  #: (n, H, W) bool
    embeddings: np.ndarray  #: (n, D) float32

    def __len__(self) -> int:
        return len(self.labels)


@torch.no_grad()
def run_inference(
    model: torch.nn.Module,
    dataset: ImageDataset,
    *,
    device: torch.device,
    batch_size: int = 4,
    workers: int = 0,
    amp: str = "auto",
    progress: bool = False,
    desc: str = "predict",
) -> Iterator[Detections]:
    """Yield the detections of every image of ``dataset``, in order."""
    model.eval()
    dtype = amp_dtype(amp, device)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate,
        pin_memory=device.type == "cuda",
    )
    bar = progress_bar(total=len(dataset), desc=desc, unit="img", enabled=progress)
    start, seen = time.perf_counter(), 0
    try:
        for batch in loader:
            check_batch(batch)
            images = [s["image"].to(device, non_blocking=True).float().div_(255.0) for s in batch]
            with autocast(device, dtype):
                outs = model(images)
            for s, img, o in zip(batch, images, outs):
                h, w = img.shape[-2:]
                yield Detections(
                    image_id=int(s["image_id"]),
                    path=s["path"],
                    height=int(h),
                    width=int(w),
                    boxes_xyxy=o["boxes"].float().cpu().numpy(),
                    labels=o["labels"].cpu().numpy().astype(np.int64),
                    scores=o["scores"].float().cpu().numpy(),
                    keypoints=o["keypoints"].float().cpu().numpy(),
                    masks=(o["masks"][:, 0] > 0.5).cpu().numpy(),
                    embeddings=o["embeddings"].float().cpu().numpy(),
                )
            seen += len(batch)
            bar.update(len(batch))
            bar.set_postfix_str(f"{seen / max(time.perf_counter() - start, 1e-9):.1f} img/s")
    finally:
        bar.close()


def result_entries(d: Detections) -> list[dict[str, Any]]:
    """The official result entries of one image (all tasks in each entry)."""
    out = []
    for k in range(len(d)):
        cat = int(d.labels[k])
        x1, y1, x2, y2 = (float(v) for v in d.boxes_xyxy[k])
        kp = np.zeros((NUM_LANDMARKS, 3), dtype=np.float64)
        o, n = int(OFFSET_BY_ID[cat]), int(NUM_LANDMARKS_BY_ID[cat])
        kp[o : o + n] = np.round(d.keypoints[k, :n].astype(np.float64), 2)
        out.append(
            {
                "image_id": d.image_id,
                "category_id": cat,
                "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                "score": round(float(d.scores[k]), 5),
                "keypoints": kp.ravel().tolist(),
                "segmentation": encode_mask(d.masks[k]),
            }
        )
    return out


class ResultsWriter:
    """Stream result entries into one JSON list file, atomically (nothing appears until ``close``)."""

    def __init__(self, path: Any) -> None:
        self._cm = atomic_open(path, "wb")
        self._f = self._cm.__enter__()
        self._f.write(b"[")
        self._first = True
        self.count = 0

    def write(self, entries: list[dict[str, Any]]) -> None:
        for e in entries:
            self._f.write(b"\n" if self._first else b",\n")
            self._f.write(orjson.dumps(e))
            self._first = False
            self.count += 1

    def close(self) -> None:
        self._f.write(b"\n]\n")
        self._cm.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        self._cm.__exit__(type(exc), exc, exc.__traceback__)


@dataclass
class RetrievalCollector:
    """Gathers detected user items (queries) and shop items (gallery) with their embeddings.

    Gallery items are the shop detections scoring at least ``gallery_min_score``, plus each shop image's best
    detection (so no shop image drops out of the gallery). Queries are all user detections (the official
    scorer picks the best-scoring one per ground-truth item).
    """

    gallery_min_score: float = 0.3
    q: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in ("emb", "img", "box", "cat", "score")})
    g: dict[str, list[np.ndarray]] = field(default_factory=lambda: {k: [] for k in ("emb", "img", "box")})

    def add(self, d: Detections, source: int | None) -> None:
        if source is None or not len(d):
            return
        if source == 1:
            self.q["emb"].append(d.embeddings)
            self.q["img"].append(np.full(len(d), d.image_id, dtype=np.int64))
            self.q["box"].append(d.boxes_xyxy)
            self.q["cat"].append(d.labels)
            self.q["score"].append(d.scores)
        else:
            keep = d.scores >= self.gallery_min_score
            keep[int(np.argmax(d.scores))] = True
            self.g["emb"].append(d.embeddings[keep])
            self.g["img"].append(np.full(int(keep.sum()), d.image_id, dtype=np.int64))
            self.g["box"].append(d.boxes_xyxy[keep])

    @property
    def num_queries(self) -> int:
        return sum(len(a) for a in self.q["img"])

    @property
    def num_gallery(self) -> int:
        return sum(len(a) for a in self.g["img"])

    def entries(self, pair_weight: np.ndarray, k: int = 20) -> list[dict[str, Any]]:
        """Official retrieval entries: each query's k best shop items by the pair head's match probability."""
        if not self.num_queries or not self.num_gallery:
            return []
        q = {n: np.concatenate(v) for n, v in self.q.items()}
        g = {n: np.concatenate(v) for n, v in self.g.items()}
        qv, gv = ranking_vectors(pair_weight, q["emb"], g["emb"])
        index = GalleryIndex(gv, g["img"], g["box"].astype(np.float64))
        return retrieval_entries(index, qv, q["img"], q["box"].astype(np.float64), q["cat"], q["score"], k=k)
