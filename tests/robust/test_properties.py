"""Property-based tests of the results-file loaders and the converters: any input gives a result or a df2kit
error (DF2Error), never another exception; native -> COCO -> native keeps every item exactly.

(The native reader's properties are in tests/io/test_properties.py.)"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from df2kit.errors import DF2Error, ResultsError
from df2kit.evaluation import evaluate, evaluate_retrieval
from df2kit.evaluation._results import entries_to_columns, iter_result_chunks, whole_zeros
from df2kit.formats.coco import from_coco, to_coco
from df2kit.formats.yolo import to_yolo
from df2kit.io import read_annotation, scan_split, write_annotation
from df2kit.layout import CATEGORIES, Category
from df2kit.structures import ClothingItem, ImageAnnotation

from .conftest import RESULTS

_SCALE = int(os.environ.get("DF2KIT_HYPOTHESIS_SCALE", "1"))  # e.g. 20 for a long hunt
FAST = settings(max_examples=60 * _SCALE, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=25 * _SCALE, deadline=None, suppress_health_check=list(HealthCheck))

GOOD = {t: json.loads((RESULTS / f"{p}_good.json").read_bytes())
        for t, p in (("detection", "det"), ("landmarks", "lm"), ("segmentation", "seg"), ("retrieval", "ret"))}

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.sampled_from(["0.5", "1", "", "P", "NaN"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@st.composite
def mutated_entries(draw: st.DrawFn, task: str) -> list:
    """The task's good results with a few values replaced (deep inside lists too), removed or added."""
    entries = json.loads(json.dumps(GOOD[task]))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        if op == 0 or not entries:
            entries.insert(draw(st.integers(0, len(entries))), draw(json_value))
            continue
        i = draw(st.integers(0, len(entries) - 1))
        e = entries[i]
        if not isinstance(e, dict) or not e:
            entries[i] = draw(json_value)
            continue
        key = draw(st.sampled_from(sorted(e)))
        if op == 1:
            del e[key]
        elif op == 2 and isinstance(e[key], list) and e[key]:
            j = draw(st.integers(0, len(e[key]) - 1))
            e[key][j] = draw(json_value)
        elif op == 3 and isinstance(e[key], dict) and e[key]:
            k2 = draw(st.sampled_from(sorted(e[key])))
            e[key][k2] = draw(json_value)
        elif op == 4:
            e[key] = draw(st.sampled_from([-1, 0, 2**63, 1e300, -0.0, 1.5, True, "7"]))
        else:
            e[key] = draw(json_value)
    return entries


@st.composite
def mutated_bytes(draw: st.DrawFn, task: str) -> bytes:
    raw = bytearray(json.dumps(draw(mutated_entries(task)), allow_nan=True).encode())
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == 0 and raw:
            raw[i] = draw(st.integers(0, 255))
        elif op == 1 and raw:
            del raw[i]
        else:
            raw[i:i] = draw(st.sampled_from([b"}", b"{", b",", b"]", b"[", b" ", b'"', b"\xff", b"NaN", b"}, {"]))
    return bytes(raw)


COCO_TASKS = ("detection", "landmarks", "segmentation")


@pytest.fixture(scope="module")
def gt_table(tmp_path_factory: pytest.TempPathFactory):
    from df2kit.evaluation import load_ground_truth

    d = tmp_path_factory.mktemp("gt") / "validation"
    import shutil

    shutil.copytree(RESULTS / "gt" / "annos", d / "annos")
    (d / "image").mkdir()
    for s in ("000001", "000002"):
        Image.new("RGB", (256, 192)).save(d / "image" / f"{s}.jpg")
    table = scan_split(d, None, cache=False, workers=1)

    class GT(tuple):
        def __repr__(self) -> str:  # hypothesis prints its arguments; the table's repr is pages long
            return f"GT({d})"

    return GT((d, table, load_ground_truth))


@FAST
@given(st.sampled_from(COCO_TASKS).flatmap(lambda t: st.tuples(st.just(t), mutated_entries(t))))
def test_columns_or_a_results_error(case) -> None:
    task, entries = case
    try:
        cols = entries_to_columns(entries, 0, task, "r.json")
    except ResultsError as e:
        assert e.path == "r.json" and (e.item is None or e.item.startswith("entry "))
        return
    assert len(cols) == len(entries)
    assert np.isfinite(cols.score).all()


@FAST
@given(st.sampled_from(COCO_TASKS).flatmap(lambda t: st.tuples(st.just(t), mutated_bytes(t))),
       st.sampled_from([16, 64, 1 << 20]))
def test_block_reader_gives_the_entries_or_a_results_error(case, block: int) -> None:
    task, raw = case
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.json"
        p.write_bytes(raw)
        try:
            got = []
            for first, entries in iter_result_chunks(p, block, whole_numbers=(task == "landmarks")):
                assert first == len(got)
                got.extend(entries)
        except ResultsError as e:
            assert e.path == str(p)
            return
        if task != "landmarks":
            assert got == orjson.loads(raw)  # the blocks hold what one parse of the whole file gives
        else:  # landmark files are read with "x.0" as "x" (whole_zeros), lists come back as arrays
            assert len(got) == len(orjson.loads(whole_zeros(raw)))


@SLOW
@given(st.sampled_from(COCO_TASKS).flatmap(lambda t: st.tuples(st.just(t), mutated_entries(t))))
def test_evaluate_gives_a_result_or_a_df2kit_error(gt_table, case) -> None:
    _, table, _ = gt_table
    task, entries = case
    try:
        r = evaluate(task, table, entries)
    except DF2Error:
        return
    assert r.num_dt <= len(entries)


@SLOW
@given(mutated_entries("retrieval"))
def test_retrieval_gives_a_result_or_a_df2kit_error(gt_table, entries) -> None:
    _, table, _ = gt_table
    try:
        r = evaluate_retrieval(table, entries)
    except DF2Error:
        return
    assert all(0.0 <= v <= 1.0 for v in r.accuracy.values())
    assert r.num_results == len(entries)


@SLOW
@given(mutated_bytes("retrieval"))
def test_retrieval_file_gives_a_result_or_a_df2kit_error(gt_table, raw: bytes) -> None:
    _, table, _ = gt_table
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.json"
        p.write_bytes(raw)
        try:
            evaluate_retrieval(table, p)
        except DF2Error:
            pass


# ---- converters --------------------------------------------------------------------------------------------
W_IMG, H_IMG = 200, 150


@st.composite
def items(draw: st.DrawFn, key: str) -> ClothingItem:
    cat = Category(draw(st.sampled_from([c.id for c in CATEGORIES])))
    x1 = draw(st.integers(0, W_IMG - 2))
    y1 = draw(st.integers(0, H_IMG - 2))
    x2 = draw(st.integers(x1 + 1, W_IMG))
    y2 = draw(st.integers(y1 + 1, H_IMG))
    lm = np.zeros((cat.num_landmarks, 3))
    for j in range(cat.num_landmarks):
        v = draw(st.sampled_from((0, 1, 2)))
        if v:
            lm[j] = (draw(st.integers(x1, x2)), draw(st.integers(y1, y2)), v)
    coord = st.floats(0, 1).map(lambda f: round(f, 2))
    polys = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(3, 7))
        pts = [(x1 + draw(coord) * (x2 - x1), y1 + draw(coord) * (y2 - y1)) for _ in range(n)]
        polys.append([round(v, 2) for p in pts for v in p])
    return ClothingItem(
        key=key, category=cat, style=draw(st.integers(0, 3)), bbox_xyxy=(x1, y1, x2, y2), landmarks=lm,
        segmentation=polys, scale=draw(st.integers(1, 3)), occlusion=draw(st.integers(1, 3)),
        zoom_in=draw(st.integers(1, 3)), viewpoint=draw(st.integers(1, 3)),
    )


@st.composite
def splits(draw: st.DrawFn) -> list[ImageAnnotation]:
    out = []
    stems = draw(st.lists(st.integers(1, 999_999), min_size=1, max_size=4, unique=True))
    for s in stems:
        n = draw(st.integers(0, 3))
        keys = draw(st.permutations([f"item{k}" for k in range(1, n + 1)]))
        its = tuple(draw(items(k)) for k in keys)
        out.append(ImageAnnotation(stem=f"{s:06d}", source=draw(st.sampled_from(("shop", "user"))),
                                   pair_id=draw(st.integers(0, 2**31)), items=its))
    return out


def _write_split(d: Path, anns: list[ImageAnnotation]) -> None:
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir()
    jpg = d.parent / "one.jpg"
    if not jpg.exists():
        Image.new("RGB", (W_IMG, H_IMG)).save(jpg)
    for a in anns:
        write_annotation(a, d / "annos" / f"{a.stem}.json")
        os.symlink(jpg, d / "image" / f"{a.stem}.jpg")


def _same_items(a: ImageAnnotation, b: ImageAnnotation) -> None:
    assert (a.stem, a.source, a.pair_id) == (b.stem, b.source, b.pair_id)
    assert [i.key for i in a.items] == [i.key for i in b.items]
    for x, y in zip(a.items, b.items):
        assert (x.category, x.style, x.scale, x.occlusion, x.zoom_in, x.viewpoint) == (
            y.category, y.style, y.scale, y.occlusion, y.zoom_in, y.viewpoint)
        assert x.bbox_xyxy == y.bbox_xyxy
        np.testing.assert_array_equal(x.landmarks, y.landmarks)
        assert len(x.segmentation) == len(y.segmentation)
        for p, q in zip(x.segmentation, y.segmentation):
            np.testing.assert_allclose(p, q, rtol=0, atol=1e-9)


@SLOW
@given(splits(), st.sampled_from(["global", "per-category"]))
def test_native_coco_native_keeps_every_item(anns: list[ImageAnnotation], keypoints: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in" / "validation"
        _write_split(src, anns)
        coco = Path(tmp) / "c.json"
        s = to_coco(src, coco, keypoints=keypoints, workers=1)
        assert s.annotations == sum(len(a.items) for a in anns) and s.skipped_by_reader == 0
        back = from_coco(coco, Path(tmp) / "out" / "validation")
        assert back.items == s.annotations and back.images == len(anns)
        for a in anns:
            got = read_annotation(Path(tmp) / "out" / "validation" / "annos" / f"{a.stem}.json")
            want = read_annotation(src / "annos" / f"{a.stem}.json")
            if s.items_repaired:  # a degenerate polygon was repaired: items are kept, polygons may differ
                assert [i.key for i in got.items] == [i.key for i in want.items]
            else:
                _same_items(want, got)


@st.composite
def mutated_coco(draw: st.DrawFn, base: dict) -> bytes:
    d = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(["images", "annotations", "categories", "top"]))
        if section == "top":
            key = draw(st.sampled_from(["images", "annotations", "categories", "info"]))
            if draw(st.booleans()):
                d.pop(key, None)
            else:
                d[key] = draw(json_value)
            continue
        lst = d.get(section)
        if not isinstance(lst, list) or not lst:
            continue
        i = draw(st.integers(0, len(lst) - 1))
        if not isinstance(lst[i], dict) or not lst[i]:
            lst[i] = draw(json_value)
            continue
        key = draw(st.sampled_from(sorted(lst[i])))
        choice = draw(st.integers(0, 3))
        if choice == 0:
            del lst[i][key]
        elif choice == 1 and isinstance(lst[i][key], list) and lst[i][key]:
            j = draw(st.integers(0, len(lst[i][key]) - 1))
            lst[i][key][j] = draw(json_value)
        elif choice == 2 and key == "file_name":
            lst[i][key] = draw(st.sampled_from(["../../x.jpg", "/tmp/x.jpg", "..", "a/000001.jpg", "000001.jpg\x00",
                                                 "C:\\x.jpg", "", "000001"]))
        else:
            lst[i][key] = draw(json_value)
    raw = json.dumps(d, allow_nan=True).encode()
    if draw(st.integers(0, 4)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@pytest.fixture(scope="module")
def coco_base(tmp_path_factory: pytest.TempPathFactory) -> dict:
    import random

    from tests._factory import random_annotation

    tmp = tmp_path_factory.mktemp("cocobase")
    rng = random.Random(3)
    anns = [random_annotation(rng, f"{i:06d}", source=("user", "shop")[i % 2], pair_id=i // 2, w=W_IMG, h=H_IMG)
            for i in range(1, 4)]
    _write_split(tmp / "validation", anns)
    to_coco(tmp / "validation", tmp / "c.json", workers=1)
    return json.loads((tmp / "c.json").read_bytes())


@SLOW
@given(data=st.data())
def test_from_coco_gives_native_files_or_a_df2kit_error_and_stays_inside(coco_base: dict, data) -> None:
    raw = data.draw(mutated_coco(coco_base))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "c.json").write_bytes(raw)
        (t / "pics").mkdir()
        for im in coco_base["images"]:
            Image.new("RGB", (4, 4)).save(t / "pics" / im["file_name"])
        before = sorted(str(p) for p in t.rglob("*"))
        try:
            s = from_coco(t / "c.json", t / "out" / "split", source="user", images=t / "pics")
        except DF2Error:
            after = sorted(str(p) for p in t.rglob("*"))
            # nothing half-written: at most the (empty) output folder
            assert [p for p in after if p not in before and not p.startswith(str(t / "out"))] == []
            assert not (t / "out" / "split" / "annos").exists()
            return
        written = [p for p in t.rglob("*") if str(p) not in before]
        assert all(str(p).startswith(str(t / "out")) for p in written)
        assert len(list((t / "out" / "split" / "annos").iterdir())) == s.images


@SLOW
@given(st.lists(st.one_of(st.binary(max_size=40), mutated_bytes("detection")), min_size=1, max_size=3),
       st.sampled_from(["detect", "segment", "pose"]))
def test_converters_on_broken_native_files(raws: list[bytes], task: str) -> None:
    """Any annotation bytes: to_coco and to_yolo skip and count what is broken, or raise a df2kit error."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "validation"
        (d / "annos").mkdir(parents=True)
        (d / "image").mkdir()
        (d / "annos" / "000099.json").write_bytes((RESULTS / "gt" / "annos" / "000001.json").read_bytes())
        Image.new("RGB", (256, 192)).save(d / "image" / "000099.jpg")
        for k, raw in enumerate(raws, 1):
            (d / "annos" / f"{k:06d}.json").write_bytes(raw)
            os.symlink(d / "image" / "000099.jpg", d / "image" / f"{k:06d}.jpg")
        try:
            c = to_coco(d, Path(tmp) / "c.json", workers=1)
            y = to_yolo(d, Path(tmp) / "y", task=task, workers=1)
        except DF2Error:
            return
        assert c.skipped_by_reader == y.skipped_by_reader >= len(raws) - 0  # none of these bytes is a valid file
        assert c.annotations == y.labels == 2
