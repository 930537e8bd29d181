"""The split scanner: same records as the one-file reader, all workers agree, the cache is right and
incremental, and odd folders give clear errors."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import df2kit.io.scan as scan_mod
from df2kit.errors import AnnotationError, DatasetError
from df2kit.io import read_annotation, scan_split
from df2kit.layout import NUM_LANDMARKS

from .._factory import make_split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "native"


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_split(tmp_path_factory.mktemp("ds"), 60, seed=3, images=False)


def test_scan_equals_reading_each_file(split_dir: Path) -> None:
    t = scan_split(split_dir, None, cache=False, workers=1)
    files = sorted((split_dir / "annos").iterdir())
    assert len(t) == len(files) and t.num_files == len(files) and not t.issues
    for i, f in enumerate(files):
        direct = read_annotation(f)
        got = t[i]
        assert got.image_id == direct.image_id and got.source == direct.source and got.pair_id == direct.pair_id
        assert got.items == direct.items
    assert t.num_items == sum(len(read_annotation(f).items) for f in files)


def test_parallel_and_serial_scans_agree(split_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 7)  # several jobs even for a small split: the pool path runs
    a = scan_split(split_dir, None, cache=False, workers=1)
    b = scan_split(split_dir, None, cache=False, workers=2)
    for k, v in a._arrays().items():
        assert np.array_equal(v, b._arrays()[k]), k


def test_reads_ahead_with_threads_when_the_disk_is_slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading files ahead in threads (the cold-disk path) gives the same table, order and issues."""
    root = make_split(tmp_path / "ds", 90, seed=5, images=False)
    anno = root / "annos"
    (anno / "000050.json").write_bytes(b'{"source": "shop", "pair_id": 1, "item1": ')  # truncated
    seq = scan_split(root, None, cache=False, workers=1)
    calls: list[int] = []
    real = scan_mod._read_or_error

    def slow(path: str):
        calls.append(1)
        return real(path)

    monkeypatch.setattr(scan_mod, "_read_or_error", slow)
    monkeypatch.setattr(scan_mod, "_SLOW_READ_S", -1.0)  # every disk counts as slow: threads read the rest
    monkeypatch.setattr(scan_mod, "_READ_AHEAD", 5)
    thr = scan_split(root, None, cache=False, workers=1)
    assert len(calls) == 90
    assert [thr[i] for i in range(len(thr))] == [seq[i] for i in range(len(seq))]
    assert list(thr.issues) == list(seq.issues) and seq.issues


def test_landmarks_294_and_select(split_dir: Path) -> None:
    t = scan_split(split_dir, None, cache=False, workers=1)
    g = t.landmarks_294()
    assert g.shape == (t.num_items, NUM_LANDMARKS, 3)
    for j in (0, 5, t.num_items - 1):
        assert np.array_equal(g[j], t.item(j).landmarks_294)
    rows = [5, 2, 9]
    s = t.select(rows)
    for k, r in enumerate(rows):
        assert s[k].items == t[r].items and s[k].stem == t[r].stem


def test_cache_hit_skips_parsing_and_incremental_reparses_only_changes(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "validation"
    shutil.copytree(split_dir, work)
    cache = tmp_path / "cache"
    first = scan_split(work, None, cache=cache, workers=1)
    parsed: list[str] = []
    real = scan_mod._parse_files

    def spy(anno_dir, names):
        parsed.extend(names)
        return real(anno_dir, names)


    monkeypatch.setattr(scan_mod, "_parse_files", spy)
    second = scan_split(work, None, cache=cache, workers=1)
    assert parsed == []  # served from the cache
    for k, v in first._arrays().items():
        assert np.array_equal(v, second._arrays()[k])
    # change one file, add a broken one, delete one: only the changed and new files are parsed
    target = work / "annos" / "000004.json"
    data = target.read_bytes().replace(b'"pair_id":', b'"pair_id": 1000, "x_pair":', 1)
    target.write_bytes(data)
    os.utime(target, ns=(1, 1))
    shutil.copy(FIXTURES / "truncated.json", work / "annos" / "000100.json")
    (work / "annos" / "000007.json").unlink()
    third = scan_split(work, None, cache=cache, workers=1)
    assert sorted(parsed) == ["000004.json", "000100.json"]
    fresh = scan_split(work, None, cache=False, workers=1)
    for k, v in fresh._arrays().items():
        assert np.array_equal(v, third._arrays()[k]), k
    assert [i.to_dict() for i in third.issues] == [i.to_dict() for i in fresh.issues]
    assert any(i.code == "json-invalid" for i in third.issues)
    assert "000007" not in third.stems


@pytest.mark.parametrize("victim", ["head.json", "points.bin", "stems.bin"])
def test_corrupt_cache_is_rebuilt(split_dir: Path, tmp_path: Path, victim: str) -> None:
    cache = tmp_path / "c"
    table = scan_split(split_dir, None, cache=cache, workers=1)
    first = {k: np.array(v) for k, v in table._arrays().items()}
    del table
    gc.collect()
    (folder,) = cache.iterdir()
    (folder / victim).write_bytes(b"garbage")
    t = scan_split(split_dir, None, cache=cache, workers=1)
    assert len(t) == 60
    for k, v in first.items():
        assert np.array_equal(v, t._arrays()[k]), k


@pytest.mark.parametrize("cut", [8, 20, -1000, -1])
@pytest.mark.parametrize("victim", ["landmarks.bin", "points.bin", "file_sizes.bin"])
def test_truncated_cache_is_rebuilt_not_misread(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: int, victim: str
) -> None:
    cache = tmp_path / "c"
    table = scan_split(split_dir, None, cache=cache, workers=1)
    first = {k: np.array(v) for k, v in table._arrays().items()}
    del table  # it maps the cache's big columns: cutting a mapped file in place would fault its pages
    gc.collect()
    (folder,) = cache.iterdir()
    f = folder / victim
    f.write_bytes(f.read_bytes()[:cut])
    parsed: list[str] = []
    real = scan_mod._parse_files
    monkeypatch.setattr(scan_mod, "_parse_files", lambda d, names: parsed.extend(names) or real(d, names))
    again = scan_split(split_dir, None, cache=cache, workers=1)
    assert len(parsed) == 60  # the cut file was not used
    for k, v in first.items():
        assert np.array_equal(v, again._arrays()[k]), k


def test_older_cache_formats_of_the_split_are_removed(split_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    scan_split(split_dir, None, cache=cache, workers=1)
    (new,) = cache.iterdir()
    for old in (new.with_suffix(".npz"), new.with_suffix(".bin")):
        old.write_bytes(b"a cache of an older df2kit format")
    import shutil as sh

    sh.rmtree(new)
    scan_split(split_dir, None, cache=cache, workers=1)
    assert sorted(p.name for p in cache.iterdir()) == [new.name]


def test_a_rescan_replaces_the_cache_folder_and_a_mapped_table_survives_it(
    split_dir: Path, tmp_path: Path
) -> None:
    """The table maps the cache's big columns; a later scan renames a new folder into place instead of
    writing into the mapped files, so the first table keeps its numbers, and writing into a table's array
    never changes the cache."""
    work = tmp_path / "validation"
    shutil.copytree(split_dir, work)
    cache = tmp_path / "c"
    first = scan_split(work, None, cache=cache, workers=1)
    before = first.points.copy()
    first.points[0, 0] = -12345.0  # copy-on-write: this process only
    again = scan_split(work, None, cache=cache, workers=1)
    assert again.points[0, 0] == before[0, 0]
    target = work / "annos" / "000002.json"
    target.write_bytes(target.read_bytes().replace(b'"pair_id":', b'"pair_id": 7, "x":', 1))
    third = scan_split(work, None, cache=cache, workers=1)  # incremental: a new folder replaces the old
    assert np.array_equal(again.points, before)  # the mapped old files are intact
    assert len(third) == len(first) - 1 or third.issues
    assert [p.name for p in cache.iterdir()] == [next(cache.iterdir()).name]  # no leftovers


def test_cache_keeps_issues_and_empty_columns(tmp_path: Path) -> None:
    d = tmp_path / "validation" / "annos"
    d.mkdir(parents=True)
    shutil.copy(FIXTURES / "truncated.json", d / "000001.json")
    cache = tmp_path / "c"
    first = scan_split(tmp_path, "validation", cache=cache, workers=1)
    second = scan_split(tmp_path, "validation", cache=cache, workers=1)
    assert len(first) == len(second) == 0
    assert [i.to_dict() for i in second.issues] == [i.to_dict() for i in first.issues] != []
    for k, v in first._arrays().items():
        assert v.dtype == second._arrays()[k].dtype and v.shape == second._arrays()[k].shape, k


def test_strict_scan_raises_first_error(tmp_path: Path) -> None:
    d = tmp_path / "train" / "annos"
    d.mkdir(parents=True)
    shutil.copy(FIXTURES / "good.json", d / "000001.json")
    shutil.copy(FIXTURES / "landmark_visibility_3.json", d / "000002.json")
    with pytest.raises(AnnotationError, match=r"000002.json: item1.landmarks\[8\]: expected visibility"):
        scan_split(tmp_path, "train", strict=True, cache=False)
    t = scan_split(tmp_path, "train", cache=False)
    assert len(t) == 2 and t.num_items == 3  # lenient: the broken item is skipped, the rest kept


def test_odd_folders(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        scan_split(tmp_path / "nope", "train")
    (tmp_path / "test" / "image").mkdir(parents=True)
    with pytest.raises(DatasetError, match="labels are withheld"):
        scan_split(tmp_path, "test")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(DatasetError, match="expected a DeepFashion2 split folder"):
        scan_split(tmp_path / "elsewhere", "train")


def test_bad_names_loops_and_duplicates(tmp_path: Path) -> None:
    d = tmp_path / "validation" / "annos"
    d.mkdir(parents=True)
    shutil.copy(FIXTURES / "good.json", d / "000001.json")
    shutil.copy(FIXTURES / "good.json", d / "1.json")  # same image id as 000001
    shutil.copy(FIXTURES / "good.json", d / "cat.json")
    os.symlink(d / "loop.json", d / "loop.json")  # a symlink loop
    t = scan_split(tmp_path, "validation", cache=False, workers=1)
    codes = sorted(i.code for i in t.issues)
    assert codes == ["bad-file-name", "duplicate-image-id", "unreadable-file"]
    assert len(t) == 1 and t.num_files == 4


def test_shared_parse_raises_the_first_error_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With helpers and this process parsing jobs side by side, strict mode still names the first broken file
    (in name order), whichever job finished first."""
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 5)
    root = make_split(tmp_path / "ds", 40, seed=11, images=False)
    anno = root / "annos"
    shutil.copy(FIXTURES / "truncated.json", anno / "000033.json")  # in a late job
    shutil.copy(FIXTURES / "box_nan.json", anno / "000008.json")  # in the second job
    for _ in range(3):
        with pytest.raises(AnnotationError) as e:
            scan_split(root, None, strict=True, cache=False, workers=2)
        assert e.value.path is not None and e.value.path.endswith("000008.json")
    lenient = scan_split(root, None, cache=False, workers=3)
    serial = scan_split(root, None, cache=False, workers=1)
    assert [i.to_dict() for i in lenient.issues] == [i.to_dict() for i in serial.issues]
    for k, v in serial._arrays().items():
        assert np.array_equal(v, lenient._arrays()[k]), k


def test_a_failing_helper_process_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside a helper process reaches the caller instead of hanging the scan."""
    if scan_mod.mp_context().get_start_method() != "fork":
        pytest.skip("the patched parser only reaches forked helpers")
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 5)
    root = make_split(tmp_path / "ds", 40, seed=12, images=False)
    real = scan_mod._parse_files
    parent = os.getpid()

    def broken_in_helpers(anno_dir: str, names: list[str]):
        if os.getpid() != parent:
            raise MemoryError("helper ran out of memory")
        return real(anno_dir, names)

    monkeypatch.setattr(scan_mod, "_parse_files", broken_in_helpers)
    with pytest.raises(MemoryError, match="helper ran out"):
        scan_split(root, None, cache=False, workers=2)


def test_scan_files_reads_a_chunk_as_a_lenient_scan_does(tmp_path: Path) -> None:
    """The converters' chunk reader: same rows and issues as the whole-split scan, for the files named."""
    from df2kit.io.scan import annotation_names, scan_files

    root = make_split(tmp_path / "ds", 30, seed=21, images=False)
    anno = root / "annos"
    shutil.copy(FIXTURES / "box_nan.json", anno / "000031.json")
    names = annotation_names(anno)
    assert names == sorted(p.name for p in anno.glob("*.json"))
    whole = scan_split(root, None, cache=False, workers=1)
    part = scan_files(root, list(reversed(names[20:])))  # any order in, image-id order out
    rows = np.flatnonzero(np.isin(whole.stems, [n[:-5] for n in names[20:]]))
    expect = whole.select(rows)
    assert list(part.stems) == list(expect.stems) and part.num_files == 11
    for k, v in expect._arrays().items():
        assert np.array_equal(v, part._arrays()[k]), k
    assert [i.to_dict() for i in part.issues] == [i.to_dict() for i in whole.issues if "000031" in i.path]


def test_a_path_under_the_home_folder_may_start_with_a_tilde(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from df2kit.io import annotation_names, read_annotation, scan_files

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(split_dir, tmp_path / "df2" / "validation")
    t = scan_split("~/df2", "validation", cache=False, workers=1)
    assert len(t) == len(scan_split(split_dir, None, cache=False, workers=1)) > 0
    names = annotation_names("~/df2/validation/annos")
    assert len(scan_files("~/df2/validation", names[:3])) == 3
    assert read_annotation(f"~/df2/validation/annos/{names[0]}").image_id == int(names[0][:-5])


@pytest.mark.parametrize(
    "coords",
    [
        [10, 20, 30.5, 40.25, 50, 60],  # whole and two-decimal numbers: stored as int32 * 100
        [10.125, 20, 30, 40, 50, 60.001],  # three decimals: stays float64
        [-0.0, 20, 30, 40, 50, 60],  # -0.0 keeps its sign: stays float64
        [1e12, 20, 30, 40, 50, 60],  # beyond int32: stays float64
    ],
)
def test_cached_numbers_are_the_parsed_numbers_bit_for_bit(tmp_path: Path, coords: list[float]) -> None:
    import json

    good = json.loads((FIXTURES / "good.json").read_text())
    d = tmp_path / "validation" / "annos"
    d.mkdir(parents=True)
    for i in range(1, 4):
        g = json.loads(json.dumps(good))
        g["item1"]["segmentation"] = [coords, [c + i for c in coords]]
        (d / f"{i:06d}.json").write_text(json.dumps(g))
    cache = tmp_path / "c"
    cold = scan_split(tmp_path, "validation", cache=cache, workers=2)
    (_folder,) = cache.iterdir()
    warm = scan_split(tmp_path, "validation", cache=cache, workers=2)
    assert not cold.issues
    for k, v in cold._arrays().items():
        w = warm._arrays()[k]
        assert v.dtype == w.dtype and v.shape == w.shape, k
        if v.dtype == np.float64:
            assert np.array_equal(v.view(np.int64), w.view(np.int64)), k
        else:
            assert np.array_equal(v, w), k
    bits = cold.points.reshape(-1).view(np.int64)
    want = np.array(coords, dtype=np.float64).view(np.int64)
    assert (np.lib.stride_tricks.sliding_window_view(bits, len(want)) == want).all(axis=1).any()


def test_cache_written_from_parts_equals_cache_written_from_the_table(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold scan in several jobs writes its cache from the parts; it must hold exactly the table's rows."""
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 7)
    cache = tmp_path / "c"
    cold = scan_split(split_dir, None, cache=cache, workers=2)
    loaded = scan_mod._load_cache(next(cache.iterdir()))
    assert loaded is not None
    data, _meta = loaded
    arrays = cold._arrays()
    names = {"bbox": "bbox_xyxy", "attrs": "attributes"}
    assert len(data["stems"]) == len(cold) > 0
    for k in ("stems", "source", "pair_id", "item_count", "item_key", "category_id", "style", "bbox", "attrs",
              "landmarks", "polygon_count", "point_count", "points"):
        assert np.array_equal(data[k], arrays[names.get(k, k)]), k


class _FullDisk:
    """A column file that takes ``budget`` bytes, then fails as a full disk does."""

    def __init__(self, f, budget: int) -> None:
        self.f, self.budget = f, budget

    def write(self, b) -> int:
        if self.budget <= 0:
            raise OSError(28, "No space left on device")
        n = min(len(b), self.budget)
        self.budget -= n
        return self.f.write(b[:n])

    def close(self) -> None:
        self.f.close()


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("budget", [0, 1000, 4000])
def test_a_cache_disk_that_fills_up_mid_scan_loses_no_rows(
    split_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    budget: int,
    workers: int,
) -> None:
    """One worker appends the big columns in this process; several write them from every process at their
    place (pwrite). Either way a full disk costs the cache, never a row."""
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 7)
    real_init = scan_mod._CacheWriter.__init__

    def init(self, path):
        real_init(self, path)
        self.files["points"] = _FullDisk(self.files["points"], budget)

    monkeypatch.setattr(scan_mod._CacheWriter, "__init__", init)
    real_pwrite = scan_mod._pwrite_all
    spent = [0]

    def pwrite(fd, a, offset):
        spent[0] += a.nbytes
        if spent[0] > budget:
            raise OSError(28, "No space left on device")
        real_pwrite(fd, a, offset)

    monkeypatch.setattr(scan_mod, "_pwrite_all", pwrite)
    cache = tmp_path / "c"
    got = scan_split(split_dir, None, cache=cache, workers=workers)
    want = scan_split(split_dir, None, cache=False, workers=1)
    for k, v in want._arrays().items():
        assert np.array_equal(v, got._arrays()[k]), k
    assert "No space left on device" in caplog.text
    assert not cache.exists() or list(cache.iterdir()) == []  # no cache, and no temporary folder left


def test_direct_writes_from_several_processes_land_in_file_order(
    split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many small jobs over two processes: each writes its own jobs' big columns at their place; the
    cache's files equal a one-process scan's columns."""
    monkeypatch.setattr(scan_mod, "_MIN_CHUNK", 3)
    cache = tmp_path / "c"
    got = scan_split(split_dir, None, cache=cache, workers=2)
    want = scan_split(split_dir, None, cache=False, workers=1)
    (folder,) = cache.iterdir()
    assert np.array_equal(np.fromfile(folder / "points.bin").reshape(-1, 2), want.points)
    assert np.array_equal(np.fromfile(folder / "landmarks.bin").reshape(-1, 3), want.landmarks)
    for k, v in want._arrays().items():
        assert np.array_equal(v, got._arrays()[k]), k


def test_rows_out_of_file_order_are_sorted_and_cached(tmp_path: Path) -> None:
    """Names that are not zero-padded list "10" before "9": the streamed rows come back, are sorted by id,
    and the cache is written from the sorted table."""
    d = tmp_path / "validation" / "annos"
    d.mkdir(parents=True)
    for i in (1, 2, 9, 10, 11):
        shutil.copy(FIXTURES / "good.json", d / f"{i}.json")
    cache = tmp_path / "c"
    cold = scan_split(tmp_path, "validation", cache=cache, workers=1)
    assert cold.image_id.tolist() == [1, 2, 9, 10, 11]
    warm = scan_split(tmp_path, "validation", cache=cache, workers=1)
    for k, v in cold._arrays().items():
        assert np.array_equal(v, warm._arrays()[k]), k
    assert [p.name for p in cache.iterdir()] == [next(cache.iterdir()).name]


def test_a_strict_scan_that_raises_leaves_no_temporary_cache(tmp_path: Path) -> None:
    d = tmp_path / "validation" / "annos"
    d.mkdir(parents=True)
    shutil.copy(FIXTURES / "good.json", d / "000001.json")
    shutil.copy(FIXTURES / "truncated.json", d / "000002.json")
    cache = tmp_path / "c"
    with pytest.raises(AnnotationError):
        scan_split(tmp_path, "validation", cache=cache, workers=1, strict=True)
    assert [p for p in cache.iterdir() if p.name.endswith(".part")] == []
