"""YOLO writer: golden label lines, one merged polygon per item, the 294-landmark pose layout, the YAML
(flip_idx an involution within each category slice, the official sigmas), the Ultralytics checker's rules,
and native -> YOLO round trips.

Ultralytics itself is not installed in the test environment (it pulls torch and OpenCV and fetches fonts at
run time), so its dataset checker's rules are applied here directly (ultralytics/data/utils.py,
verify_image_label: column counts, coordinates within -0.01..1.01, classes < nc, no duplicate rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

from df2kit.errors import DatasetError
from df2kit.formats.yolo import merge_polygons, to_yolo
from df2kit.io import scan_split
from df2kit.layout import CATEGORIES, FLIP_INDEX_294, NUM_LANDMARKS, SIGMAS_294, Category
from df2kit.structures.polygons import repair_polygons

from .._factory import make_split


def _lines(p: Path) -> list[list[float]]:
    return [[float(v) for v in ln.split()] for ln in p.read_text().splitlines() if ln.strip()]


def _ultralytics_rules(label: Path, task: str, nc: int = 13, nkpt: int = NUM_LANDMARKS) -> None:
    rows = [ln.split() for ln in label.read_text().strip().splitlines() if ln]
    if task == "segment":
        assert all(len(r) > 6 and len(r) % 2 == 1 for r in rows)  # class + x, y pairs; read as polygons
        pts = np.concatenate([np.array(r[1:], np.float32) for r in rows])
        cls = np.array([r[0] for r in rows], np.float32)
        lb = np.concatenate([cls, pts])
    else:
        lb = np.array(rows, dtype=np.float32)
        want = 5 + 3 * nkpt if task == "pose" else 5
        assert lb.shape[1] == want
        pts = lb[:, 5:].reshape(-1, 3)[:, :2] if task == "pose" else lb[:, 1:]
        cls = lb[:, 0]
        assert len(np.unique(lb, axis=0)) == len(lb)  # Ultralytics drops duplicate rows
    assert pts.max() <= 1.01 and lb.min() >= -0.01
    assert cls.max() < nc and (cls == np.round(cls)).all()


@pytest.fixture()
def yolo_dirs(handmade: Path, tmp_path: Path) -> dict[str, Path]:
    out = {}
    for task in ("detect", "segment", "pose"):
        to_yolo(handmade, tmp_path / task, task=task, workers=1)
        out[task] = tmp_path / task
    return out


# ---- golden lines --------------------------------------------------------------------------------------
def test_detect_lines(yolo_dirs: dict[str, Path]) -> None:
    lab = yolo_dirs["detect"] / "labels" / "validation"
    assert sorted(p.name for p in lab.iterdir()) == ["000002.txt", "000005.txt", "000010.txt"]
    assert (lab / "000002.txt").read_text().splitlines()[0] == "7 0.1875 0.5 0.3125 0.833333"
    r = _lines(lab / "000002.txt")[1]  # floats: (5.5, 6.25, 100.5, 90.75) in 320 x 240
    assert r == pytest.approx([0, 53 / 320, 48.5 / 240, 95 / 320, 84.5 / 240], abs=1e-6)
    # the box beyond the right edge (x2 = 260 > 240) is clipped to the border
    assert _lines(lab / "000010.txt") == [pytest.approx([12, 170 / 240, 0.6, 140 / 240, 0.7], abs=1e-6)]


def test_pose_lines_use_the_global_layout(yolo_dirs: dict[str, Path]) -> None:
    lab = yolo_dirs["pose"] / "labels" / "validation"
    tr = _lines(lab / "000002.txt")[0]
    assert len(tr) == 5 + 3 * 294 and tr[0] == 7
    kp = np.array(tr[5:]).reshape(294, 3)
    assert kp[168] == pytest.approx([12 / 320, 22 / 240, 2], abs=1e-6)
    assert kp[169] == pytest.approx([50 / 320, 25 / 240, 1], abs=1e-6)
    outside = np.ones(294, bool)
    outside[Category.TROUSERS.landmark_slice] = False
    assert not kp[outside].any() and not kp[168 + 2 : 168 + 13].any()  # unlabeled: 0 0 0
    sd = np.array(_lines(lab / "000010.txt")[0][5:]).reshape(294, 3)
    assert sd[275 + 18] == pytest.approx([1.0, 0.9, 2], abs=1e-6)  # x = 255 beyond width 240: clipped
    assert sd[275] == pytest.approx([150 / 240, 60 / 200, 2], abs=1e-6)


def test_pose_vis_only(handmade: Path, tmp_path: Path) -> None:
    s = to_yolo(handmade, tmp_path / "p", task="pose", vis_only=True, workers=1)
    kp = np.array(_lines(tmp_path / "p" / "labels" / "validation" / "000002.txt")[0][5:]).reshape(294, 3)
    assert kp[169].tolist() == [0, 0, 0] and kp[168][2] == 2
    assert s.landmarks_hidden == 3


def test_segment_one_polygon_per_item(yolo_dirs: dict[str, Path]) -> None:
    lab = yolo_dirs["segment"] / "labels" / "validation"
    rows = _lines(lab / "000002.txt")
    assert len(rows) == 2
    assert rows[0] == pytest.approx([7, 10 / 320, 20 / 240, 110 / 320, 20 / 240, 60 / 320, 220 / 240], abs=1e-6)
    pts = np.array(rows[1][1:]).reshape(-1, 2) * [320, 240]
    assert len(pts) == 4 + 4 + 2  # two parts joined by a bridge walked there and back; the 2-point one dropped
    for p in ([6, 7], [40, 40], [60.5, 50], [100, 90]):
        assert np.isclose(pts, p, atol=1e-3).all(axis=1).any()
    # no polygon -> the box; a lone degenerate polygon -> dropped, then the (clipped) box
    assert _lines(lab / "000005.txt")[0] == pytest.approx([7, 0.15, 40 / 300, 0.45, 40 / 300, 0.45, 160 / 300, 0.15, 160 / 300], abs=1e-6)
    assert max(_lines(lab / "000010.txt")[0][1::2]) == 1.0


def test_summary_counts(handmade: Path, tmp_path: Path) -> None:
    s = to_yolo(handmade, tmp_path / "s", task="segment", workers=1)
    assert (s.images, s.labels, s.items_merged, s.items_clipped) == (3, 4, 1, 1)
    assert s.repairs == {"dropped-degenerate": 2, "box-as-polygon": 2} and s.items_repaired == 3
    assert "merged into one polygon" in s.format()


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_ultralytics_checker_rules(yolo_dirs: dict[str, Path], task: str) -> None:
    for f in (yolo_dirs[task] / "labels" / "validation").iterdir():
        _ultralytics_rules(f, task)


# ---- merging parts -------------------------------------------------------------------------------------
def _mask(polys: list[np.ndarray], size: int = 200) -> np.ndarray:
    im = Image.new("1", (size, size), 0)
    d = ImageDraw.Draw(im)
    for p in polys:
        d.polygon([tuple(x) for x in p.tolist()], fill=1)
    return np.array(im, dtype=bool)


def test_merge_keeps_every_point_and_fills_the_union() -> None:
    """Parts of one item do not overlap (a sleeve and a body cut apart by an arm): star-shaped parts in
    separate cells of a 4 x 4 grid; the merged outline must fill their union up to its zero-width bridges."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        parts = []
        cells = rng.choice(16, size=int(rng.integers(2, 6)), replace=False)
        for cell in cells:
            c = np.array([25 + 50 * (cell % 4), 25 + 50 * (cell // 4)], float)
            n = int(rng.integers(3, 12))
            t = np.sort(rng.uniform(0, 2 * np.pi, n))
            r = rng.uniform(8, 22, n)
            parts.append(np.round(c + r[:, None] * np.stack([np.cos(t), np.sin(t)], 1)))
        m = merge_polygons(parts)
        assert len(m) == sum(len(p) for p in parts) + 2 * (len(parts) - 1)
        for p in parts:
            assert all(np.isclose(m, q).all(axis=1).any() for q in p)
        owner = np.array([next(k for k, p in enumerate(parts) if np.isclose(p, q).all(1).any()) for q in m])
        steps = np.flatnonzero(owner[1:] != owner[:-1])
        assert len(steps) == 2 * (len(parts) - 1)  # every bridge walked there and back
        bridges = float(np.linalg.norm(m[steps + 1] - m[steps], axis=1).sum()) / 2
        union, merged = _mask(parts), _mask([m])
        assert (union & ~merged).sum() <= 0.01 * union.sum()  # the parts are covered
        assert (merged & ~union).sum() <= 1.5 * bridges + 10  # plus only the bridges' pixel lines


def test_merge_bridges_the_nearest_points() -> None:
    a = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    b = a + [30, 3]
    m = merge_polygons([a, b])
    i = int(np.flatnonzero((m == [10, 0]).all(1) | (m == [10, 10]).all(1))[0])
    assert m[i + 1].tolist() == [30.0, 3.0] or m[i + 1].tolist() == [30.0, 13.0]
    assert merge_polygons([a]).tolist() == a.tolist()
    with pytest.raises(ValueError):
        merge_polygons([])


# ---- the YAML ------------------------------------------------------------------------------------------
def test_pose_yaml(yolo_dirs: dict[str, Path]) -> None:
    y = yaml.safe_load((yolo_dirs["pose"] / "dataset.yaml").read_text())
    assert Path(y["path"]) == yolo_dirs["pose"].resolve()
    assert y["train"] == y["val"] == "images/validation"  # train not converted yet
    assert y["names"] == {c.id - 1: c.name for c in CATEGORIES}
    assert y["kpt_shape"] == [294, 3]
    assert y["kpt_oks_sigmas"] == pytest.approx(SIGMAS_294.tolist())
    flip = np.array(y["flip_idx"])
    assert np.array_equal(flip, FLIP_INDEX_294)
    assert np.array_equal(flip[flip], np.arange(294))  # an involution
    for c in CATEGORIES:
        sl = flip[c.landmark_slice]
        assert sl.min() >= c.offset and sl.max() < c.offset + c.num_landmarks  # each slice onto itself
        for a, b in c.flip_pairs:
            assert flip[c.offset + a - 1] == c.offset + b - 1
    det = yaml.safe_load((yolo_dirs["detect"] / "dataset.yaml").read_text())
    assert "kpt_shape" not in det and "flip_idx" not in det


def test_two_splits_in_one_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_split(root, 8, seed=1, split="train")
    make_split(root, 6, seed=2, split="validation")
    to_yolo(root, tmp_path / "y", split="validation", task="pose", workers=1)
    to_yolo(root, tmp_path / "y", split="train", task="pose", workers=1)
    y = yaml.safe_load((tmp_path / "y" / "dataset.yaml").read_text())
    assert (y["train"], y["val"]) == ("images/train", "images/validation")
    assert len(list((tmp_path / "y" / "labels" / "train").iterdir())) == 8
    with pytest.raises(DatasetError, match="'pose'"):
        to_yolo(root, tmp_path / "y", split="train", task="detect", workers=1)


def test_reconversion_replaces_the_split(tmp_path: Path) -> None:
    d = make_split(tmp_path / "root", 6, seed=1)
    to_yolo(d, tmp_path / "y", workers=1)
    (tmp_path / "y" / "labels" / "validation" / "999999.txt").write_text("stale\n")
    (tmp_path / "y" / "labels" / "validation.cache").write_text("stale")
    to_yolo(d, tmp_path / "y", workers=1)
    assert not (tmp_path / "y" / "labels" / "validation" / "999999.txt").exists()
    assert not (tmp_path / "y" / "labels" / "validation.cache").exists()
    assert not [p for p in (tmp_path / "y" / "labels").iterdir() if p.name.startswith(".")]


def test_images_linked_or_copied(handmade: Path, tmp_path: Path) -> None:
    to_yolo(handmade, tmp_path / "l", workers=1)
    link = tmp_path / "l" / "images" / "validation" / "000005.jpg"
    assert link.is_symlink() and link.resolve() == (handmade / "image" / "000005.jpg").resolve()
    to_yolo(handmade, tmp_path / "c", image_mode="copy", workers=1)
    copy = tmp_path / "c" / "images" / "validation" / "000005.jpg"
    assert not copy.is_symlink() and copy.read_bytes() == (handmade / "image" / "000005.jpg").read_bytes()


def test_missing_image_leaves_nothing_half_written(handmade: Path, tmp_path: Path) -> None:
    (handmade / "image" / "000010.jpg").unlink()
    with pytest.raises(DatasetError, match="000010.jpg"):
        to_yolo(handmade, tmp_path / "y", workers=1)
    assert not (tmp_path / "y" / "labels" / "validation").exists()
    assert not list((tmp_path / "y" / "labels").iterdir()) and not (tmp_path / "y" / "dataset.yaml").exists()


# ---- round trip ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_round_trip_native_to_yolo(tmp_path: Path, workers: int) -> None:
    d = make_split(tmp_path / "root", 30, seed=12)
    t = scan_split(d, None, cache=False)
    for task in ("detect", "segment", "pose"):
        to_yolo(d, tmp_path / task, task=task, workers=workers)
    wh = np.array([320, 240], float)
    for i in range(len(t)):
        stem = t.stems[i]
        det = _lines(tmp_path / "detect" / "labels" / "validation" / f"{stem}.txt")
        seg = _lines(tmp_path / "segment" / "labels" / "validation" / f"{stem}.txt")
        pose = _lines(tmp_path / "pose" / "labels" / "validation" / f"{stem}.txt")
        items = range(t.item_start[i], t.item_start[i + 1])
        assert len(det) == len(seg) == len(pose) == len(items)
        for r_d, r_s, r_p, j in zip(det, seg, pose, items, strict=True):
            assert r_d[0] == r_s[0] == r_p[0] == t.category_id[j] - 1
            cx, cy, w, h = np.array(r_d[1:5]) * [320, 240, 320, 240]
            assert [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] == pytest.approx(t.bbox_xyxy[j].tolist(), abs=1e-3)
            assert r_p[1:5] == r_d[1:5]
            polys, _ = repair_polygons(t.item_polygons(j), t.bbox_xyxy[j])
            got = np.array(r_s[1:]).reshape(-1, 2) * wh
            if len(polys) == 1:
                assert got == pytest.approx(polys[0], abs=1e-3)
            else:
                for q in np.concatenate(polys):
                    assert np.isclose(got, q, atol=1e-3).all(axis=1).any()
            kp = np.array(r_p[5:]).reshape(294, 3)
            cat = CATEGORIES[int(t.category_id[j]) - 1]
            lm = t.item_landmarks(j)
            assert kp[cat.landmark_slice][:, :2] * wh == pytest.approx(lm[:, :2], abs=1e-3)
            assert np.array_equal(kp[cat.landmark_slice][:, 2], lm[:, 2])
            rest = np.ones(294, bool)
            rest[cat.landmark_slice] = False
            assert not kp[rest].any()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task"):
        to_yolo(tmp_path, tmp_path / "y", task="obb")
    with pytest.raises(ValueError, match="image_mode"):
        to_yolo(tmp_path, tmp_path / "y", image_mode="hardlink")
