"""Random COCO-style cases and pycocotools configured with the DeepFashion2 parameters (the reference)."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as cocomask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from df2kit.layout import CATEGORIES, NUM_LANDMARKS, SIGMAS_294
from df2kit.structures.masks import polygons_to_rle

IOU_TYPE = {"detection": "bbox", "segmentation": "segm", "landmarks": "keypoints"}


def random_case(
    seed: int,
    *,
    n_img: int = 12,
    cats: tuple[int, ...] = (1, 2, 5, 8, 11),
    crowd: float = 0.0,
    dets_per_item: int = 4,
    background: int = 6,
    score_decimals: int | None = 2,
    rle_gt: float = 0.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A COCO ground-truth dict (official-style: box area, 882 landmarks) and results with boxes, masks and
    landmarks: detections near items (shifted, sometimes of another category) and background ones."""
    rng = np.random.default_rng(seed)
    images, anns, res = [], [], []
    used: set[int] = set()
    for i in range(n_img):
        iid = int(rng.integers(1, 10**6))
        while iid in used:
            iid += 1
        used.add(iid)
        h, w = int(rng.integers(40, 160)), int(rng.integers(40, 160))
        images.append({"id": iid, "height": h, "width": w, "file_name": f"{iid:06d}.jpg"})
        for _ in range(int(rng.integers(0, 5))):
            c = int(rng.choice(cats))
            cat = CATEGORIES[c - 1]
            if rng.random() < 0.3:  # small items: the small / medium area ranges
                bw, bh = rng.uniform(3, 40), rng.uniform(3, 40)
            else:
                bw, bh = rng.uniform(10, w - 1), rng.uniform(10, h - 1)
            x, y = rng.uniform(0, max(w - bw, 1)), rng.uniform(0, max(h - bh, 1))
            k = cat.num_landmarks
            kp = np.zeros((NUM_LANDMARKS, 3))
            lm = np.column_stack([rng.uniform(x, x + bw, k), rng.uniform(y, y + bh, k), rng.choice([0, 1, 2], k)])
            if rng.random() < 0.15:
                lm[:, 2] = 0  # no labelled landmark: ignored, OKS against the doubled box
            lm[lm[:, 2] == 0, :2] = 0
            kp[cat.landmark_slice] = lm
            poly = [x, y, x + bw, y + 0.2 * bh, x + 0.8 * bw, y + bh, x + 0.1 * bw, y + 0.7 * bh]
            is_crowd = bool(rng.random() < crowd)
            seg: Any = [poly]
            if rng.random() < rle_gt:
                seg = polygons_to_rle([poly], h, w)
            anns.append({
                "id": len(anns) + 1, "image_id": iid, "category_id": c, "bbox": [x, y, bw, bh], "area": bw * bh,
                "iscrowd": int(is_crowd), "segmentation": seg, "keypoints": kp.ravel().tolist(),
                "num_keypoints": int((kp[:, 2] > 0).sum()),
                "scale": int(rng.integers(1, 4)), "occlusion": int(rng.integers(1, 4)),
                "zoom_in": int(rng.integers(1, 4)), "viewpoint": int(rng.integers(1, 4)),
            })
            for _ in range(int(rng.integers(0, dets_per_item + 1))):
                j = rng.normal(0, 0.12, 4) * [bw, bh, bw, bh]
                dk = kp.copy()
                dk[:, :2] += rng.normal(0, 2.5, (NUM_LANDMARKS, 2))
                dk[:, 2] = 2
                dc = c if rng.random() < 0.8 else int(rng.choice(cats))
                res.append(_det(rng, iid, dc, [x + j[0], y + j[1], max(bw + j[2], 0.5), max(bh + j[3], 0.5)], dk, h, w,
                                score_decimals))
        for _ in range(int(rng.integers(0, background + 1))):
            bw, bh = rng.uniform(1, w), rng.uniform(1, h)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            dk = np.zeros((NUM_LANDMARKS, 3))
            c = int(rng.choice(cats))
            sl = CATEGORIES[c - 1].landmark_slice
            dk[sl, 0] = rng.uniform(x, x + bw, sl.stop - sl.start)
            dk[sl, 1] = rng.uniform(y, y + bh, sl.stop - sl.start)
            res.append(_det(rng, iid, c, [x, y, bw, bh], dk, h, w, score_decimals))
    order = rng.permutation(len(res))
    res = [res[i] for i in order]
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": c.id, "name": c.coco_name, "supercategory": "clothes"} for c in CATEGORIES]}
    return gt, res


def _det(rng: np.random.Generator, iid: int, c: int, box: list[float], kp: np.ndarray, h: int, w: int,
         dec: int | None) -> dict[str, Any]:
    x, y, bw, bh = box
    poly = [x, y + 0.1 * bh, x + bw, y, x + 0.9 * bw, y + bh, x, y + 0.8 * bh]
    score = float(rng.random())
    return {
        "image_id": iid, "category_id": c, "bbox": [float(v) for v in box],
        "score": round(score, dec) if dec is not None else score,
        "segmentation": polygons_to_rle([poly], h, w), "keypoints": kp.ravel().tolist(),
    }


def only(res: list[dict[str, Any]], task: str, *, keep_bbox: bool = False) -> list[dict[str, Any]]:
    """Results entries with the fields one task reads (pycocotools picks its branch from the first entry)."""
    field = {"detection": "bbox", "segmentation": "segmentation", "landmarks": "keypoints"}[task]
    keys = {"image_id", "category_id", "score", field} | ({"bbox"} if keep_bbox else set())
    return [{k: v for k, v in r.items() if k in keys} for r in res]


def vis_only(gt: dict[str, Any]) -> dict[str, Any]:
    """The "vis" ground truth: occluded landmarks become unlabelled, num_keypoints recounted."""
    g = copy.deepcopy(gt)
    for a in g["annotations"]:
        k = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)
        occ = k[:, 2] == 1
        k[occ] = 0
        a["keypoints"] = k.ravel().tolist()
        a["num_keypoints"] = int((k[:, 2] > 0).sum())
    return g


class _PlainIoU(COCOeval):
    """COCOeval whose IoU ignores iscrowd (crowd only steers matching): the subset rule's reference."""

    def computeIoU(self, imgId: int, catId: int) -> Any:
        p = self.params
        gt = self._gts[imgId, catId]
        dt = self._dts[imgId, catId]
        if len(gt) == 0 and len(dt) == 0:
            return []
        inds = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in inds][: p.maxDets[-1]]
        key = "segmentation" if p.iouType == "segm" else "bbox"
        return cocomask.iou([d[key] for d in dt], [g[key] for g in gt], [0] * len(gt))


def coco_eval(gt: dict[str, Any], res: list[dict[str, Any]], task: str, *, plain_iou: bool = False) -> COCOeval:
    """pycocotools with the DeepFashion2 parameters: evaluate, accumulate, summarize."""
    iou_type = IOU_TYPE[task]
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        d = g.loadRes(copy.deepcopy(res)) if res else COCO()
        if not res:
            d.dataset = {"images": gt["images"], "annotations": [], "categories": gt["categories"]}
            d.createIndex()
        e = (_PlainIoU if plain_iou else COCOeval)(g, d, iou_type)
        if iou_type == "keypoints":
            e.params.kpt_oks_sigmas = np.asarray(SIGMAS_294)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


@pytest.fixture
def case_factory():
    return random_case
