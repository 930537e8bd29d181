"""`df2kit demo`: each stage calls the library that owns it; a missing one is named, never faked."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from df2kit import demo as demo_mod
from df2kit.cli.main import main
from df2kit.demo import DemoPlan, DemoStageError, run_demo

TINY = DemoPlan(train_images=4, validation_images=4, size=96, epochs=1)


def _without(monkeypatch: pytest.MonkeyPatch, prefix: str, *, as_name: str | None = None) -> None:
    real = importlib.import_module

    def fake(name: str, *a, **k):
        if name == prefix or name.startswith(prefix + "."):
            err = ModuleNotFoundError(f"No module named {as_name or name!r}")
            err.name = as_name or name
            raise err
        return real(name, *a, **k)

    monkeypatch.setattr(demo_mod.importlib, "import_module", fake)


def test_a_missing_stage_library_stops_the_demo_and_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "df2kit.engine")
    with pytest.raises(DemoStageError) as ei:
        run_demo(tmp_path / "d", plan=TINY)
    msg = str(ei.value)
    assert "stage 'train'" in msg and "df2kit.engine" in msg and "issue 7" in msg
    # the synthesise stage before it really ran
    assert len(list((tmp_path / "d" / "data" / "train" / "annos").iterdir())) == 4
    assert not (tmp_path / "d" / "report.html").exists()


def test_other_sizes_replace_the_synthetic_data_and_the_same_sizes_reuse_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without(monkeypatch, "df2kit.engine")  # stop after the synthesise stage
    out = tmp_path / "d"
    annos = out / "data" / "train" / "annos"
    with pytest.raises(DemoStageError):
        run_demo(out, plan=TINY)
    first = {p.name: p.stat().st_mtime_ns for p in annos.iterdir()}
    with pytest.raises(DemoStageError):  # the same sizes: the files are reused, not rewritten
        run_demo(out, plan=TINY)
    assert {p.name: p.stat().st_mtime_ns for p in annos.iterdir()} == first
    # other sizes (a demo of an older df2kit, or --train-images) used to stop here: synth refuses full splits
    with pytest.raises(DemoStageError, match="stage 'train'"):
        run_demo(out, plan=DemoPlan(train_images=6, validation_images=3, size=96, epochs=1))
    assert len(list(annos.iterdir())) == 6
    assert len(list((out / "data" / "validation" / "annos").iterdir())) == 3
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("data")) == ["data"]  # no .partial left


def test_missing_torch_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "df2kit.engine", as_name="torch")
    with pytest.raises(DemoStageError, match=r"pip install 'df2kit\[model\]'"):
        run_demo(tmp_path / "d", plan=TINY)


def test_missing_synth_is_named_and_cli_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    _without(monkeypatch, "df2kit.synth")
    assert main(["-q", "demo", "--quick", "--out", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "stage 'synthesise' needs df2kit.synth.synthesize" in err and len(err.strip().splitlines()) == 1


def test_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoStageError, match="not overwriting"):
        run_demo(tmp_path, plan=TINY)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_negative_threads_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(DemoStageError, match="threads >= 0"):
        run_demo(tmp_path / "d", threads=-1)
    with pytest.raises(DemoStageError, match="processes 0 .automatic., 1 or 2, got 3"):
        run_demo(tmp_path / "d", processes=3)
    assert not (tmp_path / "d").exists()


def test_processes_default_to_two_on_a_cpu_of_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    for cores, want in ((1, 1), (2, 2), (16, 2)):
        monkeypatch.setattr(demo_mod.os, "sched_getaffinity", lambda pid, n=cores: set(range(n)), raising=False)
        assert demo_mod._processes(0, "cpu") == want
    assert demo_mod._processes(0, "cuda") == 1 and demo_mod._processes(1, "cpu") == 1


@pytest.mark.slow
@pytest.mark.model
def test_quick_demo_end_to_end(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch", reason="the demo trains a model: pip install 'df2kit[model]'")
    out = tmp_path / "demo"
    # one thread: the suite runs two test processes on two cores
    assert main(["-q", "demo", "--quick", "--out", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"file://{(out / 'report.html').resolve()}" in printed
    done = json.loads((out / "demo.json").read_text())
    assert done["status"] == "done" and set(done["scores"]) == {"detection", "landmarks", "segmentation", "retrieval"}
    for task in ("detection", "landmarks", "segmentation", "retrieval"):
        assert (out / "eval" / f"{task}.json").is_file()
    config = json.loads((out / "run" / "config.json").read_text())
    procs = demo_mod._processes(0, "cpu")  # the default: two processes on this suite's 2 cores
    assert done["processes"] == procs and config["processes"] == procs
    assert config["pairs_per_batch"] * procs == demo_mod.BATCH_COUPLES  # the same batch however it is split
    model = config["model"]  # the small preset with DEMO_MODEL
    assert (model["min_size"], model["max_size"], model["returned_layers"]) == (96, 144, [1, 2])
    assert model["semantic_head_convs"] == 1
    text = (out / "report.html").read_text(encoding="utf-8")
    from .test_report import check_html

    c = check_html(text)
    assert "Not evaluated" not in " ".join(c.text)
    assert sum(1 for i in c.imgs if i["alt"].endswith("ground truth and predictions")) > 0


def test_size_flags_replace_only_what_they_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[DemoPlan] = []
    threads_seen: list[int] = []

    def fake_run_demo(out, *, plan, device, threads, processes, progress):  # the flags' job is what they hand on
        seen.append(plan)
        threads_seen.append((threads, processes))
        raise DemoStageError("stop here")

    monkeypatch.setattr(demo_mod, "run_demo", fake_run_demo)
    assert main(["-q", "demo", "--out", str(tmp_path / "a"), "--train-images", "1500", "--epochs", "16"]) == 1
    assert main(["-q", "demo", "--quick", "--out", str(tmp_path / "b"), "--validation-images", "20",
                 "--threads", "1", "--processes", "1"]) == 1
    assert threads_seen == [(0, 0), (1, 1)]  # defaults 0: threads and processes chosen from the cores
    assert seen == [
        DemoPlan(train_images=1500, validation_images=demo_mod.FULL.validation_images, size=demo_mod.FULL.size, epochs=16),
        DemoPlan(train_images=demo_mod.QUICK.train_images, validation_images=20, size=demo_mod.QUICK.size,
                 epochs=demo_mod.QUICK.epochs),
    ]


_BAD = [(f, v, 1) for f in ("--epochs", "--train-images", "--validation-images") for v in ("0", "-3", "many")]


def test_processes_flag_takes_0_1_or_2(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo", "--processes", "3"])
    assert e.value.code == 2 and "argument --processes: invalid choice: 3" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value", "least"), [*_BAD, ("--threads", "-1", 0), ("--threads", "two", 0)])
def test_bad_size_flags_are_usage_errors(flag: str, value: str, least: int, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo", flag, value])
    assert e.value.code == 2
    assert f"argument {flag}: expected a whole number >= {least}" in capsys.readouterr().err


def test_help_states_the_plans_own_defaults(capsys) -> None:
    # the defaults in --help come from FULL and QUICK, so they cannot go stale when the plan changes
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, field in (("--train-images", "train_images"), ("--validation-images", "validation_images"),
                        ("--epochs", "epochs")):
        full, quick = getattr(demo_mod.FULL, field), getattr(demo_mod.QUICK, field)
        assert f"(default {full}; --quick {quick})" in text, flag
