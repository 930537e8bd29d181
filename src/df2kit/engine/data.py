"""Datasets that feed the model: annotated split rows for training, plain images for inference.

Images travel as uint8 tensors (4x less to copy between loader processes) and become floats on the device.
A broken image never raises inside a loader process: the sample carries the error and the main process
raises one :class:`~df2kit.errors.ImageError` naming the file.

Horizontal flip (training): the image, boxes, polygons and landmark x coordinates are mirrored, then each
item's landmarks are permuted with its category's flip pairs (``Category.flip_index``), so that landmark
"left collar point" is still the left one in the flipped picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from ..errors import ImageError
from ..io.scan import SplitTable
from ..layout import CATEGORIES
from ..models.heads import MAX_K
from ..structures.polygons import repair_polygons

__all__ = ["ImageDataset", "TrainDataset", "collate", "flip_landmarks", "load_rgb"]

_FLIP = {c.id: c.flip_index for c in CATEGORIES}


@dataclass(frozen=True)
class _Failed:
    path: str
    message: str


def load_rgb(path: str | Path) -> Image.Image:
    """Decode an image as RGB (raises ImageError naming the file)."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except FileNotFoundError:
        raise ImageError("image file not found", path=str(path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"cannot decode image: {e}", path=str(path)) from None


def _to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def flip_landmarks(landmarks: np.ndarray, category_id: int, width: float) -> np.ndarray:
    """Mirror one item's ``(K, 3)`` landmarks in an image of ``width`` pixels and swap left/right points.

    Unlabeled landmarks (v = 0) stay ``[0, 0, 0]``.

    >>> import numpy as np
    >>> lm = np.zeros((14, 3)); lm[0] = [10, 5, 2]; lm[2] = [30, 5, 2]      # trousers: waistband left, right
    >>> flip_landmarks(lm, 8, 100)[[0, 2]].tolist()
    [[70.0, 5.0, 2.0], [90.0, 5.0, 2.0]]
    """
    out = np.array(landmarks, dtype=np.float64, copy=True)
    lab = out[:, 2] > 0
    out[lab, 0] = width - out[lab, 0]
    return out[_FLIP[int(category_id)]]


class TrainDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Row ``i`` of a split as ``{"image": uint8 (3, H, W), "target": {...}}`` (see MatchRCNN for targets).

    The flip of row ``i`` in epoch ``e`` is drawn from ``numpy.random.default_rng([seed, e, i])``: the same
    in every loader process, on every replica and after ``--resume``.
    """

    def __init__(self, table: SplitTable, *, hflip: float = 0.0, seed: int = 0) -> None:
        self.table = table
        self.hflip = float(hflip)
        self.seed = int(seed)
        self.epoch = 0
        _, self.identity, _, _ = table.style_identities()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.table)

    def flipped(self, i: int) -> bool:
        if self.hflip <= 0.0:
            return False
        return bool(np.random.default_rng([self.seed, self.epoch, int(i)]).random() < self.hflip)

    def __getitem__(self, i: int) -> dict[str, Any] | _Failed:
        t = self.table
        path = t.image_path(i)
        try:
            img = load_rgb(path)
        except ImageError as e:
            return _Failed(str(path), e.message)
        w, h = img.size
        flip = self.flipped(i)
        if flip:
            img = ImageOps.mirror(img)
        items = range(int(t.item_start[i]), int(t.item_start[i + 1]))
        boxes, labels, kps, ident, masks = [], [], [], [], []
        for j in items:
            cat = int(t.category_id[j])
            x1, y1, x2, y2 = (float(v) for v in t.bbox_xyxy[j])
            lm = np.array(t.item_landmarks(j), dtype=np.float64)
            polys, _ = repair_polygons(t.item_polygons(j), (x1, y1, x2, y2))
            if flip:
                x1, x2 = w - x2, w - x1
                lm = flip_landmarks(lm, cat, w)
                polys = [np.column_stack([w - p[:, 0], p[:, 1]]) for p in polys]
            x1, x2 = max(0.0, min(x1, w)), max(0.0, min(x2, w))
            y1, y2 = max(0.0, min(y1, h)), max(0.0, min(y2, h))
            if x2 - x1 < 1.0 or y2 - y1 < 1.0:
                continue  # an item outside the picture cannot be learned from
            canvas = Image.new("L", (w, h), 0)
            draw = ImageDraw.Draw(canvas)
            for p in polys:
                draw.polygon([(float(x), float(y)) for x, y in p], fill=1, outline=1)
            masks.append(np.asarray(canvas, dtype=np.uint8))
            padded = np.zeros((MAX_K, 3), dtype=np.float32)
            padded[: len(lm)] = lm
            boxes.append((x1, y1, x2, y2))
            labels.append(cat)
            kps.append(padded)
            ident.append(int(self.identity[j]))
        target = {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "masks": torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, h, w), dtype=torch.uint8),
            "keypoints": torch.from_numpy(np.stack(kps)) if kps else torch.zeros((0, MAX_K, 3)),
            "identity": torch.tensor(ident, dtype=torch.int64),
            "source": torch.tensor(int(t.source[i]), dtype=torch.int64),
            "image_id": torch.tensor(int(t.image_id[i]), dtype=torch.int64),
        }
        return {"image": _to_tensor(img), "target": target}


class ImageDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Plain images for inference: ``{"image": uint8 (3, H, W), "image_id": int, "path": str}``."""

    def __init__(self, paths: Sequence[str | Path], image_ids: Sequence[int]) -> None:
        self.paths = [str(p) for p in paths]
        self.image_ids = [int(i) for i in image_ids]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, Any] | _Failed:
        try:
            img = load_rgb(self.paths[i])
        except ImageError as e:
            return _Failed(self.paths[i], e.message)
        return {"image": _to_tensor(img), "image_id": self.image_ids[i], "path": self.paths[i]}


def collate(batch: list[Any]) -> list[Any]:
    """Keep samples as a list (images differ in size); raise the first loading error in the main process."""
    return batch


def check_batch(batch: list[Any]) -> None:
    for s in batch:
        if isinstance(s, _Failed):
            raise ImageError(s.message, path=s.path)
