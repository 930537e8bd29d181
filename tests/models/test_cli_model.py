"""The train and predict commands: help without torch, settings errors as usage errors (exit 2), a missing
model stack as one line, and a whole run from the command line that learns (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from df2kit.cli.main import main

from .conftest import TINY

pytestmark = pytest.mark.model


def _run_py(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def test_help_needs_no_torch_and_says_how_to_get_weights() -> None:
    done = _run_py(
        "import sys\n"
        "from df2kit.cli.main import main\n"
        "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "TORCH False" in out
    assert "--backbone-weights" in out and "resnet50-0676ba61.pth" in out
    assert "maskrcnn_resnet50_fpn_coco" in out and "torchrun --nproc_per_node" in out
    assert "--loss-landmark" in out and "--min-size" in out and "(paper: 12; small: 8)" in out


def test_missing_torch_is_one_line(tmp_path) -> None:
    done = _run_py(
        "import sys\nsys.modules['torch'] = None\n"
        "from df2kit.cli.main import main\n"
        f"sys.exit(main(['train', {str(tmp_path)!r}, '--out', {str(tmp_path / 'r')!r}]))\n"
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "needs torch and torchvision" in done.stderr and "pip install 'df2kit[model]'" in done.stderr


def test_bad_settings_exit_2(tmp_path, capsys) -> None:
    (tmp_path / "c.toml").write_text("[model]\nbackbone = 'vgg16'\n")
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert "backbone: expected one of" in err and err.count("\n") == 1
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--epochs", "zero"]) == 2
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--config", str(tmp_path / "none.yaml")]) == 2


@pytest.mark.parametrize(("flag", "value", "least"), [("--threads", "-1", 0), ("--batch-size", "0", 1), ("--top-k", "x", 1)])
def test_bad_predict_numbers_are_usage_errors(tmp_path, capsys, flag, value, least) -> None:
    with pytest.raises(SystemExit) as e:
        main(["predict", str(tmp_path / "ck.pt"), str(tmp_path), "--out", str(tmp_path / "o"), flag, value])
    assert e.value.code == 2
    assert f"argument {flag}: expected a whole number >= {least}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_input_leaves_no_run_folder(tmp_path, synth_root, capsys) -> None:
    """A missing dataset or weights file is one error line, and no half-made run folder is left behind."""
    assert main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r1")]) == 1
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "r1").exists()
    flags = ["--preset", "small", "--epochs", "1", *_flags(TINY)]
    assert main(["train", str(synth_root), "--out", str(tmp_path / "r2"), "--weights", str(tmp_path / "w.pth"), *flags]) == 1
    assert "w.pth" in capsys.readouterr().err and not (tmp_path / "r2").exists()


@pytest.mark.parametrize("content", [b"garbage\n", b"PK\x03\x04 truncated zip"])
def test_a_damaged_checkpoint_or_weights_file_is_one_line(tmp_path, synth_root, capsys, content) -> None:
    pytest.importorskip("torch")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    assert main(["predict", str(bad), str(synth_root / "validation"), "--out", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.pt" in err[0] and "cannot read checkpoint" in err[0]
    assert not (tmp_path / "p").exists()
    flags = ["--preset", "small", "--epochs", "1", *_flags(TINY)]
    assert main(["train", str(synth_root), "--out", str(tmp_path / "r"), "--weights", str(bad), *flags]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read weights" in err[0] and not (tmp_path / "r").exists()


def _flags(over: dict) -> list[str]:
    out = []
    for k, v in over.items():
        name = k.split(".", 1)[-1].replace("_", "-")
        out += [f"--{name}", ",".join(map(str, v)) if isinstance(v, tuple) else str(v)]
    return out


@pytest.mark.slow
def test_a_short_run_learns(tmp_path) -> None:
    """Train the small model from scratch for about two minutes of one core, from the command line, and score
    box AP50 on the synthetic validation split. The garments are the simple hand-drawn ones of ``_toy`` (three
    categories): df2kit.synth's scenes need far longer from scratch (see the README's model section)."""
    pytest.importorskip("torch")
    from df2kit.evaluation import evaluate

    from ._toy import make_toy_split

    root = tmp_path / "toy"
    make_toy_split(root, "train", 50, seed=1)
    make_toy_split(root, "validation", 12, seed=2, first_id=1000)
    run = tmp_path / "run"
    over = {**TINY, "model.min_size": 128, "model.max_size": 128, "log_every": 10}
    code = main(["-q", "train", str(root), "--out", str(run), "--preset", "small", *_flags(over), "--epochs", "5"])
    assert code == 0
    summary = json.loads((run / "summary.json").read_text())
    scores = summary["evaluation"]  # the end-of-run evaluation, with df2kit's scorers
    assert set(scores) == {"detection", "landmarks", "segmentation", "retrieval"}
    assert scores["retrieval"]["top20"] > 0
    ap50 = scores["detection"]["AP50"]
    assert ap50 >= 0.4, (ap50, summary["final_losses"])  # untrained: 0.0; this run: 0.83 (0.91 with the 4-conv box head on 64 RoIs and lr 0.002, 0.73 also without the semantic branch)
    assert ap50 == evaluate("detection", root / "validation", run / "eval" / "results.json").ap50
    assert json.loads((run / "eval" / "detection.json").read_text())["ap50"] == ap50
    assert os.path.exists(run / "eval" / "retrieval_results.json")
