"""Training: settings from presets, files and flags; a few steps lower the loss; a run folder holds what it
promises; stopping and resuming gives exactly the state of an uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from df2kit.engine import build_config, read_summary, train
from df2kit.engine.config import LossWeights, TrainConfig
from df2kit.errors import ConfigError

from .conftest import tiny_config

pytestmark = pytest.mark.model


def test_config_from_preset_file_and_flags(tmp_path) -> None:
    (tmp_path / "run.toml").write_text(
        'preset = "small"\nepochs = 5\nlr = 0.01\n[model]\nmin_size = 256\nanchor_sizes = [8, 16, 32, 64]\n[loss]\nlandmark = 0.5\n'
    )
    (tmp_path / "run.yaml").write_text("preset: small\nepochs: 5\nlr: 0.01\nmodel:\n  min_size: 256\n  anchor_sizes: [8, 16, 32, 64]\nloss:\n  landmark: 0.5\n")
    a = build_config(file=tmp_path / "run.toml")
    b = build_config(file=tmp_path / "run.yaml")
    assert a == b
    assert (a.epochs, a.lr, a.model.min_size, a.model.anchor_sizes, a.loss.landmark) == (5, 0.01, 256, (8, 16, 32, 64), 0.5)
    assert a.model.backbone == "resnet18" and a.optimizer == "adamw"  # from the preset
    c = build_config(file=tmp_path / "run.toml", overrides={"epochs": "7", "model.min_size": "128", "loss.mask": "2"})
    assert (c.epochs, c.model.min_size, c.loss.mask, c.loss.landmark) == (7, 128, 2.0, 0.5)  # flags win
    # a preset given as a flag replaces the file's; the file's 4 anchor sizes do not fit paper's 4 FPN levels
    with pytest.raises(ConfigError, match="anchor_sizes: expected 5 sizes"):
        build_config(preset="paper", file=tmp_path / "run.toml")
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_loss_weights_come_from_the_preset_then_file_then_flags(tmp_path) -> None:
    small, paper = build_config(preset="small").loss, build_config(preset="paper").loss
    assert (small.landmark, small.match, small.classifier, small.mask) == (0.1, 0.1, 1.0, 1.0)
    assert paper == LossWeights()  # 1.0 each
    (tmp_path / "run.toml").write_text('preset = "small"\n[loss]\nmatch = 0.5\n')
    c = build_config(file=tmp_path / "run.toml", overrides={"loss.landmark": "2"})
    assert (c.loss.landmark, c.loss.match) == (2.0, 0.5)
    # a run's stored weights are its own: a checkpoint keeps the weights it was trained with
    stored = c.to_dict()
    assert TrainConfig.from_dict(stored).loss == c.loss


def test_checkpoints_from_before_the_box_head_setting_keep_their_head() -> None:
    # the small preset now uses the conv box head; a stored config without the key was trained with the MLP
    stored = build_config(preset="small").to_dict()
    assert stored["model"]["box_head"] == "conv"
    del stored["model"]["box_head"]
    assert TrainConfig.from_dict(stored).model.box_head == "mlp"
    assert build_config(preset="paper").model.box_head == "mlp"
    # the same for the conv head's depth: the small preset has 2 convs, runs before the setting had 4
    stored = build_config(preset="small").to_dict()
    assert stored["model"]["box_head_convs"] == 2
    del stored["model"]["box_head_convs"]
    assert TrainConfig.from_dict(stored).model.box_head_convs == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch = 3\n", "unknown setting 'epoch' (did you mean 'epochs'?)"),
        ("[model]\nbackbon = 'resnet18'\n", "unknown setting 'backbon' (did you mean 'backbone'?)"),
        ("min_size = 3\n", "'min_size' is a model setting: put it under [model]"),
        ("epochs = 'many'\n", "epochs: expected int, got 'many'"),
        ("[model]\nbackbone = 'vgg'\n", "backbone: expected one of resnet18"),
        ("[model]\nbox_head = 'dense'\n", "bad.toml: model.box_head: expected 'mlp' or 'conv'"),
        ("[loss]\nmask = -1\n", "expected a weight >= 0"),
        ("preset = 'huge'\n", "unknown preset 'huge'"),
        ("lr = \n", "invalid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path, text: str, message: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        build_config(file=p)
    assert message in str(e.value)


def test_a_few_steps_lower_the_loss(synth_root) -> None:
    from df2kit.engine.data import TrainDataset
    from df2kit.io import scan_split
    from df2kit.models import LOSS_NAMES, MatchRCNN

    cfg = tiny_config(synth_root, None)
    table = scan_split(synth_root, "train")
    ds = TrainDataset(table)
    rows = [int(r) for r in np.flatnonzero(table.item_count > 0)[:4]]
    batch = [ds[r] for r in rows]
    images = [s["image"].float() / 255 for s in batch]
    targets = [s["target"] for s in batch]
    torch.manual_seed(0)
    model = MatchRCNN(cfg.model).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    totals = []
    for _ in range(10):
        losses = model(images, targets)
        total = sum(losses[k] for k in LOSS_NAMES)
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(float(total.detach()))
    assert np.mean(totals[-3:]) < 0.8 * np.mean(totals[:2]), totals


def _weights(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_run_folder_and_resume_equal_an_uninterrupted_run(synth_root, tmp_path, monkeypatch) -> None:
    from df2kit.engine.data import TrainDataset

    over = {"max_train_images": 12, "evaluate": False, "epochs": 2}
    straight = train(tiny_config(synth_root, tmp_path / "straight", **over))
    # the same run, interrupted (Ctrl-C) as its second epoch starts, then resumed
    real = TrainDataset.set_epoch

    def interrupt(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        real(self, epoch)

    monkeypatch.setattr(TrainDataset, "set_epoch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(synth_root, tmp_path / "resumed", **over))
    monkeypatch.setattr(TrainDataset, "set_epoch", real)
    first_epoch = _weights(tmp_path / "resumed" / "checkpoint.pt")
    resumed = train(tiny_config(synth_root, tmp_path / "resumed", **{**over, "resume": True}))
    a, b = _weights(straight / "checkpoint.pt"), _weights(resumed / "checkpoint.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert any(not torch.equal(first_epoch[k], a[k]) for k in a)  # the second epoch did train
    ck = torch.load(resumed / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert (ck["epoch"], ck["format"]) == (2, "df2kit-match-rcnn")
    # metrics: the resumed log equals the uninterrupted one line for line (timings aside)
    def lines(run):
        recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "images_per_s"} for r in recs]

    assert lines(straight) == lines(resumed)
    kinds = [r["type"] for r in lines(straight)]
    assert kinds.count("epoch") == 2 and "step" in kinds
    assert (straight / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = read_summary(straight)
    assert summary.epochs == 2 and summary.steps == ck["step"] and summary.world_size == 1
    assert set(summary.final_losses) >= {"loss", "loss_landmark", "loss_match"}
    assert json.loads((straight / "config.json").read_text())["model"]["min_size"] == 96


def test_threads_apply_then_are_undone_and_a_used_run_folder_needs_resume(synth_root, tmp_path, monkeypatch) -> None:
    from df2kit.engine import trainer

    seen = []
    real_step = trainer.lr_factor
    monkeypatch.setattr(trainer, "lr_factor", lambda *a: (seen.append(torch.get_num_threads()), real_step(*a))[1])
    torch.set_num_threads(1)
    cfg = tiny_config(synth_root, tmp_path / "run", max_train_images=8, evaluate=False, epochs=1, threads=2)
    train(cfg)
    assert seen and set(seen) == {2} and torch.get_num_threads() == 1  # --threads applies, then is undone
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg)
    with pytest.raises(ConfigError, match="no checkpoint.pt"):
        train(tiny_config(synth_root, tmp_path / "empty", resume=True))
