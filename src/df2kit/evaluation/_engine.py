"""COCOeval's matching and accumulation, vectorised over images, categories, ranges and thresholds.

This is pycocotools' ``evaluateImg`` + ``accumulate`` re-derived as array operations; every number it
produces is the same float that pycocotools produces (pinned by differential tests). How:

* **Ranks.** Within an (image, category) detections are ranked by score, ties in input order
  (pycocotools' stable mergesort), and only the first ``maxDets[-1]`` take part in anything.
* **Matching.** Only pairs with IoU >= 0.5 (the lowest threshold) can ever match, so the scorer receives
  those pairs only. pycocotools' greedy loop gives each detection, in rank order, the not yet matched
  ground truth with the highest IoU >= t, regular ground truth before ignored, the last one on ties. The
  loop runs over the rank (at most ``maxDets[-1]`` steps); each step handles the detections of that rank
  of every image and category, for every range and threshold at once.
* **Accumulation.** Precision at a recall threshold is the maximum precision at any true positive at or
  beyond the first true positive reaching that recall. So only true positives are visited: the number of
  false positives before each is counted from running sums, and no per-threshold cumulative arrays over
  all detections are built.

"Ranges" generalise COCO's area ranges: each says which ground truth is ignored, which ground truth may
absorb several detections (crowd-like), and which detections are ignored when they match nothing. The
area ranges and the per-attribute subsets (:mod:`df2kit.evaluation._subsets`) are both ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Ranges", "Scored", "rank_within_groups", "score"]

_EPS = np.spacing(1)


@dataclass(frozen=True, eq=False)
class Ranges:
    """Per range ``a`` (rows): ``gt_ignore[a]`` ground truth that is ignored, ``gt_reuse[a]`` ground truth
    that can be matched by any number of detections, ``dt_out[a]`` detections ignored if unmatched."""

    gt_ignore: np.ndarray  # (A, n_gt) bool
    gt_reuse: np.ndarray  # (A, n_gt) bool
    dt_out: np.ndarray  # (A, n_dt) bool

    @property
    def count(self) -> int:
        return int(self.gt_ignore.shape[0])


@dataclass(frozen=True, eq=False)
class Scored:
    """pycocotools' ``eval['precision']`` (T, R, K, A, M) and ``eval['recall']`` (T, K, A, M)."""

    precision: np.ndarray
    recall: np.ndarray
    num_gt: np.ndarray  # (K, A) ground truth that counts (not ignored)
    num_dt: np.ndarray  # (K,) detections that take part (within maxDets[-1] per image)


def rank_within_groups(group: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of every detection in its group by descending score, ties in input order.

    Returns ``(order, rank)``: ``order`` sorts detections by (group, rank).
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(group, kind="stable")  # fast: results files are usually grouped by image
    g, s = group[order], score[order]
    same = g[1:] == g[:-1]
    if np.any(same & (s[1:] > s[:-1])):
        order = np.lexsort((-score, group))
        g = group[order]
        same = g[1:] == g[:-1]
    new = np.ones(n, dtype=bool)
    new[1:] = ~same
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, n))
    rank_sorted = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    return order, rank


def score(
    *,
    num_categories: int,
    gt_img: np.ndarray,
    gt_cat: np.ndarray,
    dt_img: np.ndarray,
    dt_cat: np.ndarray,
    dt_score: np.ndarray,
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    pair_iou: np.ndarray,
    ranges: Ranges,
    iou_thrs: np.ndarray,
    rec_thrs: np.ndarray,
    max_dets: tuple[int, ...],
) -> Scored:
    """Match and accumulate as pycocotools does (module docstring).

    ``gt_cat``/``dt_cat`` are category *indices* 0..K-1 and ``gt_img``/``dt_img`` image rows (the order of
    pycocotools' sorted ``imgIds``); detections are in input order (their ids). Pairs join a detection and a
    ground truth of the same image and category with IoU (or OKS) >= 0.5; ground truth of one image and
    category must be in input order (ties go to the later one, as in pycocotools).
    """
    K = num_categories
    A = ranges.count
    T = len(iou_thrs)
    R = len(rec_thrs)
    M = len(max_dets)
    max_det = max_dets[-1]
    n_dt = len(dt_img)
    n_gt = len(gt_img)

    order, rank = rank_within_groups(dt_img.astype(np.int64) * K + dt_cat, dt_score)
    keep = rank < max_det
    pk = keep[pair_dt] if len(pair_dt) else np.zeros(0, dtype=bool)
    pair_dt, pair_gt, pair_iou = pair_dt[pk], pair_gt[pk], pair_iou[pk]

    tp, ig, cand_dt = _match(pair_dt, pair_gt, pair_iou, rank, ranges, iou_thrs, n_gt)

    # ---- accumulation order: category, descending score, image, rank (pycocotools' mergesort of the
    # per-image lists concatenated in image order) -----------------------------------------------------------
    kept = order[keep[order]]  # by (image, category, rank)
    by_score = kept[np.argsort(-dt_score[kept], kind="stable")]
    acc = by_score[np.argsort(dt_cat[by_score].astype(np.int16), kind="stable")]
    n_acc = len(acc)
    pos = np.full(n_dt, -1, dtype=np.int64)
    pos[acc] = np.arange(n_acc, dtype=np.int64)
    acc_cat = dt_cat[acc]
    cat_first = np.searchsorted(acc_cat, np.arange(K))  # first position of each category
    num_dt = np.bincount(acc_cat, minlength=K) if n_acc else np.zeros(K, dtype=np.int64)

    num_gt = np.zeros((K, A), dtype=np.int64)
    for a in range(A):
        num_gt[:, a] = np.bincount(gt_cat[~ranges.gt_ignore[a]], minlength=K) if n_gt else 0

    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    acc_rank = rank[acc]
    cand_pos = pos[cand_dt]
    cand_rank = rank[cand_dt]
    cand_cat = dt_cat[cand_dt]
    for mi, m in enumerate(max_dets):
        in_m = acc_rank < m
        cum_in = _cum_with_zero(in_m)
        cand_m = cand_rank < m
        for a in range(A):
            npig = num_gt[:, a]
            out_a = ranges.dt_out[a]
            has_out = bool(out_a.any())
            cum_out = _cum_with_zero(in_m & out_a[acc]) if has_out else None
            cand_out = out_a[cand_dt] if has_out else None
            for t in range(T):
                c = a * T + t
                q, rc = _precision_at_recall(
                    tp[c] & cand_m,
                    ig[c] & cand_m,
                    cand_pos,
                    cand_cat,
                    cand_out,
                    cum_in,
                    cum_out,
                    cat_first,
                    npig,
                    rec_thrs,
                )
                has_gt = npig > 0
                precision[t, :, :, a, mi] = np.where(has_gt[None, :], q.T, -1.0)
                recall[t, :, a, mi] = np.where(has_gt, rc, -1.0)
    return Scored(precision=precision, recall=recall, num_gt=num_gt, num_dt=num_dt)


def _cum_with_zero(flags: np.ndarray) -> np.ndarray:
    """Inclusive running count with a leading 0: ``out[i + 1]`` = flags[:i + 1].sum()."""
    out = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=out[1:])
    return out


def _match(
    pair_dt: np.ndarray,
    pair_gt: np.ndarray,
    pair_iou: np.ndarray,
    rank: np.ndarray,
    ranges: Ranges,
    iou_thrs: np.ndarray,
    n_gt: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching for every range and threshold.

    Returns ``(tp, ig, cand_dt)``: for the detections ``cand_dt`` that have at least one pair, ``tp[c]``
    (matched regular ground truth) and ``ig[c]`` (matched ignored ground truth) for each combination
    ``c = range * T + threshold``.
    """
    A = ranges.count
    T = len(iou_thrs)
    C = A * T
    thr = np.minimum(iou_thrs, 1 - 1e-10)
    cand_dt, cand_of_pair = np.unique(pair_dt, return_inverse=True)
    tp = np.zeros((C, len(cand_dt)), dtype=bool)
    ig = np.zeros((C, len(cand_dt)), dtype=bool)
    if len(pair_dt) == 0:
        return tp, ig, cand_dt
    matched = np.zeros((C, n_gt), dtype=bool)
    pr = rank[pair_dt]
    order = np.lexsort((pair_dt, pr))
    pr = pr[order]
    p_dt = pair_dt[order]
    p_cand = cand_of_pair.reshape(-1)[order]
    p_gt = pair_gt[order]
    p_iou = pair_iou[order]
    bounds = np.flatnonzero(np.diff(pr)) + 1
    blocks = np.split(np.arange(len(pr)), bounds)
    gt_ignore = ranges.gt_ignore
    gt_reuse = ranges.gt_reuse
    for blk in blocks:
        s0, s1 = int(blk[0]), int(blk[-1]) + 1
        g = p_gt[s0:s1]
        v = p_iou[s0:s1]
        d = p_dt[s0:s1]
        P = s1 - s0
        seg_start = np.flatnonzero(np.concatenate([[True], d[1:] != d[:-1]]))
        seg_id = np.cumsum(np.concatenate([[True], d[1:] != d[:-1]])) - 1
        ok_t = v[None, :] >= thr[:, None]  # (T, P)
        ign = gt_ignore[:, g]  # (A, P)
        avail = (~matched[:, g]).reshape(A, T, P) | gt_reuse[:, g][:, None, :]
        cand = (avail & ok_t[None, :, :]).reshape(C, P)
        reg = np.repeat(~ign, T, axis=0)  # (C, P)
        any_reg = np.logical_or.reduceat(cand & reg, seg_start, axis=1)
        eligible = cand & (reg == any_reg[:, seg_id])
        key = np.where(eligible, v[None, :], -1.0)
        best = np.maximum.reduceat(key, seg_start, axis=1)
        win = eligible & (key == best[:, seg_id])
        chosen = np.maximum.reduceat(np.where(win, g[None, :], -1), seg_start, axis=1)  # (C, D)
        cc, dd = np.nonzero(chosen >= 0)
        gsel = chosen[cc, dd]
        matched[cc, gsel] = True
        cands = p_cand[s0:s1][seg_start][dd]
        was_ign = gt_ignore[cc // T, gsel]
        tp[cc, cands] = ~was_ign
        ig[cc, cands] = was_ign
    return tp, ig, cand_dt


def _precision_at_recall(
    tp: np.ndarray,
    ig: np.ndarray,
    cand_pos: np.ndarray,
    cand_cat: np.ndarray,
    cand_out: np.ndarray | None,
    cum_in: np.ndarray,
    cum_out: np.ndarray | None,
    cat_first: np.ndarray,
    npig: np.ndarray,
    rec_thrs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Precision at each recall threshold (K, R) and final recall (K,) for one range, threshold, maxDets."""
    K = len(npig)
    R = len(rec_thrs)
    q = np.zeros((K, R))
    rc = np.zeros(K)
    matched = np.flatnonzero(tp | ig)
    if len(matched) == 0:
        return q, rc
    p = cand_pos[matched]
    o = np.argsort(p)
    matched, p = matched[o], p[o]
    k = cand_cat[matched]
    is_tp = tp[matched]
    is_ig = ig[matched]
    first_of_cat = np.searchsorted(k, k, side="left")  # first index of the same category in this list

    def seg_cum(flags: np.ndarray) -> np.ndarray:
        cs = np.cumsum(flags, dtype=np.int64)
        before = np.where(first_of_cat > 0, cs[np.maximum(first_of_cat - 1, 0)], 0)
        return cs - before

    j = seg_cum(is_tp)  # true positives so far in the category (inclusive)
    ig_so_far = seg_cum(is_ig)
    cstart = cat_first[k]
    n_in = cum_in[p + 1] - cum_in[cstart]  # detections of the category up to here (inclusive)
    ignored = ig_so_far
    if cum_out is not None and cand_out is not None:
        mo = seg_cum(cand_out[matched])  # matched detections outside the range (not ignored, so subtract)
        ignored = ignored + (cum_out[p + 1] - cum_out[cstart]) - mo
    sel = np.flatnonzero(is_tp)
    j, n_in, ignored, k = j[sel], n_in[sel], ignored[sel], k[sel]
    tps = j.astype(np.float64)
    fps = (n_in - ignored - j).astype(np.float64)
    pr = tps / (fps + tps + _EPS)
    n_tp = np.bincount(k, minlength=K)
    has = npig > 0
    rc[has] = n_tp[has] / npig[has]
    # best precision at or after each true positive, within its category
    z = (-k.astype(np.float64)) + 1j * pr
    sufmax = np.maximum.accumulate(z[::-1])[::-1].imag
    # the first true positive j (1-based) with j / npig >= threshold, per category and threshold
    tp_first = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(n_tp, out=tp_first[1:])
    cats = np.flatnonzero(has & (n_tp > 0))
    if len(cats):
        npc = npig[cats].astype(np.int64)[:, None]
        jr = np.maximum(np.ceil(rec_thrs[None, :] * npc).astype(np.int64), 1)
        for _ in range(4):  # settle floating-point rounding of j / npig against the threshold
            down = (jr > 1) & ((jr - 1) / npc >= rec_thrs[None, :])
            up = (jr / npc) < rec_thrs[None, :]
            if not (down.any() or up.any()):
                break
            jr = jr - down + up
        ntp = n_tp[cats][:, None]
        valid = jr <= ntp
        idx = tp_first[cats][:, None] + np.minimum(jr, ntp) - 1
        q[cats] = np.where(valid, sufmax[idx], 0.0)
    return q, rc
