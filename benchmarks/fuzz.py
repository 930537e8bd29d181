"""Fuzz df2kit's JSON readers for a bounded time and report what was found.

    python benchmarks/fuzz.py --seconds 120            # every target, 120 s each
    python benchmarks/fuzz.py --target native --seconds 600

With atheris installed (``pip install atheris``) each target runs coverage-guided under libFuzzer in its own
process, seeded with the hand-made broken files of tests/fixtures; without it, a Hypothesis-driven random
search runs instead. A finding is any exception that is not a df2kit error (DF2Error), or, for the native
reader, any disagreement between the fast split scanner and the authoritative checker. Findings are saved
under --out with the input that caused them.

Targets:
  native              read one annotation file: lenient, strict, and the fast scanner on the same bytes
  results             a detection / landmark / segmentation results file, scored against a tiny ground truth
                      for each task (df2kit.evaluation.evaluate), and read by the block reader in 64-byte
                      blocks, which must agree with one whole parse
  retrieval-results   a retrieval results file, scored (df2kit.evaluation.evaluate_retrieval)
  retrieval-gt        the query / gallery ground-truth files
  coco                a COCO ground-truth file read back to native files
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"
TARGETS = ("native", "results", "retrieval-results", "retrieval-gt", "coco")


# ---- the targets: each takes bytes and raises AssertionError/other exceptions on a finding -------------
def _target(name: str):
    from df2kit.errors import DF2Error

    tmp = Path(tempfile.mkdtemp(prefix=f"df2kit-fuzz-{name}-"))

    if name == "native":
        from df2kit.io import parse_annotation
        from df2kit.io.scan import _parse_files

        anno = tmp / "annos"
        anno.mkdir()

        def run(data: bytes) -> None:
            record, issues = parse_annotation(data, stem="000001", path=str(anno / "000001.json"), strict=False)
            try:
                parse_annotation(data, stem="000001", strict=True)
            except DF2Error:
                pass
            (anno / "000001.json").write_bytes(data)
            arrays, _, _ = _parse_files(str(anno), ["000001.json"])
            if sorted(map(str, arrays.issues)) != sorted(map(str, issues)):
                raise AssertionError(f"scanner and checker disagree: {arrays.issues} vs {issues}")
            n = len(record.items) if record is not None else 0
            if len(arrays.category_id) != n:
                raise AssertionError(f"scanner kept {len(arrays.category_id)} items, checker {n}")

    elif name in ("results", "retrieval-results"):
        import orjson

        from df2kit.evaluation import evaluate, evaluate_retrieval
        from df2kit.evaluation._results import entries_to_columns, iter_result_chunks

        table = _results_gt(tmp)
        path = tmp / "results.json"

        def run(data: bytes) -> None:
            path.write_bytes(data)
            if name == "retrieval-results":
                try:
                    evaluate_retrieval(table, path)
                except DF2Error:
                    pass
                return
            for task in ("detection", "landmarks", "segmentation"):
                try:
                    evaluate(task, table, path)  # the checks against the ground truth, masks decoded
                except DF2Error:
                    pass
                # the block reader (small blocks, cut between entries) gives what one parse gives
                try:
                    got = []
                    for first, entries in iter_result_chunks(path, 64, whole_numbers=(task == "landmarks")):
                        entries_to_columns(entries, first, task, str(path))
                        got.extend(entries)
                except DF2Error:
                    continue
                if task == "detection" and got != orjson.loads(data):
                    raise AssertionError("the block reader and a whole parse disagree")

    elif name == "retrieval-gt":
        from df2kit.formats.retrieval import GALLERY_FILE, QUERY_FILE, load_retrieval_ground_truth

        good_gallery = b'[{"gallery_image_id": 3, "style": 1, "pair_id": 1, "bbox": [0, 0, 10, 10]}]'

        def run(data: bytes) -> None:
            (tmp / QUERY_FILE).write_bytes(data)
            (tmp / GALLERY_FILE).write_bytes(good_gallery)
            try:
                load_retrieval_ground_truth(tmp)
            except DF2Error:
                pass

    elif name == "coco":
        from df2kit.formats.coco import from_coco

        path = tmp / "coco.json"

        def run(data: bytes) -> None:
            path.write_bytes(data)
            try:
                from_coco(path, tmp / "out", source="user", overwrite=True)
            except DF2Error:
                pass

    else:
        raise SystemExit(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
    return run


def _results_gt(tmp: Path):
    """The ground truth of tests/fixtures/results (two 256 x 192 images) as a scanned table."""
    import shutil

    from PIL import Image

    from df2kit.io import scan_split

    d = tmp / "gt" / "validation"
    shutil.copytree(FIXTURES / "results" / "gt" / "annos", d / "annos")
    (d / "image").mkdir()
    for stem in ("000001", "000002"):
        Image.new("RGB", (256, 192)).save(d / "image" / f"{stem}.jpg")
    return scan_split(d, None, cache=False, workers=1)


def _seeds(name: str) -> list[bytes]:
    if name == "native":
        return [p.read_bytes() for p in sorted((FIXTURES / "native").glob("*.json"))]
    if name == "retrieval-results":  # the broken results corpus of tests/fixtures/results
        return [p.read_bytes() for p in sorted((FIXTURES / "results").glob("ret_*.json"))]
    if name == "retrieval-gt":
        return [b'[{"query_image_id": 1, "bbox": [0, 0, 5, 5], "cls": 1, "style": 1, "pair_id": 1}]']
    if name == "results":
        return [p.read_bytes() for p in sorted((FIXTURES / "results").glob("*.json"))
                if p.name[:3] in ("det", "lm_", "seg")]
    return [(b'{"images": [{"id": 1, "file_name": "000001.jpg", "width": 10, "height": 10}], '
             b'"annotations": [], "categories": []}')]


# ---- engines -------------------------------------------------------------------------------------------
def _worker_atheris(name: str, seconds: int, out: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["df2kit"]):
        run = _target(name)

    def one(data: bytes) -> None:
        run(data)

    corpus = out / f"corpus-{name}"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(_seeds(name)):
        (corpus / f"seed{i}").write_bytes(s)
    atheris.Setup(
        [sys.argv[0], str(corpus), f"-max_total_time={seconds}", f"-artifact_prefix={out}/crash-{name}-",
         "-print_final_stats=1", "-rss_limit_mb=4096"],
        one,
    )
    atheris.Fuzz()


def _mutate(rnd, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randint(0, 4)
        i = rnd.randint(0, max(0, len(b) - 1))
        if op == 0 and b:
            b[i] = rnd.randint(0, 255)
        elif op == 1 and b:
            del b[i : i + rnd.randint(1, 8)]
        elif op == 2:
            b[i:i] = rnd.choice([b"true", b"null", b"-1", b"1e999", b"NaN", b"[]", b"{}", b'"x"', b"[[", b"]]", b",", b"0.5"])
        elif op == 3 and len(b) > 2:
            j = rnd.randint(0, len(b) - 1)
            b[i:i] = b[j : j + rnd.randint(1, 16)]
        else:
            for m in re.finditer(rb"-?\d+(\.\d+)?", bytes(b)):
                if rnd.random() < 0.05:
                    b[m.start() : m.end()] = rnd.choice([b"0", b"-5", b"3", b"14", b"99999999999999999999", b"2.0"])
                    break
    return bytes(b)


def _worker_random(name: str, seconds: int, out: Path) -> None:
    import random

    from df2kit.errors import DF2Error  # noqa: F401 - the target catches it

    run = _target(name)
    rnd = random.Random(0)
    seeds = _seeds(name)
    pool = list(seeds)
    n = found = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        data = _mutate(rnd, rnd.choice(pool))
        n += 1
        try:
            run(data)
            if rnd.random() < 0.01 and len(pool) < 500:
                pool.append(data)
        except Exception:  # noqa: BLE001 - a finding
            found += 1
            (out / f"crash-{name}-{found}").write_bytes(data)
            (out / f"crash-{name}-{found}.txt").write_text(traceback.format_exc())
    print(f"Done {n} runs; {found} findings")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=TARGETS + ("all",), default="all")
    ap.add_argument("--seconds", type=int, default=60, help="time per target")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "df2kit-fuzz"))
    ap.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    engine = a.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "random"
    if a._worker:
        (_worker_atheris if engine == "atheris" else _worker_random)(a._worker, a.seconds, out)
        return
    targets = TARGETS if a.target == "all" else (a.target,)
    rows = []
    for t in targets:
        before = set(os.listdir(out))
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, __file__, "--_worker", t, "--seconds", str(a.seconds), "--out", str(out), "--engine", engine],
            capture_output=True, text=True, check=False,
        )
        dt = time.monotonic() - t0
        text = proc.stdout + proc.stderr
        m = re.findall(r"Done (\d+) runs", text) or re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        runs = int(m[-1]) if m else 0
        new = sorted(set(os.listdir(out)) - before)
        crashes = [f for f in new if f.startswith("crash-") and not f.endswith(".txt")]
        rows.append((t, engine, round(dt), runs, len(crashes), crashes[:3]))
        if proc.returncode not in (0,) and not crashes:
            print(text[-3000:], file=sys.stderr)
    print(f"\nfuzzing df2kit's readers ({engine}), findings saved in {out}")
    print(f"{'target':<18} {'engine':<8} {'seconds':>7} {'inputs':>9} {'findings':>8}  first findings")
    for t, e, s, n, c, first in rows:
        print(f"{t:<18} {e:<8} {s:>7} {n:>9,} {c:>8}  {' '.join(first)}")


if __name__ == "__main__":
    main()
