"""The df2kit command in-process: help, version, exit codes, JSON shapes, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from df2kit import __version__
from df2kit.cli.main import COMMANDS, build_parser, main

from ._factory import make_split

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "native"


def test_help_lists_every_command_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name}" in out
    assert "df2kit validate ~/data/DeepFashion2" in out


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_help_has_examples(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"df2kit {name}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"df2kit {__version__}"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["validate"])
    assert e.value.code == 2
    assert main([]) == 2


def test_validate_and_stats_on_a_clean_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_split(tmp_path, 12, seed=2)
    assert main(["-q", "validate", str(tmp_path), "--split", "validation"]) == 0
    assert "annotation files" in capsys.readouterr().out
    assert main(["-q", "validate", str(tmp_path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"split_dir", "ok", "annotation_files", "images", "items", "errors", "warnings", "kinds"}
    assert d["ok"] is True and d["images"] == 12
    assert main(["-q", "stats", str(tmp_path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["images"] == 12 and sum(s["items_per_category"].values()) == s["items"]


def test_validate_exit_1_with_file_item_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = make_split(tmp_path, 4, seed=1)
    shutil.copy(FIXTURES / "category_name_mismatch.json", d / "annos" / "000002.json")
    assert main(["-q", "validate", str(d)]) == 1
    out = capsys.readouterr().out
    assert "000002.json: item1.category_name: category_id 7 is 'shorts'" in out
    assert main(["-q", "validate", str(d), "--json", "--examples", "-1"]) == 1
    d_json = json.loads(capsys.readouterr().out)
    kind = next(k for k in d_json["kinds"] if k["code"] == "category-mismatch")
    assert kind["examples"][0]["item"] == "item1" and kind["examples"][0]["field"] == "category_name"


@pytest.mark.parametrize(
    "argv_tail, msg",
    [
        (["no/such/folder"], "no such folder"),
        (["{file}"], "expected a folder"),
        (["{tmp}"], "expected a DeepFashion2 split folder"),
    ],
)
def test_bad_input_is_one_line_no_traceback(argv_tail, msg, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    args = [a.format(file=f, tmp=tmp_path) for a in argv_tail]
    for cmd in ("validate", "stats"):
        assert main(["-q", cmd, *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("df2kit: error: ") and msg in err
        assert "Traceback" not in err


def test_python_dash_m(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "df2kit", "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == f"df2kit {__version__}"


def test_parser_builds_without_heavy_imports() -> None:
    code = (
        "import sys; from df2kit.cli.main import build_parser; build_parser(); "
        "print(','.join(m for m in ('torch', 'torchvision', 'matplotlib', 'cv2') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""
    assert build_parser().prog == "df2kit"
