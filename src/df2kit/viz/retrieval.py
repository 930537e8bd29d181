"""Retrieval strips (like Figure 6 of the DeepFashion2 paper): a consumer item and its top-k shop results,
hits framed green, misses red.

>>> from PIL import Image
>>> from df2kit.viz import retrieval_strip, RetrievedItem
>>> user = Image.new("RGB", (200, 300), (90, 90, 90))
>>> shop = Image.new("RGB", (300, 300), (240, 240, 240))
>>> strip = retrieval_strip(user, (20, 30, 180, 280),
...                         [RetrievedItem(shop, (50, 50, 250, 250), hit=True),
...                          RetrievedItem(shop, (0, 0, 100, 100), hit=False)], k=2)
>>> strip.size[0] > strip.size[1]
True

:func:`retrieval_hits` marks which of an official results entry's ranked gallery items are correct, using the
same rule as the scorer (section 5 of the spec): the detection stands for the ground-truth user item with the
highest box IoU in its image; a retrieved shop item is correct when the retrieved image holds a shop item with
that item's pair_id and style (> 0) whose box has IoU >= 0.5 with the retrieved box. It only decides what a
picture shows; scores come from ``df2kit.evaluation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..structures.boxes import box_iou
from ._draw import BACKGROUND, HIT, MISS, QUERY, ImageLike, font, text_size, to_rgb
from .grid import fit_into

__all__ = ["RetrievedItem", "check_retrieval_entry", "crop_item", "retrieval_figure", "retrieval_hits", "retrieval_strip", "stack"]


@dataclass(frozen=True, eq=False)
class RetrievedItem:
    """One ranked result: the shop picture, the retrieved box (corners) and whether it is a hit (None: unknown)."""

    image: ImageLike
    bbox_xyxy: Sequence[float]
    hit: bool | None = None
    label: str = ""


def crop_item(image: Image.Image, bbox_xyxy: Sequence[float], margin: float = 0.08) -> Image.Image:
    """The item's box with a small margin, clipped to the picture (a new image)."""
    w, h = image.size
    x1, y1, x2, y2 = (float(v) for v in bbox_xyxy)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    box = (
        int(max(0, np.floor(x1 - mx))),
        int(max(0, np.floor(y1 - my))),
        int(min(w, np.ceil(x2 + mx))),
        int(min(h, np.ceil(y2 + my))),
    )
    if box[2] <= box[0] or box[3] <= box[1]:
        return image.copy()
    return image.crop(box)


def _framed(tile: Image.Image, cell: tuple[int, int], colour: tuple[int, int, int] | None, border: int) -> Image.Image:
    cw, ch = cell
    out = Image.new("RGB", (cw, ch), BACKGROUND)
    inner = fit_into(tile, (cw - 2 * border, ch - 2 * border))
    out.paste(inner, ((cw - inner.size[0]) // 2, (ch - inner.size[1]) // 2))
    if colour is not None:
        ImageDraw.Draw(out).rectangle((0, 0, cw - 1, ch - 1), outline=colour, width=border)
    return out


def retrieval_strip(
    query_image: ImageLike,
    query_bbox_xyxy: Sequence[float],
    results: Sequence[RetrievedItem],
    *,
    k: int = 5,
    cell: tuple[int, int] = (160, 200),
    crop: bool = True,
    title: str | None = None,
) -> Image.Image:
    """One row: the query item (blue frame) then the first ``k`` results, each framed green (hit), red (miss)
    or grey (unknown), with its rank and label below. ``crop=False`` shows whole pictures with the box drawn."""
    cw, ch = cell
    border = max(3, cw // 40)
    fnt = font(max(11, min(16, cw // 12)))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    _, lh = text_size(probe, "Ag", fnt)
    label_h = 2 * lh + 10
    title_h = lh + 10 if title else 0
    gap = max(6, cw // 16)
    shown = list(results)[:k]
    width = gap + (cw + gap) * (1 + k) + gap
    out = Image.new("RGB", (width, title_h + ch + label_h + gap), BACKGROUND)
    d = ImageDraw.Draw(out)
    if title:
        l, t, _, _ = d.textbbox((0, 0), title, font=fnt)
        d.text((gap - l, 5 - t), title, font=fnt, fill=(20, 20, 20))

    def tile(img: ImageLike, box: Sequence[float], colour: tuple[int, int, int]) -> Image.Image:
        im = to_rgb(img)
        if crop:
            return crop_item(im, box)
        ImageDraw.Draw(im).rectangle(tuple(float(v) for v in box), outline=colour, width=max(2, min(im.size) // 100))
        return im

    def caption(x: int, lines: Sequence[str], colour: tuple[int, int, int]) -> None:
        y = title_h + ch + 4
        for ln in lines:
            if not ln:
                continue
            tw, _ = text_size(d, ln, fnt)
            l, t, _, _ = d.textbbox((0, 0), ln, font=fnt)
            d.text((x + (cw - tw) // 2 - l, y - t), ln, font=fnt, fill=colour)
            y += lh + 2

    x = gap
    out.paste(_framed(tile(query_image, query_bbox_xyxy, QUERY), cell, QUERY, border), (x, title_h))
    caption(x, ["query"], QUERY)
    x += cw + 2 * gap
    for rank, r in enumerate(shown, start=1):
        colour = (150, 150, 150) if r.hit is None else (HIT if r.hit else MISS)
        out.paste(_framed(tile(r.image, r.bbox_xyxy, colour), cell, colour, border), (x, title_h))
        verdict = "" if r.hit is None else ("hit" if r.hit else "miss")
        caption(x, [f"{rank}. {verdict}".strip(), r.label], colour if r.hit is not None else (60, 60, 60))
        x += cw + gap
    return out


def stack(images: Sequence[ImageLike], *, gap: int = 4, background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    """Pictures one below the other, left-aligned (several retrieval strips make a figure)."""
    ims = [to_rgb(i) for i in images]
    if not ims:
        raise ValueError("expected at least one image, got none")
    out = Image.new("RGB", (max(i.size[0] for i in ims), sum(i.size[1] for i in ims) + gap * (len(ims) - 1)), background)
    y = 0
    for im in ims:
        out.paste(im, (0, y))
        y += im.size[1] + gap
    return out


def retrieval_hits(entry: Mapping[str, Any], gt: Any, k: int = 5) -> tuple[int | None, np.ndarray]:
    """Which of the first ``k`` results of one retrieval entry are correct.

    ``gt`` is a :class:`~df2kit.formats.retrieval.RetrievalGroundTruth`. Returns ``(query, hits)``: the index
    of the ground-truth query item the detection is assigned to (None when the image has no GT item) and a
    bool array of the ranks shown (all False when that item has style 0: it has no correct shop item).
    """
    qid = int(entry["query_image_id"])
    gallery_ids = [int(v) for v in list(entry["gallery_image_id"])[:k]]
    gallery_boxes = np.asarray(list(entry["gallery_bbox"])[:k], dtype=np.float64).reshape(-1, 4)
    hits = np.zeros(len(gallery_ids), dtype=bool)
    cand = np.flatnonzero(gt.query_image_id == qid)
    if not len(cand):
        return None, hits
    ious = box_iou(np.asarray(entry["query_bbox"], dtype=np.float64), gt.query_bbox_xyxy[cand])[0]
    q = int(cand[int(np.argmax(ious))])
    style, pair = int(gt.query_style[q]), int(gt.query_pair_id[q])
    if style <= 0:
        return q, hits
    correct = np.flatnonzero((gt.gallery_pair_id == pair) & (gt.gallery_style == style))
    for t, (gid, box) in enumerate(zip(gallery_ids, gallery_boxes)):
        same = correct[gt.gallery_image_id[correct] == gid]
        if len(same) and (box_iou(box, gt.gallery_bbox_xyxy[same])[0] >= 0.5).any():
            hits[t] = True
    return q, hits


def check_retrieval_entry(entry: Any, idx: int = 0, path: str | None = None) -> Mapping[str, Any]:
    """Check one retrieval results entry well enough to draw it (ResultsError naming file, entry, field)."""
    import math

    from ..errors import ResultsError

    def bad(msg: str, field: str | None = None) -> ResultsError:
        return ResultsError(msg, path=path, item=f"[{idx}]", field=field)

    def box_ok(b: Any) -> bool:
        return isinstance(b, (list, tuple)) and len(b) == 4 and all(type(v) in (int, float) and math.isfinite(v) for v in b)

    if not isinstance(entry, Mapping):
        raise bad(f"expected an object, got {type(entry).__name__}")
    if type(entry.get("query_image_id")) is not int:
        raise bad(f"expected an integer, got {entry.get('query_image_id')!r}", "query_image_id")
    if not box_ok(entry.get("query_bbox")):
        raise bad(f"expected [x1, y1, x2, y2], got {entry.get('query_bbox')!r}", "query_bbox")
    cls = entry.get("query_cls")
    if type(cls) is not int or not 1 <= cls <= 13:
        raise bad(f"expected a category id 1..13, got {cls!r}", "query_cls")
    ids, boxes = entry.get("gallery_image_id"), entry.get("gallery_bbox")
    if not isinstance(ids, list) or not all(type(v) is int for v in ids):
        raise bad("expected a list of integer image ids", "gallery_image_id")
    if not isinstance(boxes, list) or len(boxes) != len(ids):
        n = len(boxes) if isinstance(boxes, list) else type(boxes).__name__
        raise bad(f"expected {len(ids)} boxes (one per gallery_image_id), got {n}", "gallery_bbox")
    for t, b in enumerate(boxes):
        if not box_ok(b):
            raise bad(f"expected [x1, y1, x2, y2], got {b!r}", f"gallery_bbox[{t}]")
    return entry


def retrieval_figure(
    entries: Sequence[Mapping[str, Any]],
    image: Any,
    gt: Any = None,
    *,
    k: int = 5,
    cell: tuple[int, int] = (160, 200),
) -> Image.Image:
    """Strips for several retrieval entries (highest ``query_score`` first), one below the other.

    ``image(image_id)`` returns the picture of an image id; ``gt`` (a RetrievalGroundTruth, optional) marks
    hits and misses with :func:`retrieval_hits`; without it results are framed grey.
    """
    from ..layout import Category

    strips = []
    for e in sorted(entries, key=lambda e: -float(e.get("query_score", 1.0))):
        qid = int(e["query_image_id"])
        ids = [int(v) for v in e["gallery_image_id"][:k]]
        boxes = [list(b) for b in e["gallery_bbox"][:k]]
        hits: Sequence[bool | None] = [None] * len(ids)
        note = ""
        if gt is not None:
            q, h = retrieval_hits(e, gt, k)
            hits = [bool(v) for v in h]
            if q is None:
                note = "   (no ground-truth item in this image)"
            elif int(gt.query_style[q]) == 0:
                note = "   (assigned to a style-0 item: no correct shop item)"
            else:
                note = f"   pair_id {int(gt.query_pair_id[q])}, style {int(gt.query_style[q])}"
        name = Category(int(e["query_cls"])).dataset_name
        title = f"{qid:06d}: {name}, score {float(e.get('query_score', 1.0)):.2f}{note}"
        results = [RetrievedItem(image(i), b, hit, f"{i:06d}") for i, b, hit in zip(ids, boxes, hits)]
        strips.append(retrieval_strip(image(qid), e["query_bbox"], results, k=k, cell=cell, title=title))
    return stack(strips, gap=8)
