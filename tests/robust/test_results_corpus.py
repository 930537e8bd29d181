"""The broken results files of tests/fixtures/results through `df2kit evaluate`: exit code 1 and exactly one
error line naming the file, the entry and the field (the good file of each task scores, exit 0).

`df2kit evaluate` has no lenient mode: a results file is the user's own output, and scoring what is left of it
would print a wrong AP, so the first problem stops it (the library's ResultsError carries the same place).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from df2kit.cli.main import main
from df2kit.errors import ResultsError
from df2kit.evaluation import evaluate

from .conftest import RESULTS

EXPECTED: dict[str, list] = json.loads((RESULTS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_evaluate_names_file_entry_and_field(name: str, results_gt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task, code, item, field, piece = EXPECTED[name]
    path = RESULTS / f"{name}.json"
    rc = main(["-q", "evaluate", "--task", task, str(results_gt), str(path), "--json"])
    out, err = capsys.readouterr()
    assert rc == code, err
    if code == 0:
        assert err == ""
        d = json.loads(out)
        assert (d["ap"] if task != "retrieval" else d["top1"]) is not None
        return
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    where = ".".join(p for p in (item, field) if p)
    head = f"df2kit: error: {path}: " + (f"{where}: " if where else "")
    assert lines[0].startswith(head), lines[0]
    assert piece in lines[0]


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[1] == 1))
def test_library_error_carries_the_place(name: str, results_gt: Path) -> None:
    task, _, item, field, piece = EXPECTED[name]
    path = RESULTS / f"{name}.json"
    with pytest.raises(ResultsError) as ei:
        evaluate(task, results_gt, path)
    e = ei.value
    assert (e.path, e.item, e.field) == (str(path), item, field)
    assert piece in e.message
