"""Property-based tests of the native readers: any bytes give a record or a df2kit error, never another
exception, and the fast scanner always agrees with the authoritative checker."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import df2kit.io.scan as scan_mod
from df2kit.errors import DF2Error
from df2kit.io import parse_annotation
from df2kit.io.scan import _parse_files, _sorted_by_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "native"
GOOD = json.loads((FIXTURES / "good.json").read_text())

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(10**300, 10**320), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)),
    max_leaves=30,
)
FIELDS = ["source", "pair_id", "item1", "item2"]
ITEM_FIELDS = list(GOOD["item1"])


@st.composite
def mutated_good(draw: st.DrawFn) -> bytes:
    """The good file with a few fields replaced by arbitrary JSON values or removed."""
    d = json.loads(json.dumps(GOOD))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "item"]))
        if where == "top":
            key = draw(st.sampled_from(FIELDS + ["item3"]))
            if draw(st.booleans()):
                d.pop(key, None)
            else:
                d[key] = draw(json_value)
        else:
            item = draw(st.sampled_from(["item1", "item2"]))
            if not isinstance(d.get(item), dict):
                continue
            key = draw(st.sampled_from(ITEM_FIELDS))
            choice = draw(st.integers(0, 3))
            if choice == 0:
                d[item].pop(key, None)
            elif choice == 1 and isinstance(d[item].get(key), list) and d[item][key]:
                lst = d[item][key]
                i = draw(st.integers(0, len(lst) - 1))
                lst[i] = draw(json_value)
            else:
                d[item][key] = draw(json_value)
    return json.dumps(d, allow_nan=True).encode()


@st.composite
def byte_mutation(draw: st.DrawFn) -> bytes:
    raw = bytearray((FIXTURES / "good.json").read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, len(raw) - 1))
        if op == 0:
            raw[i] = draw(st.integers(0, 255))
        elif op == 1:
            del raw[i]
        else:
            raw[i:i] = draw(st.binary(min_size=1, max_size=4))
    return bytes(raw)


any_input = st.one_of(mutated_good(), byte_mutation(), st.binary(max_size=64), json_value.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_input)
def test_reader_gives_a_record_or_a_df2kit_error(raw: bytes) -> None:
    try:
        record, issues = parse_annotation(raw, stem="000001", strict=False)
    except DF2Error:  # pragma: no cover - lenient mode should not raise at all
        pytest.fail("lenient parse raised")
    if record is None:
        assert any(i.severity == "error" for i in issues)
    try:
        parse_annotation(raw, stem="000001", strict=True)
    except DF2Error:
        assert any(i.severity == "error" for i in issues)


PARSERS = ["simdjson", "orjson"] if scan_mod._simdjson is not None else ["orjson"]


@pytest.mark.parametrize("parser", PARSERS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(any_input, min_size=1, max_size=4))
def test_fast_scanner_agrees_with_checker(parser: str, raws: list[bytes]) -> None:
    """Both fast paths (simdjson, and orjson where simdjson is missing) give the checker's issues, items,
    scalars and numbers, bit for bit."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        names = []
        for k, raw in enumerate(raws):
            name = f"{k + 1:06d}.json"
            (d / name).write_bytes(raw)
            names.append(name)
        shutil.copy(FIXTURES / "good.json", d / "000099.json")
        names.append("000099.json")
        saved = scan_mod._simdjson
        try:
            if parser == "orjson":
                scan_mod._simdjson = None
            arrays = _sorted_by_id(_parse_files(str(d), names)[0])
        finally:
            scan_mod._simdjson = saved
        expect_issues = []
        items = []
        for name in names:
            rec, issues = parse_annotation((d / name).read_bytes(), stem=name[:-5], path=str(d / name), strict=False)
            expect_issues += issues
            items += list(rec.items) if rec is not None else []
        assert sorted(map(str, arrays.issues)) == sorted(map(str, expect_issues))
        assert len(arrays.category_id) == len(items)
        assert arrays.item_key.tolist() == [it.key for it in items]
        assert arrays.category_id.tolist() == [int(it.category) for it in items]
        assert arrays.style.tolist() == [it.style for it in items]
        assert arrays.attrs.tolist() == [[it.scale, it.occlusion, it.zoom_in, it.viewpoint] for it in items]
        bits = lambda a: np.asarray(a, dtype=np.float64).reshape(-1).view(np.int64).tolist()
        assert bits(arrays.bbox) == bits([it.bbox_xyxy for it in items])
        assert bits(arrays.landmarks) == bits(np.concatenate([it.landmarks.reshape(-1) for it in items] or [[]]))
        polys = [p for it in items for p in it.segmentation]
        assert arrays.point_count.tolist() == [len(p) // 2 if p.ndim == 1 else len(p) for p in polys]
        assert bits(arrays.points) == bits(np.concatenate([p.reshape(-1) for p in polys] or [[]]))
