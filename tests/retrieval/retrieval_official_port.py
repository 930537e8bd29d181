"""A straight Python 3 port of the official ``deepfashion2_retrieval_test.py`` scoring loop (the reference).

Kept as close to the official algorithm as Python 3 allows: the same per-image and per-item loops, ``np.where``
scans over all results and the whole gallery, ``pycocotools.mask.iou`` on [x, y, w, h] boxes, ``np.argmax``
tie rules, and the five separate top-k loops. Fixed only where the official script cannot run: Python-2
prints, the ``gellery_box`` NameError, and the assertion on query items without a correct gallery item
(those count as not hit here). It takes the ground truth and results as lists of dicts (the parsed JSON
files) and needs every result list to hold exactly 20 items.

Two switches the official script does not have, for the option tests: ``min_iou`` (an entry whose best IoU
is below it is assigned to nothing) and ``gt_boxes`` is not ported (tested by hand-built cases).

Returns ``(hits, query_num)``: ``hits`` is a (num query items, 5) bool array (top-1/5/10/15/20 hit of each
query item, in ground-truth order; False for style-0 items) and ``query_num`` the official N.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as maskUtils

THRESH = 0.5
KS = (1, 5, 10, 15, 20)


def official_retrieval(query_gt, gallery_gt, results, *, min_iou=None):
    results_image_id_all, results_query_score_all, results_query_cls_all = [], [], []
    results_query_box_all, results_gallery_id_all, results_gallery_box_all = [], [], []
    for i in results:
        box = i["query_bbox"]
        query_box = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
        box = np.array(i["gallery_bbox"])
        gallery_box = [box[:, 0], box[:, 1], box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]]
        gallery_box = np.transpose(gallery_box, (1, 0)).tolist()
        results_image_id_all.append(i["query_image_id"])
        results_query_score_all.append(i["query_score"])
        results_query_cls_all.append(i["query_cls"])
        results_query_box_all.append(query_box)
        results_gallery_id_all.append(i["gallery_image_id"])
        results_gallery_box_all.append(gallery_box)
    results_image_id_all = np.array(results_image_id_all)
    results_query_score_all = np.array(results_query_score_all)
    results_query_cls_all = np.array(results_query_cls_all)
    results_query_box_all = np.array(results_query_box_all)
    results_gallery_id_all = np.array(results_gallery_id_all)
    results_gallery_box_all = np.array(results_gallery_box_all)

    query_image_id_all, query_box_all, query_cls_all, query_style_all, query_pair_all = [], [], [], [], []
    for i in query_gt:
        box = i["bbox"]
        query_image_id_all.append(i["query_image_id"])
        query_box_all.append([box[0], box[1], box[2] - box[0], box[3] - box[1]])
        query_cls_all.append(i["cls"])
        query_style_all.append(i["style"])
        query_pair_all.append(i["pair_id"])
    query_image_id_all = np.array(query_image_id_all)
    query_box_all = np.array(query_box_all)
    query_cls_all = np.array(query_cls_all)
    query_style_all = np.array(query_style_all)
    query_pair_all = np.array(query_pair_all)
    query_num = len(np.where(query_style_all > 0)[0])
    query_id_real = np.unique(query_image_id_all)

    gallery_image_id_all, gallery_box_all, gallery_style_all, gallery_pair_all = [], [], [], []
    for i in gallery_gt:
        box = i["bbox"]
        gallery_image_id_all.append(i["gallery_image_id"])
        gallery_box_all.append([box[0], box[1], box[2] - box[0], box[3] - box[1]])
        gallery_style_all.append(i["style"])
        gallery_pair_all.append(i["pair_id"])
    gallery_image_id_all = np.array(gallery_image_id_all)
    gallery_box_all = np.array(gallery_box_all)
    gallery_style_all = np.array(gallery_style_all)
    gallery_pair_all = np.array(gallery_pair_all)

    hits = np.zeros((len(query_gt), len(KS)), dtype=bool)
    for id in query_id_real:
        results_id_ind = np.where(results_image_id_all == id)[0]
        if len(results_id_ind) == 0:
            continue
        query_id_ind = np.where(query_image_id_all == id)[0]
        pair_id = query_pair_all[query_id_ind]
        assert len(np.unique(pair_id)) == 1
        pair_id = pair_id[0]
        results_id_score = results_query_score_all[results_id_ind]
        results_id_box = results_query_box_all[results_id_ind]
        results_id_cls = results_query_cls_all[results_id_ind]
        results_id_gallery_id = results_gallery_id_all[results_id_ind]
        results_id_gallery_box = results_gallery_box_all[results_id_ind]
        query_id_box = query_box_all[query_id_ind]
        query_id_cls = query_cls_all[query_id_ind]
        query_id_style = query_style_all[query_id_ind]

        is_crowd = np.zeros(len(query_id_box))
        iou_id = maskUtils.iou(results_id_box, query_id_box, is_crowd)
        iou_ind = np.argmax(iou_id, axis=1)
        if min_iou is not None:
            iou_ind = np.where(np.max(iou_id, axis=1) >= min_iou, iou_ind, -1)

        for id_ind in range(len(query_id_ind)):
            style = query_id_style[id_ind]
            cls = query_id_cls[id_ind]
            if style > 0:
                results_style_ind1 = np.where(iou_ind == id_ind)[0]
                results_style_ind2 = np.where(results_id_cls == cls)[0]
                results_style_ind = np.intersect1d(results_style_ind1, results_style_ind2)
                if len(results_style_ind) > 0:
                    results_score_style = results_id_score[results_style_ind]
                    score_max_ind = np.argmax(results_score_style)
                    results_style_query_ind = results_style_ind[score_max_ind]
                    results_style_gallery_id = results_id_gallery_id[results_style_query_ind]
                    results_style_gallery_box = results_id_gallery_box[results_style_query_ind]

                    gt_gallery_ind1 = np.where(gallery_pair_all == pair_id)[0]
                    gt_gallery_ind2 = np.where(gallery_style_all == style)[0]
                    gt_gallery_ind = np.intersect1d(gt_gallery_ind1, gt_gallery_ind2)
                    gt_gallery_image_id = gallery_image_id_all[gt_gallery_ind]
                    gt_gallery_box = gallery_box_all[gt_gallery_ind]
                    if len(gt_gallery_ind) == 0:  # the official script stops at an assertion here
                        continue
                    if len(gt_gallery_ind) == 1:
                        gt_gallery_image_id = [gt_gallery_image_id]

                    for kk, k in enumerate(KS):  # the official script has five copies of this loop
                        for t in range(k):
                            if results_style_gallery_id[t] in gt_gallery_image_id:
                                which_ind = np.where(gt_gallery_image_id == results_style_gallery_id[t])[0]
                                crowd = np.zeros(len(which_ind))
                                iou_style = maskUtils.iou([results_style_gallery_box[t]], gt_gallery_box[which_ind], crowd)
                                if len(np.where(np.asarray(iou_style) >= THRESH)[0]) > 0:
                                    hits[query_id_ind[id_ind], kk] = True
                                    break
    return hits, query_num
