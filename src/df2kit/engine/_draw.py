"""Pictures of predictions (boxes, masks, landmarks with the layout's skeleton) with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .._atomic import atomic_open
from ..layout import Category
from .data import load_rgb
from .inference import Detections


def draw_detections(d: Detections, path: Path, *, min_score: float = 0.3) -> None:
    """Draw the detections scoring at least ``min_score`` over the image and save it (atomically) as JPEG."""
    img = np.array(load_rgb(d.path), dtype=np.float32)
    keep = [k for k in range(len(d)) if d.scores[k] >= min_score]
    for k in keep:
        colour = np.array(Category(int(d.labels[k])).colour, dtype=np.float32)
        m = d.masks[k]
        img[m] = img[m] * 0.55 + colour * 0.45
    canvas = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for k in keep:
        cat = Category(int(d.labels[k]))
        x1, y1, x2, y2 = (float(v) for v in d.boxes_xyxy[k])
        draw.rectangle((x1, y1, x2, y2), outline=cat.colour, width=2)
        draw.text((x1 + 3, y1 + 2), f"{cat.dataset_name} {d.scores[k]:.2f}", fill=(255, 255, 255))
        pts = d.keypoints[k, : cat.num_landmarks, :2]
        for a, b in cat.skeleton:
            draw.line([tuple(pts[a - 1]), tuple(pts[b - 1])], fill=cat.colour, width=1)
        for x, y in pts:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=(255, 255, 255), outline=cat.colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        canvas.save(f, format="JPEG", quality=90)
