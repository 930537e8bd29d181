"""Same seed, same bytes: whatever the worker count, and with or without images."""

from __future__ import annotations

from pathlib import Path

from df2kit.synth import synthesize


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_worker_count_does_not_change_the_output(clean_root: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, validation=36, test=4, seed=3, size=96, workers=2)
    a, b = _files(clean_root), _files(tmp_path)
    assert len(a) == 36 * 2 + 4
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_annotations_do_not_depend_on_drawing(clean_root: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, validation=36, seed=3, size=96, images=False, workers=1)
    got = _files(tmp_path)
    assert all(k.startswith("validation/annos/") for k in got)
    ref = {k: v for k, v in _files(clean_root).items() if k.startswith("validation/annos/")}
    assert got == ref


def test_another_seed_gives_other_data(clean_root: Path, tmp_path: Path) -> None:
    synthesize(tmp_path, validation=36, seed=4, size=96, images=False, workers=1)
    ref = _files(clean_root)
    got = _files(tmp_path)
    same = sum(got[k] == ref.get(k) for k in got)
    assert same == 0
