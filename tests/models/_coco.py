"""Box AP of a results file with pycocotools (a test dependency), for branches where df2kit.evaluation's COCO
scorer has not landed yet; df2kit's own scorer is used when it is there (it equals pycocotools by its tests)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from df2kit.io import scan_split


def box_ap50(split_dir: Path, results_path: Path) -> float:
    try:
        from df2kit.evaluation import evaluate
    except ImportError:
        pass
    else:
        return float(evaluate("detection", split_dir, results_path).ap50)
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    t = scan_split(split_dir, None, cache=False).with_image_sizes()
    images = [{"id": int(t.image_id[i]), "width": int(t.width[i]), "height": int(t.height[i])} for i in range(len(t))]
    anns = []
    for j in range(t.num_items):
        x1, y1, x2, y2 = (float(v) for v in t.bbox_xyxy[j])
        anns.append({"id": j + 1, "image_id": int(t.image_id[t.item_image[j]]), "category_id": int(t.category_id[j]),
                     "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    gt = COCO()
    gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in range(1, 14)]}
    res = [{k: r[k] for k in ("image_id", "category_id", "bbox", "score")} for r in json.loads(results_path.read_text())]
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if not res:
            return 0.0
        e = COCOeval(gt, gt.loadRes(res), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return float(e.stats[1])
