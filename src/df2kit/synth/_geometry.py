"""Plane geometry for the generator: smooth contours, homographies, polygon clipping and containment.

Everything works on ``(N, 2)`` float64 arrays of x, y points (image convention: y grows downwards).

* :func:`smooth_contour` samples a closed (or open) piecewise-cubic curve through control points, keeping
  the control points themselves on the curve (landmarks sit on the garment outline exactly).
* :func:`clip_halfplane` clips a simple polygon to a half plane and splits the result into its separate
  pieces (a trouser leg cut by the image border gives two polygons, not one joined by a zero-width bridge);
  :func:`clip_to_rect` and :func:`subtract_strip` build on it.
* :func:`points_in_polygon` and :func:`distance_to_boundary` test landmarks against masks.

>>> import numpy as np
>>> square = np.array([[0, 0], [4, 0], [4, 4], [0, 4]], dtype=float)
>>> [p.shape for p in clip_to_rect(square - 2, 3, 3)]
[(4, 2)]
>>> u = np.array([[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3]], dtype=float)
>>> len(clip_halfplane(u, np.array([0.0, -1.0]), -2.0))   # keep y <= 2: the two arms of the U stay joined
1
>>> len(clip_halfplane(u, np.array([0.0, 1.0]), 2.0))     # keep y >= 2: the two arms come apart
2
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "apply_homography",
    "clip_halfplane",
    "clip_to_rect",
    "distance_to_boundary",
    "is_simple",
    "points_in_polygon",
    "signed_area",
    "smooth_contour",
    "smooth_polyline",
    "subtract_strip",
]


def _hermite(p: np.ndarray, t0: np.ndarray, t1: np.ndarray, q: np.ndarray, m: int) -> np.ndarray:
    """Cubic Hermite samples of segments p->q (n segments, m samples each, q excluded): (n * m, 2)."""
    s = np.arange(m, dtype=np.float64) / m
    s2, s3 = s * s, s * s * s
    h00 = 2 * s3 - 3 * s2 + 1
    h10 = s3 - 2 * s2 + s
    h01 = -2 * s3 + 3 * s2
    h11 = s3 - s2
    out = (
        h00[None, :, None] * p[:, None, :]
        + h10[None, :, None] * t0[:, None, :]
        + h01[None, :, None] * q[:, None, :]
        + h11[None, :, None] * t1[:, None, :]
    )
    return out.reshape(-1, 2)


def smooth_contour(ctrl: np.ndarray, corner: np.ndarray, samples: int = 4, tension: float = 0.5) -> np.ndarray:
    """A closed outline through the control points ``ctrl`` (n, 2).

    ``corner[i]`` true makes point i a sharp corner (the curve arrives and leaves along straight chords);
    other points are passed smoothly (Catmull-Rom tangents scaled by ``tension``). Every control point is a
    vertex of the result, at index ``i * samples``; a segment between two corners is a straight line
    sampled ``samples`` times, so the index rule holds everywhere.
    """
    p = np.asarray(ctrl, dtype=np.float64)
    nxt = np.concatenate([p[1:], p[:1]])
    prv = np.concatenate([p[-1:], p[:-1]])
    tan = (nxt - prv) * tension
    # no loops between close points: a tangent is never longer than the shorter of its two segments
    seg_next = np.hypot(*(nxt - p).T)
    seg_prev = np.hypot(*(p - prv).T)
    limit = np.minimum(seg_next, seg_prev)
    norm = np.hypot(*tan.T)
    tan = tan * np.minimum(1.0, limit / np.maximum(norm, 1e-12))[:, None]
    c = np.asarray(corner, dtype=bool)
    # at a corner the outgoing tangent follows the chord to the next point, the incoming one the chord from
    # the previous point; a zero tangent at the corner gives the same straight look at lower cost
    t_out = np.where(c[:, None], 0.0, tan)
    t_in = np.concatenate([t_out[1:], t_out[:1]])
    # clamp smooth tangents where a neighbour is a corner, so curves do not overshoot into the corner
    return _hermite(p, t_out, t_in, nxt, samples)


def smooth_polyline(ctrl: np.ndarray, samples: int = 4, tension: float = 0.5) -> np.ndarray:
    """An open curve through the control points (ends included)."""
    p = np.asarray(ctrl, dtype=np.float64)
    if len(p) < 3:
        return p.copy()
    tan = np.empty_like(p)
    tan[1:-1] = (p[2:] - p[:-2]) * tension
    tan[0] = (p[1] - p[0]) * tension
    tan[-1] = (p[-1] - p[-2]) * tension
    body = _hermite(p[:-1], tan[:-1], tan[1:], p[1:], samples)
    return np.vstack([body, p[-1:]])


def apply_homography(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map points through a 3x3 homography (x, y, 1) -> (x', y') / w'."""
    p = np.asarray(pts, dtype=np.float64)
    if p.size == 0:
        return p.reshape(0, 2)
    w = p[:, 0] * h[2, 0] + p[:, 1] * h[2, 1] + h[2, 2]
    x = (p[:, 0] * h[0, 0] + p[:, 1] * h[0, 1] + h[0, 2]) / w
    y = (p[:, 0] * h[1, 0] + p[:, 1] * h[1, 1] + h[1, 2]) / w
    return np.stack([x, y], axis=1)


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area, positive for counter-clockwise in a y-up frame (clockwise on screen)."""
    x, y = poly[:, 0], poly[:, 1]
    if len(x) < 3:
        return 0.0
    return float(x[:-1] @ y[1:] - y[:-1] @ x[1:] + x[-1] * y[0] - y[-1] * x[0]) / 2.0


def clip_halfplane(poly: np.ndarray, normal: np.ndarray, offset: float) -> list[np.ndarray]:
    """The parts of a simple polygon where ``normal . p >= offset``, one polygon per separate piece.

    Sutherland-Hodgman keeps a cut non-convex polygon as one outline whose pieces are joined by zero-width
    bridges along the cut line; here the crossing points are paired along the line instead (for a simple
    polygon, consecutive crossings bound the stretches of the line inside it), which separates the pieces.
    """
    p = np.asarray(poly, dtype=np.float64)
    d = p @ normal - offset
    inside = d >= 0
    if inside.all():
        return [p]
    if not inside.any():
        return []
    n = len(p)
    j = np.arange(1, n + 1) % n
    cross = inside != inside[j]
    # vertex list with crossings inserted: (point, kind) kind 0 = kept vertex, 1 = exit, 2 = entry
    pts: list[np.ndarray] = []
    kinds: list[int] = []
    for i in range(n):
        if inside[i]:
            pts.append(p[i])
            kinds.append(0)
        if cross[i]:
            k = j[i]
            t = d[i] / (d[i] - d[k])
            pts.append(p[i] + t * (p[k] - p[i]))
            kinds.append(1 if inside[i] else 2)
    m = len(pts)
    # rotate so the list starts at an entry
    first_entry = kinds.index(2)
    order = [(first_entry + s) % m for s in range(m)]
    pts = [pts[o] for o in order]
    kinds = [kinds[o] for o in order]
    # runs: entry ... exit
    runs: list[list[int]] = []
    for idx, k in enumerate(kinds):
        if k == 2:
            runs.append([idx])
        else:
            runs[-1].append(idx)
    if len(runs) == 1:
        return [np.array(pts)]
    direction = np.array([-normal[1], normal[0]])
    cross_idx = [r[0] for r in runs] + [r[-1] for r in runs]
    along = np.array([pts[c] @ direction for c in cross_idx])
    order_along = np.argsort(along, kind="stable")
    partner: dict[int, int] = {}
    for a in range(0, len(order_along) - 1, 2):
        u, v = cross_idx[order_along[a]], cross_idx[order_along[a + 1]]
        partner[u], partner[v] = v, u
    run_of_entry = {r[0]: ri for ri, r in enumerate(runs)}
    used = [False] * len(runs)
    pieces: list[np.ndarray] = []
    for start in range(len(runs)):
        if used[start]:
            continue
        piece: list[int] = []
        cur = start
        for _ in range(len(runs) + 1):
            used[cur] = True
            piece.extend(runs[cur])
            nxt_entry = partner.get(runs[cur][-1])
            if nxt_entry is None or nxt_entry not in run_of_entry:
                return [np.array(pts)]  # not a simple polygon: keep the joined outline
            cur = run_of_entry[nxt_entry]
            if cur == start:
                break
            if used[cur]:
                return [np.array(pts)]
        pieces.append(np.array([pts[i] for i in piece]))
    return pieces


def clip_to_rect(poly: np.ndarray, width: float, height: float) -> list[np.ndarray]:
    """The parts of a simple polygon inside ``[0, width] x [0, height]``."""
    p = np.asarray(poly, dtype=np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= width and hi[1] <= height:
        return [p]
    pieces = [p]
    for normal, off in (
        (np.array([1.0, 0.0]), 0.0),
        (np.array([-1.0, 0.0]), -float(width)),
        (np.array([0.0, 1.0]), 0.0),
        (np.array([0.0, -1.0]), -float(height)),
    ):
        nxt: list[np.ndarray] = []
        for q in pieces:
            nxt.extend(clip_halfplane(q, normal, off))
        pieces = nxt
        if not pieces:
            break
    return pieces


def subtract_strip(poly: np.ndarray, point: np.ndarray, direction: np.ndarray, half_width: float) -> list[np.ndarray]:
    """A simple polygon minus the infinite strip of ``half_width`` around the line through ``point``."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.hypot(d[0], d[1])
    normal = np.array([-d[1], d[0]])
    c = float(normal @ point)
    return clip_halfplane(poly, normal, c + half_width) + clip_halfplane(poly, -normal, -(c - half_width))


def points_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd containment of each point in one polygon: ``(N,)`` bool."""
    pts = np.asarray(pts, dtype=np.float64)
    if len(pts) == 0 or len(poly) < 3:
        return np.zeros(len(pts), dtype=bool)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    cand = (pts[:, 0] >= lo[0]) & (pts[:, 0] <= hi[0]) & (pts[:, 1] >= lo[1]) & (pts[:, 1] <= hi[1])
    if not cand.any():
        return cand
    if not cand.all():
        out = np.zeros(len(pts), dtype=bool)
        out[cand] = points_in_polygon(pts[cand], poly)
        return out
    x, y = pts[:, 0:1], pts[:, 1:2]
    nxt = np.concatenate([poly[1:], poly[:1]])
    x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]
    x2, y2 = nxt[:, 0][None, :], nxt[:, 1][None, :]
    cond = (y1 > y) != (y2 > y)
    dy = np.where(cond, y2 - y1, 1.0)
    xint = (x2 - x1) * (y - y1) / dy + x1
    return ((cond & (x < xint)).sum(axis=1) % 2) == 1


def distance_to_boundary(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest edge of a closed polygon: ``(N,)``."""
    pts = np.asarray(pts, dtype=np.float64)
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a
    len2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    ap = pts[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab[None]).sum(axis=2) / len2[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    return np.sqrt(((pts[:, None, :] - closest) ** 2).sum(axis=2)).min(axis=1)


def is_simple(poly: np.ndarray, tol: float = 1e-9) -> bool:
    """True when no two non-adjacent edges of the closed polygon intersect (O(n^2), for tests)."""
    a = np.asarray(poly, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    n = len(a)

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])

    i, j = np.triu_indices(n, 2)
    keep = ~((i == 0) & (j == n - 1))
    i, j = i[keep], j[keep]
    o1 = orient(a[i], b[i], a[j])
    o2 = orient(a[i], b[i], b[j])
    o3 = orient(a[j], b[j], a[i])
    o4 = orient(a[j], b[j], b[i])
    hit = (o1 * o2 < -tol) & (o3 * o4 < -tol)
    return not bool(hit.any())
