"""Names from input files never write outside the output folder: COCO file names (convert --from coco),
image ids in results files (show), and split names that are not names (``..``). The HTML report's escaping
is tested in tests/viz/test_html.py; from_coco's name rule itself in tests/formats/test_coco.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from df2kit.cli.main import main
from df2kit.formats.coco import to_coco

from .conftest import RESULTS


@pytest.fixture()
def split(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "validation"
    shutil.copytree(RESULTS / "gt" / "annos", d / "annos")
    (d / "image").mkdir()
    for s in ("000001", "000002"):
        Image.new("RGB", (256, 192), (90, 120, 150)).save(d / "image" / f"{s}.jpg")
    return d


def _tree(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../000001.jpg", "/tmp/000001.jpg", "..", "x/../000001.jpg"])
def test_convert_from_coco_refuses_names_that_leave_the_folder(split: Path, tmp_path: Path, name: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    to_coco(split, tmp_path / "c.json", workers=1)
    c = json.loads((tmp_path / "c.json").read_bytes())
    c["images"][0]["file_name"] = name
    (tmp_path / "c.json").write_text(json.dumps(c))
    before = _tree(tmp_path.parent)
    rc = main(["-q", "convert", "--from", "coco", str(tmp_path / "c.json"), str(tmp_path / "out" / "validation"),
               "--images", str(split / "image")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert err.startswith(f"df2kit: error: {tmp_path / 'c.json'}: images[0].file_name: ")
    new = _tree(tmp_path.parent) - before
    assert all(p.startswith(str(tmp_path / "out")) for p in new), new
    assert not any(Path(p).is_file() for p in new)


BAD_IDS = ["../../x", "000001/../../x", "/tmp/x", -1, 1e300, 2**70, 1.5, None]


@pytest.mark.parametrize("image_id", BAD_IDS, ids=repr)
def test_show_never_writes_outside_out(split: Path, tmp_path: Path, image_id, capsys: pytest.CaptureFixture[str]) -> None:
    res = json.loads((RESULTS / "det_good.json").read_bytes())
    res[1]["image_id"] = image_id
    p = tmp_path / "res.json"
    p.write_text(json.dumps(res))
    out = tmp_path / "pics"
    before = _tree(tmp_path)
    rc = main(["-q", "show", str(p), "--images", str(split), "--out", str(out), "--format", "png"])
    cap = capsys.readouterr()
    new = _tree(tmp_path) - before
    assert all(x.startswith(str(out)) for x in new), new
    assert "Traceback" not in cap.err
    if rc == 0:  # a number that is an image id of the split is drawn under its six-digit name
        assert all(Path(x).parent == out and Path(x).name[:6].isdigit() for x in new)
    else:
        assert rc == 1 and cap.err.count("\n") == 1 and cap.err.startswith("df2kit: error: ")
        # the entry is refused (a name that is not a number) or its image is not found (a number)
        assert f"{p}: [1].image_id" in cap.err or "no annotation with id" in cap.err, cap.err


def test_show_refuses_ids_that_are_not_numbers(split: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "show", str(split), "../../x", "--out", str(tmp_path / "pics")]) == 2
    assert "expected image ids made of digits" in capsys.readouterr().err
    assert not (tmp_path / "pics").exists()


def test_a_split_given_as_dotdot_names_its_folders_by_the_real_name(split: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "yolo"
    assert main(["-q", "convert", str(split / "annos" / ".."), "--to", "yolo", str(out)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["validation"]
    assert len(list((out / "labels" / "validation").glob("*.txt"))) == 2
    assert "validation:" in (out / "dataset.yaml").read_text() or "val:" in (out / "dataset.yaml").read_text()
