"""Every field rule, one hand-made broken file per defect (tests/fixtures/native), through all three readers:
the strict single-file reader, the lenient single-file reader, and the fast split scanner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from df2kit.errors import AnnotationError
from df2kit.io import parse_annotation, read_annotation, scan_split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "native"
EXPECTED: dict[str, list] = json.loads((FIXTURES / "expected.json").read_text())
CASES = sorted(EXPECTED)


def _issue_matches(issue, exp) -> bool:
    sev, code, item, field = exp
    return issue.severity == sev and issue.code == code and issue.item == item and issue.field == field


@pytest.mark.parametrize("name", CASES)
def test_strict_reader_names_file_item_and_field(name: str, tmp_path: Path) -> None:
    path = tmp_path / "000042.json"  # image ids come from digit stems
    shutil.copy(FIXTURES / f"{name}.json", path)
    exp = EXPECTED[name]
    if not exp or exp[0] == "warning":
        ann = read_annotation(path)  # warnings never stop a strict read
        assert ann.image_id == 42
        assert len(ann.items) == (0 if name == "no_items" else 2)
        return
    with pytest.raises(AnnotationError) as ei:
        read_annotation(path)
    err = ei.value
    # the error carries the location of this defect and its message names file, item and field
    assert err.path == str(path)
    assert (err.item, err.field) == (exp[2], exp[3])
    text = str(err)
    assert text.startswith(str(path))
    for part in (exp[2], exp[3]):
        if part:
            assert part in text


@pytest.mark.parametrize("name", CASES)
def test_lenient_reader_reports_and_keeps_the_rest(name: str) -> None:
    raw = (FIXTURES / f"{name}.json").read_bytes()
    record, issues = parse_annotation(raw, stem="000001", path=name, strict=False)
    exp = EXPECTED[name]
    if not exp:
        assert issues == [] and record is not None and len(record.items) == 2
        return
    assert any(_issue_matches(i, exp) for i in issues), issues
    sev, code, item, _ = exp
    if sev == "warning":
        assert record is not None and not [i for i in issues if i.severity == "error"]
    elif item is not None and code != "duplicate-key":
        # an item-level error skips only that item: the other good item survives
        assert record is not None
        keys = [it.key for it in record.items]
        assert item not in keys and ("item2" in keys or "item1" in keys)


@pytest.mark.parametrize("name", CASES)
def test_fast_scanner_agrees_with_the_checker(name: str, tmp_path: Path) -> None:
    split = tmp_path / "validation" / "annos"
    split.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{name}.json", split / "000003.json")
    shutil.copy(FIXTURES / "good.json", split / "000001.json")
    table = scan_split(tmp_path, "validation", workers=1, cache=False)
    raw = (FIXTURES / f"{name}.json").read_bytes()
    record, issues = parse_annotation(raw, stem="000003", path=str(split / "000003.json"), strict=False)
    assert list(table.issues) == issues
    n_good = 1 + (record is not None)
    assert len(table) == n_good
    if record is not None:
        assert table[1] == record or table[1].items == record.items
    exp = EXPECTED[name]
    if exp and exp[0] == "error":
        with pytest.raises(AnnotationError):
            scan_split(tmp_path, "validation", workers=1, cache=False, strict=True)


def test_records_compare_equal_after_scan(tmp_path: Path) -> None:
    split = tmp_path / "v" / "annos"
    split.mkdir(parents=True)
    shutil.copy(FIXTURES / "good.json", split / "000009.json")
    t = scan_split(tmp_path / "v", None, cache=False, workers=1)
    direct = read_annotation(split / "000009.json")
    assert t[0].items == direct.items
    assert [it.key for it in direct.items] == ["item2", "item1"]  # file order is kept
