"""Faults: a conversion killed half-way leaves no complete-looking output (only hidden temporary names), and
running it again completes. (Re-running a scan re-parses only what changed: tests/io/test_scan.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from .conftest import NATIVE

N = 2500


@pytest.fixture(scope="module")
def big_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("big") / "validation"
    (d / "annos").mkdir(parents=True)
    (d / "image").mkdir()
    good = json.loads((NATIVE / "good.json").read_bytes())
    jpg = d.parent / "one.jpg"
    Image.new("RGB", (256, 192)).save(jpg)
    for i in range(1, N + 1):
        rec = dict(good, source=("user", "shop")[i % 2], pair_id=i // 2)
        (d / "annos" / f"{i:06d}.json").write_text(json.dumps(rec))
        os.symlink(jpg, d / "image" / f"{i:06d}.jpg")
    return d


def _start(argv: list[str], tmp: Path) -> subprocess.Popen:
    env = dict(os.environ, DF2KIT_CACHE_DIR=str(tmp / "cache"))
    # pytest-xdist workers ignore SIGINT and children inherit that: give the command the usual Ctrl-C
    code = ("import signal, sys, runpy; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = sys.argv[1:]; runpy.run_module('df2kit', run_name='__main__')")
    return subprocess.Popen([sys.executable, "-c", code, "df2kit", "-q", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(cond, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f"the command ended before it started writing: {proc.communicate()}"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.002)


def _visible(root: Path) -> list[Path]:
    """Files under root whose path has no hidden (temporary) part."""
    return [p for p in root.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)]


def _parts(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.part")]


def test_killed_coco_conversion_leaves_only_a_temporary_file(big_split: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = ["convert", str(big_split), "--to", "coco", str(out / "val.json"), "--workers", "1"]
    proc = _start(argv, tmp_path)
    # started writing: the temporary file holds the header and at least one converted block
    _wait_for(lambda: any(p.stat().st_size > 200_000 for p in out.glob(".val.json.*.part")), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _visible(out) == [] and len(_parts(out)) == 1  # no val.json: only the hidden .part
    # running it again completes and gives every image and item
    proc = _start(argv, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    coco = json.loads((out / "val.json").read_bytes())
    assert len(coco["images"]) == N and len(coco["annotations"]) == 2 * N
    assert _parts(out) == []  # the killed run's temporary file was recognised and removed


def test_killed_yolo_conversion_leaves_no_labels_folder(big_split: Path, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    argv = ["convert", str(big_split), "--to", "yolo", str(out), "--task", "pose", "--workers", "1"]
    proc = _start(argv, tmp_path)
    _wait_for(lambda: sum(1 for _ in out.glob("labels/.validation.*.part/*.txt")) > 100, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _visible(out) == []  # no labels/validation, no images/validation, no dataset.yaml
    assert not (out / "labels" / "validation").exists() and not (out / "dataset.yaml").exists()
    proc = _start(argv, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert len(list((out / "labels" / "validation").glob("*.txt"))) == N
    assert len(list((out / "images" / "validation").iterdir())) == N
    assert (out / "dataset.yaml").is_file()
    assert _parts(out) == []  # the killed run's temporary folders were recognised and removed


def test_ctrl_c_removes_the_temporary_file(big_split: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(["convert", str(big_split), "--to", "coco", str(out / "val.json"), "--workers", "1"], tmp_path)
    _wait_for(lambda: any(p.stat().st_size > 100_000 for p in out.glob(".val.json.*.part")), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["df2kit: interrupted"]
    assert list(out.iterdir()) == []  # nothing at all: the temporary file is removed too


def test_only_leftovers_of_dead_processes_on_this_machine_are_removed(tmp_path: Path) -> None:
    from df2kit._atomic import _host, atomic_write_bytes, part_prefix, remove_stale_parts

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid is free now (and not reused within this test in practice)
    dead = tmp_path / f".val.json.{_host()}-{gone.pid}.abc.part"
    dead.write_bytes(b"half")
    dead_dir = tmp_path / f".val.json.{_host()}-{gone.pid}.def.part"
    dead_dir.mkdir()
    (dead_dir / "x.txt").write_text("x")
    mine = tmp_path / f"{part_prefix('val.json')}ghi.part"
    mine.write_bytes(b"still writing")
    other_host = tmp_path / f".val.json.elsewhere-{gone.pid}.jkl.part"
    other_host.write_bytes(b"another machine's run")
    other_name = tmp_path / f".train.json.{_host()}-{gone.pid}.mno.part"
    other_name.write_bytes(b"another output")
    removed = remove_stale_parts(tmp_path, "val.json")
    assert sorted(removed) == sorted([dead, dead_dir])
    assert not dead.exists() and not dead_dir.exists()
    assert mine.exists() and other_host.exists() and other_name.exists()
    atomic_write_bytes(tmp_path / "val.json", b"{}")  # its own temporary name follows the same pattern
    assert (tmp_path / "val.json").read_bytes() == b"{}"
    assert list(tmp_path.glob(part_prefix("val.json") + "*")) == [mine]  # its own was renamed into place
