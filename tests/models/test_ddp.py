"""Multi-process training through PyTorch's own launcher: two CPU processes (gloo) share the batches, keep
identical weights, and only process 0 writes the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from df2kit.engine import read_summary

from .conftest import TINY

pytestmark = pytest.mark.model


def _flags(over: dict) -> list[str]:
    out = []
    for k, v in over.items():
        name = k.split(".", 1)[-1].replace("_", "-")
        if k.startswith("loss."):
            name = "loss-" + name
        out += [f"--{name}", ",".join(map(str, v)) if isinstance(v, tuple) else str(v)]
    return out


def test_two_cpu_processes_train_in_sync(synth_root, tmp_path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "df2kit", "-q", "train", str(synth_root), "--out", str(run), "--preset", "small",
        *_flags(TINY), "--epochs", "1", "--max-train-images", "16", "--no-evaluate", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = read_summary(run)
    assert summary.world_size == 2
    assert summary.ddp_max_param_diff == 0.0  # DDP averaged the gradients: both processes hold the same weights
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    epoch = [r for r in lines if r["type"] == "epoch"]
    assert len(epoch) == 1  # written once, by process 0
    # each process took its own half of the couples: 2 processes x batches x 2 pairs x 2 images
    steps = summary.steps
    assert epoch[0]["images"] == summary.images_seen == 2 * steps * 2 * 2
    assert done.stdout.count("df2kit train") == 1  # one summary printed
    ck = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ck["config"]["model"]["min_size"] == 96 and ck["epoch"] == 1


def test_processes_flag_starts_two_cpu_processes_itself(synth_root, tmp_path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "df2kit", "-q", "train", str(synth_root), "--out", str(run), "--preset", "small",
        *_flags(TINY), "--epochs", "1", "--max-train-images", "16", "--no-evaluate", "--device", "cpu",
        "--processes", "2", "--pairs-per-batch", "1",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = read_summary(run)
    assert summary.world_size == 2 and summary.ddp_max_param_diff == 0.0
    assert summary.images_seen == 2 * summary.steps * 1 * 2  # 2 processes x steps x 1 pair x 2 images
    assert json.loads((run / "config.json").read_text())["processes"] == 2  # as given; each process ran one
    assert done.stdout.count("df2kit train") == 1


def test_processes_bad_input_fails_before_any_process_starts(tmp_path, monkeypatch) -> None:
    from df2kit.engine import train
    from df2kit.errors import ConfigError, DF2Error

    from .conftest import tiny_config

    cfg = tiny_config(tmp_path / "nowhere", tmp_path / "run", processes=2, device="cpu")
    with pytest.raises(DF2Error, match="nowhere"):
        train(cfg)
    assert not (tmp_path / "run").exists()
    monkeypatch.setenv("WORLD_SIZE", "2")  # under torchrun, which starts the processes itself
    with pytest.raises(ConfigError, match="processes 1 under torchrun"):
        train(cfg)


def test_a_failing_process_is_one_error_naming_it(synth_root, tmp_path) -> None:
    from df2kit.engine import train
    from df2kit.engine.trainer import TrainingError

    from .conftest import tiny_config

    fake = tmp_path / "fake.pt"
    fake.write_bytes(b"not a checkpoint")  # read by each process, after the parent's checks of data and folder
    cfg = tiny_config(synth_root, tmp_path / "run", processes=2, pairs_per_batch=1, device="cpu", weights=str(fake))
    with pytest.raises(TrainingError, match=r"^training process [01] of 2 failed: \w+Error: .*fake\.pt") as e:
        train(cfg)
    assert "\n" not in str(e.value) and "df2kit.errors." not in str(e.value)
    assert not (tmp_path / "run").exists()  # the processes check the weights before they make the run folder
