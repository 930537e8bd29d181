"""The in-memory API and the synth command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from df2kit.cli.main import main
from df2kit.errors import DF2Error
from df2kit.layout import Category
from df2kit.synth import generate_image, synthesize


@pytest.mark.parametrize("source", ["shop", "user"])
def test_generate_image_is_deterministic_and_honours_its_arguments(source: str) -> None:
    img, ann = generate_image(seed=5, source=source, category=Category.SKIRT, size=200, pair_id=9, stem="000042")
    img2, ann2 = generate_image(seed=5, source=source, category=Category.SKIRT, size=200, pair_id=9, stem="000042")
    assert np.array_equal(np.asarray(img), np.asarray(img2)) and ann.to_dict() == ann2.to_dict()
    assert max(img.size) == 200 and (ann.width, ann.height) == img.size
    assert ann.source == source and ann.pair_id == 9 and ann.stem == "000042"
    assert any(it.category == Category.SKIRT and it.style == 1 for it in ann.items)
    other, _ = generate_image(seed=6, source=source, category=Category.SKIRT, size=200)
    assert not np.array_equal(np.asarray(img), np.asarray(other))


def test_bad_arguments_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        generate_image(source="catalogue")
    with pytest.raises(DF2Error, match="validation"):
        synthesize(tmp_path, validation=-1)
    with pytest.raises(DF2Error, match="size"):
        synthesize(tmp_path, validation=1, size=8)
    synthesize(tmp_path, validation=2, size=48, images=False, workers=1)
    with pytest.raises(DF2Error, match="already holds files"):
        synthesize(tmp_path, validation=2, size=48, workers=1)
    synthesize(tmp_path, train=2, size=48, images=False, workers=1)  # another split of the same root is fine
    assert len(list((tmp_path / "train" / "annos").iterdir())) == 2


def test_synth_command_writes_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "root"
    assert main(["-q", "synth", str(out), "--validation", "6", "--test", "2", "--size", "64", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "validation" in text and "images/s" in text
    assert len(list((out / "validation" / "annos").glob("*.json"))) == 6
    assert len(list((out / "test" / "image").glob("*.jpg"))) == 2
    assert main(["-q", "synth", str(tmp_path / "j"), "--train", "3", "--no-images", "--json", "--workers", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"][0]["annotations"] == 3 and summary["images_written"] is False
    assert not (tmp_path / "j" / "train" / "image").exists()


def test_synth_command_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(tmp_path / "x")]) == 2
    assert "nothing to do" in capsys.readouterr().out
    for bad in (["--size", "10"], ["--train", "-3"], ["--train", "many"]):
        with pytest.raises(SystemExit) as e:
            main(["synth", str(tmp_path / "x"), *bad])
        assert e.value.code == 2
