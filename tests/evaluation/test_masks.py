"""df2kit.structures.masks against pycocotools.mask: run for run, bit for bit."""

from __future__ import annotations

import numpy as np
import pycocotools.mask as cocomask
import pytest

from df2kit.structures import masks as mk


def _coco_poly(polys: list[list[float]], h: int, w: int) -> str:
    return cocomask.merge(cocomask.frPyObjects(polys, h, w))["counts"].decode()


def _random_polygon(rng: np.random.Generator, h: int, w: int) -> list[float]:
    k = int(rng.integers(3, 14))
    mode = int(rng.integers(0, 6))
    span = max(h, w)
    if mode == 0:  # anywhere, partly outside the image
        p = rng.uniform(-10, span + 10, size=2 * k)
    elif mode == 1:  # integer corners (ties at .5 after upsampling are common)
        p = rng.integers(-3, span + 3, size=2 * k).astype(float)
    elif mode == 2:  # half pixels
        p = np.round(rng.uniform(0, span, size=2 * k) * 2) / 2
    elif mode == 3:  # closed: first point repeated at the end
        p = rng.uniform(0, span, size=2 * k)
        p = np.concatenate([p, p[:2]])
    elif mode == 4:  # star-shaped, like a garment outline
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = rng.uniform(1, span, k)
        p = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).ravel()
    else:  # tiny (sub-pixel)
        p = rng.uniform(0, span, size=2) .repeat(k) + rng.uniform(-0.7, 0.7, size=2 * k)
    if rng.random() < 0.2:
        p = np.concatenate([p[:2], p])  # a repeated vertex: a zero-length edge
    return p.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_polygons_match_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    items, hs, ws, want = [], [], [], []
    for _ in range(600):
        h, w = int(rng.integers(1, 70)), int(rng.integers(1, 70))
        polys = [_random_polygon(rng, h, w) for _ in range(int(rng.integers(1, 4)))]
        items.append(polys)
        hs.append(h)
        ws.append(w)
        want.append(_coco_poly(polys, h, w))
    got = mk.polygons_to_rles(items, hs, ws)
    assert [g["counts"] for g in got] == want
    assert [g["size"] for g in got] == [[h, w] for h, w in zip(hs, ws)]
    for i in range(0, 600, 37):  # the one-item function is the same rasterizer
        assert mk.polygons_to_rle(items[i], hs[i], ws[i])["counts"] == want[i]


def test_large_garment_like_polygons_match_pycocotools() -> None:
    rng = np.random.default_rng(99)
    items, hs, ws = [], [], []
    for _ in range(150):
        h, w = int(rng.integers(300, 900)), int(rng.integers(300, 900))
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 400)
        k = int(rng.integers(3, 80))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.2, 1, k)
        p = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        if rng.random() < 0.4:
            p = np.round(p)
        items.append([p.ravel().tolist()] + ([_random_polygon(rng, h, w)] if rng.random() < 0.3 else []))
        hs.append(h)
        ws.append(w)
    got = mk.polygons_to_rles(items, hs, ws)
    assert [g["counts"] for g in got] == [_coco_poly(it, h, w) for it, h, w in zip(items, hs, ws)]


def test_steep_edges_with_integer_corners_match_pycocotools() -> None:
    # steep edges with slopes like 1/2, 1/3 put column steps exactly on sample boundaries: the tie cases
    rng = np.random.default_rng(17)
    items, hs, ws = [], [], []
    for _ in range(300):
        h, w = int(rng.integers(20, 90)), int(rng.integers(20, 90))
        k = int(rng.integers(3, 9))
        xs = rng.integers(0, w, k).astype(float)
        ys = rng.integers(0, h, k).astype(float)
        xs[1::2] = xs[0::2][: len(xs[1::2])] + rng.integers(-3, 4, len(xs[1::2]))  # nearly vertical edges
        items.append([np.stack([xs, ys], 1).ravel().tolist()])
        hs.append(h)
        ws.append(w)
    got = mk.polygons_to_rles(items, hs, ws)
    assert [g["counts"] for g in got] == [_coco_poly(it, h, w) for it, h, w in zip(items, hs, ws)]


@pytest.mark.parametrize(
    "polys,h,w",
    [
        ([[0, 0, 10, 0, 10, 10, 0, 10]], 10, 10),  # the whole image
        ([[-5, -5, 20, -5, 20, 20, -5, 20]], 10, 10),  # larger than the image
        ([[20, 20, 30, 20, 30, 30]], 10, 10),  # outside
        ([[0, 0, 3, 0, 3, 3, 0, 3], [3, 0, 6, 0, 6, 3, 3, 3]], 8, 8),  # two touching squares
        ([[0, 0, 6, 0, 6, 6, 0, 6], [2, 2, 4, 2, 4, 4, 2, 4]], 8, 8),  # one inside the other
        ([[0, 0, 5, 5, 0, 5, 5, 0]], 8, 8),  # self-intersecting bow tie
        ([[1, 1, 5, 1, 9, 1]], 10, 10),  # collinear
        ([[0.5, 0.5, 0.5, 7.5, 7.5, 7.5]], 1, 9),  # one row
        ([[0.5, 0.5, 7.5, 0.5, 7.5, 7.5]], 9, 1),  # one column
        ([[2, 2, 2.2, 2, 2.2, 2.2]], 6, 6),  # sub-pixel
        ([[1, 1, 4, 1, 4, 4, 1, 4, 1, 1]], 6, 6),  # closed
        ([[1, 1, 4, 1, 4, 4, 1, 4, 9]], 6, 6),  # an odd trailing number is ignored
    ],
)
def test_polygon_edge_cases(polys: list[list[float]], h: int, w: int) -> None:
    assert mk.polygons_to_rle(polys, h, w)["counts"] == _coco_poly(polys, h, w)


def test_polygons_accept_point_arrays_and_items_in_any_order() -> None:
    a = np.array([[1, 1], [6, 1], [6, 5], [1, 5]], dtype=float)
    assert mk.polygons_to_rle([a], 8, 9) == mk.polygons_to_rle([a.ravel().tolist()], 8, 9)
    # the batch rasterizer takes the polygons of several items interleaved
    pts = np.concatenate([a, a + 2, a + 1])
    counts, offsets = mk._rasterize(
        pts, np.array([4, 4, 4]), np.array([1, 0, 1]), np.array([10, 12]), np.array([11, 13])
    )
    strings = mk.counts_to_strings(counts, offsets)
    assert strings[0] == _coco_poly([(a + 2).ravel().tolist()], 10, 11)
    assert strings[1] == _coco_poly([a.ravel().tolist(), (a + 1).ravel().tolist()], 12, 13)


@pytest.mark.parametrize("seed", range(3))
def test_encode_decode_area_bbox_match_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(400):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if rng.random() < 0.3:  # a run crossing column boundaries
            m[:] = 0
            m.T.reshape(-1)[rng.integers(0, h * w) :][: rng.integers(1, 3 * h + 1)] = 1
        ref = cocomask.encode(np.asfortranarray(m))
        rle = mk.encode_mask(m)
        assert rle["counts"] == ref["counts"].decode() and rle["size"] == [h, w]
        assert np.array_equal(mk.decode_rle(rle), m.astype(bool))
        assert mk.rle_area(rle) == int(cocomask.area(ref))
        assert np.array_equal(mk.rle_to_bbox(rle), cocomask.toBbox(ref))
        # uncompressed counts are read too
        plain = {"size": [h, w], "counts": mk.rle_counts(rle).tolist()}
        assert mk.rle_area(plain) == mk.rle_area(rle)
        assert np.array_equal(mk.decode_rle(plain), m.astype(bool))


def test_empty_and_full_masks() -> None:
    for m in (np.zeros((3, 4), np.uint8), np.ones((3, 4), np.uint8), np.zeros((0, 5), np.uint8)):
        ref = cocomask.encode(np.asfortranarray(m))
        rle = mk.encode_mask(m)
        assert rle["counts"] == ref["counts"].decode()
        assert mk.rle_area(rle) == int(m.sum())
    assert mk.rle_to_bbox(mk.encode_mask(np.zeros((3, 4)))).tolist() == [0, 0, 0, 0]


def test_string_codec_round_trips_and_matches_pycocotools() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        # pycocotools' rleToString has room for 6 characters per number including its terminator, so it
        # overflows its buffer when every number needs 6: compare with it below 2^24 only
        c = rng.integers(0, 2 ** int(rng.integers(1, 24)), int(rng.integers(1, 60)))
        s = mk.counts_to_string(c)
        assert np.array_equal(mk.string_to_counts(s), c)
        total = int(c.sum())
        ref = cocomask.frPyObjects({"size": [1, total], "counts": c.tolist()}, 1, total)
        assert ref["counts"].decode() == s
    big = rng.integers(0, 2**40, 30)  # 7 and 8 characters per number
    assert np.array_equal(mk.string_to_counts(mk.counts_to_string(big)), big)
    # many at once, with empty lists among them
    lists = [rng.integers(0, 500, int(n)) for n in rng.integers(0, 30, 200)]
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=offsets[1:])
    strings = mk.counts_to_strings(np.concatenate(lists), offsets)
    assert strings == [mk.counts_to_string(x) for x in lists]
    counts, offs = mk.strings_to_counts(strings)
    assert np.array_equal(offs, offsets) and np.array_equal(counts, np.concatenate(lists))


def test_malformed_rles_are_refused() -> None:
    with pytest.raises(mk.RLEError, match="outside"):
        mk.string_to_counts("12~")
    with pytest.raises(mk.RLEError, match="string 1: ends in the middle"):
        mk.strings_to_counts(["12", "1P"])
    with pytest.raises(mk.RLEError, match="add up to 5 pixels, expected height \\* width = 6"):
        mk.rle_area({"size": [2, 3], "counts": [2, 3]})
    with pytest.raises(mk.RLEError, match="size"):
        mk.rle_area({"counts": "12"})
    with pytest.raises(mk.RLEError, match="counts"):
        mk.rle_area({"size": [1, 1], "counts": 7})


@pytest.mark.parametrize("seed", range(3))
def test_rle_iou_matches_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def rand_mask(h: int, w: int) -> np.ndarray:
        m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if rng.random() < 0.5:
            m[:] = 0
            y, x = rng.integers(0, h), rng.integers(0, w)
            m[y : y + rng.integers(1, h + 1), x : x + rng.integers(1, w + 1)] = 1
        return m

    for _ in range(150):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        dts = [mk.encode_mask(rand_mask(h, w)) for _ in range(int(rng.integers(0, 6)))]
        gts = [mk.encode_mask(rand_mask(h, w)) for _ in range(int(rng.integers(0, 6)))]
        crowd = rng.random(len(gts)) < 0.3
        got = mk.rle_iou(dts, gts, crowd)
        ref = cocomask.iou(dts, gts, crowd.astype(np.uint8).tolist())
        ref = np.asarray(ref).reshape(len(dts), len(gts)) if len(dts) and len(gts) else np.zeros((len(dts), len(gts)))
        assert np.array_equal(got, ref)


def test_rle_iou_of_different_sizes_is_minus_one_like_pycocotools() -> None:
    a = mk.encode_mask(np.ones((4, 4)))
    b = mk.encode_mask(np.ones((4, 5)))
    assert mk.rle_iou([a], [b]).tolist() == [[-1.0]]
    assert np.asarray(cocomask.iou([a], [b], [0])).tolist() == [[-1.0]]


def test_pair_intersections_equal_bitmap_counts() -> None:
    rng = np.random.default_rng(3)
    masks = []
    for _ in range(40):
        m = np.zeros((23, 17), dtype=bool)
        for _ in range(int(rng.integers(0, 4))):  # several blobs: columns with several pieces
            y, x = rng.integers(0, 23), rng.integers(0, 17)
            m[y : y + rng.integers(1, 12), x : x + rng.integers(1, 9)] = True
        masks.append(m)
    ms = mk.MaskSet.from_rles([mk.encode_mask(m) for m in masks])
    ai, bi = (x.ravel() for x in np.meshgrid(np.arange(40), np.arange(40), indexing="ij"))
    got = mk.pair_intersections(ms, ms, ai, bi)
    want = np.array([(masks[i] & masks[j]).sum() for i, j in zip(ai, bi)])
    assert np.array_equal(got, want)
    assert np.array_equal(ms.area, [m.sum() for m in masks])
    # the same from one side's runs only
    s, e, owner, totals = mk.strings_to_runs([mk.encode_mask(m)["counts"] for m in masks])
    assert np.array_equal(totals, [23 * 17] * 40)
    run_first = np.searchsorted(owner, np.arange(41))
    assert np.array_equal(mk.run_intersections(s, e, run_first, ai, ms, bi), want)
    area, x0, _x1, _y0, y1 = mk.runs_geometry(s, e, owner, np.full(40, 23), 40)
    assert np.array_equal(area, ms.area) and np.array_equal(x0, ms.x0) and np.array_equal(y1, ms.y1)
