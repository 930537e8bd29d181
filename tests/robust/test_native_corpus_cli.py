"""The broken native files of tests/fixtures/native through the commands that read a split, in a split with
two good files: `df2kit validate` (exit 1 on an error, exactly one error line naming file, item and field,
every file counted) and `df2kit convert --to coco` (lenient: the rest is converted, the skip is counted and
said in one warning line). Also the split-level defects git cannot hold: a missing annos/ folder and
symlink loops."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from df2kit.cli.main import main
from df2kit.io import parse_annotation

from .conftest import NATIVE

EXPECTED: dict[str, list] = json.loads((NATIVE / "expected.json").read_text())
DEFECTS = sorted(n for n, e in EXPECTED.items() if e)


def _split(root: Path, defect: str | None) -> Path:
    d = root / "validation"
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir()
    good = json.loads((NATIVE / "good.json").read_bytes())
    (d / "annos" / "000001.json").write_bytes((NATIVE / "good.json").read_bytes())
    (d / "annos" / "000002.json").write_text(json.dumps(dict(good, source="shop")))
    stems = ["000001", "000002"]
    if defect is not None:
        shutil.copy(NATIVE / f"{defect}.json", d / "annos" / "000003.json")
        stems.append("000003")
    for s in stems:
        Image.new("RGB", (256, 192), (90, 120, 150)).save(d / "image" / f"{s}.jpg")
    return d


def _where(exp: list) -> str:
    _, _, item, field = exp
    loc = ".".join(p for p in (item, field) if p)
    return "000003.json" + (f": {loc}:" if loc else ":")


@pytest.mark.parametrize("name", DEFECTS)
def test_validate_one_line_per_defect_and_everything_counted(name: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sev, code, item, field = EXPECTED[name]
    d = _split(tmp_path, name)
    rc = main(["-q", "validate", str(d), "--no-cache"])
    out = capsys.readouterr().out
    assert rc == (1 if sev == "error" else 0)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith(f"{sev}: ")]
    assert len(lines) == 1, out
    assert _where(EXPECTED[name]) in lines[0]
    rc = main(["-q", "validate", str(d), "--no-cache", "--json", "--examples", "-1"])
    rep = json.loads(capsys.readouterr().out)
    assert rep["annotation_files"] == 3 and rep["images"] == 3
    kinds = {k["code"]: k for k in rep["kinds"]}
    assert kinds[code]["count"] == 1 and kinds[code]["severity"] == sev
    ex = kinds[code]["examples"][0]
    assert ex["path"].endswith("000003.json") and (ex["item"], ex["field"]) == (item, field)
    # the two good files hold 4 items; the defect file adds what the lenient reader keeps of it
    record, _ = parse_annotation((NATIVE / f"{name}.json").read_bytes(), stem="000003", strict=False)
    assert rep["items"] == 4 + (len(record.items) if record is not None else 0)


@pytest.mark.parametrize("name", DEFECTS)
def test_convert_is_lenient_and_counts_the_skip(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sev = EXPECTED[name][0]
    d = _split(tmp_path, name)
    out = tmp_path / "coco.json"
    rc = main(["-q", "convert", str(d), "--to", "coco", str(out), "--json", "--workers", "1"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    s = json.loads(cap.out)
    record, _ = parse_annotation((NATIVE / f"{name}.json").read_bytes(), stem="000003", strict=False)
    kept = len(record.items) if record is not None else 0
    assert s["images"] == 2 + (record is not None)
    assert s["annotations"] == 4 + kept
    coco = json.loads(out.read_bytes())
    assert len(coco["annotations"]) == s["annotations"] and len(coco["images"]) == s["images"]
    if sev == "error":
        assert s["skipped_by_reader"] == 1
        lines = cap.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("df2kit: warning: validation: skipped 1 broken"), cap.err
        assert _where(EXPECTED[name]) in lines[0]
    else:
        assert s["skipped_by_reader"] == 0 and "Traceback" not in cap.err


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("df2kit: error: ") and "Traceback" not in err, err
    return lines[0]


def test_missing_annos_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _split(tmp_path, None)
    shutil.rmtree(d / "annos")
    res = tmp_path / "res.json"
    res.write_text("[]")
    assert main(["-q", "validate", str(d)]) == 1
    out = capsys.readouterr().out
    assert f"error: {d / 'annos'}: no annos/ folder" in out
    for argv in (["convert", str(d), "--to", "coco", str(tmp_path / "c.json")],
                 ["convert", str(d), "--to", "yolo", str(tmp_path / "y")],
                 ["stats", str(d)],
                 ["evaluate", "--task", "detection", str(d), str(res)]):
        assert main(["-q", *argv]) == 1, argv
        assert _one_error_line(capsys.readouterr().err) == f"df2kit: error: {d}: no annos/ folder"
    assert not (tmp_path / "c.json").exists()


def test_symlink_loops_in_a_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _split(tmp_path, None)
    os.symlink("000003.json", d / "annos" / "000003.json")  # a file that points at itself
    os.symlink(".", d / "annos" / "loop")  # a folder that contains itself
    os.symlink("../image", d / "image" / "again")
    os.symlink("000004.jpg", d / "image" / "000004.jpg")
    loop_file = str(d / "annos" / "000003.json")
    # validate: lenient, every problem one line, the good files counted
    assert main(["-q", "validate", str(d), "--no-cache", "--json", "--examples", "-1"]) == 1
    rep = json.loads(capsys.readouterr().out)
    assert rep["items"] == 4
    paths = [ex["path"] for k in rep["kinds"] if k["severity"] == "error" for ex in k["examples"]]
    assert loop_file in paths and str(d / "image" / "000004.jpg") in paths
    # convert: skips the looping file, converts the rest
    out = tmp_path / "c.json"
    assert main(["-q", "convert", str(d), "--to", "coco", str(out), "--json", "--workers", "1"]) == 0
    cap = capsys.readouterr()
    s = json.loads(cap.out)
    assert (s["images"], s["annotations"], s["skipped_by_reader"]) == (2, 4, 1)
    assert loop_file in _one_line(cap.err)
    # evaluate reads the ground truth strictly: one line naming the file
    res = tmp_path / "res.json"
    res.write_text("[]")
    assert main(["-q", "evaluate", "--task", "detection", str(d), str(res)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"df2kit: error: {loop_file}: ") and "symbolic links" in line


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
