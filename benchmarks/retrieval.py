"""Retrieval: scoring speed against a straight port of the official script, search speed and memory.

    python benchmarks/retrieval.py              # everything (10-15 minutes on 2 cores)
    python benchmarks/retrieval.py --quick      # small sizes, a smoke run
    python benchmarks/retrieval.py --skip-search / --skip-faiss

1. Scoring at the validation split's size (README Table 1: 12,550 query items, 37,183 gallery items; about
   10,800 consumer images, one result list of 20 per detection). The alternative is the official
   ``deepfashion2_retrieval_test.py`` algorithm ported to Python 3 as literally as possible (below: the
   same loops, ``np.where`` scans, ``pycocotools.mask.iou`` when installed). Both must give the same hits;
   the script checks. Target: ours >= 20x faster.
2. Search at the test split's size (about 23k query items x 72k gallery items), 256-d float32, exact top-20:
   ours (batched exact cosine in numpy) against the naive full similarity matrix + ``np.argsort``. The naive
   way needs 4 + 8 bytes per query x gallery pair (6.6 GB + 13.2 GB at full size), more than this machine
   can spare, so both are also run on --naive-queries queries and the naive full-size numbers are the
   measured ones scaled (said so in the table).
3. 1M gallery items with faiss (``IndexFlatIP``, exact) when it is installed, against ours in numpy.

Each search case runs in a fresh process; its peak memory is the process's peak resident memory during
the search (Linux VmHWM, reset after the data are made) minus the resident memory before it. All data are
synthetic, made here with fixed seeds. Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


# ---- 1. scoring ----------------------------------------------------------------------------------------------
def make_validation_like(seed: int = 0, scale: float = 1.0):
    """Ground truth and results shaped like the validation split (sizes of README Table 1)."""
    from df2kit.formats.retrieval import RetrievalGroundTruth

    rng = np.random.default_rng(seed)
    n_user, n_shop, n_pairs = int(10_844 * scale), int(20_681 * scale), max(2, int(4_000 * scale))
    styles_of_pair = rng.integers(1, 4, size=n_pairs + 1)

    def boxes(n):
        xy = rng.uniform(0, 400, size=(n, 2)).round(0)
        return np.concatenate([xy, xy + rng.uniform(40, 400, size=(n, 2)).round(0)], axis=1)

    # gallery: shop images with 1-3 items of style > 0
    shop_pair = rng.integers(1, n_pairs + 1, size=n_shop)
    per_shop = rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2], size=n_shop)
    g_img_row = np.repeat(np.arange(n_shop), per_shop)
    g_pair = shop_pair[g_img_row]
    g_style = 1 + (rng.random(len(g_img_row)) * styles_of_pair[g_pair]).astype(np.int64)
    # queries: user images with 1-2 items, 13% of style 0
    user_pair = rng.integers(1, n_pairs + 1, size=n_user)
    per_user = rng.choice([1, 2], p=[0.66, 0.34], size=n_user)
    q_img_row = np.repeat(np.arange(n_user), per_user)
    q_pair = user_pair[q_img_row]
    q_style = 1 + (rng.random(len(q_img_row)) * styles_of_pair[q_pair]).astype(np.int64)
    q_style[rng.random(len(q_style)) < 0.13] = 0
    nq, ng = len(q_img_row), len(g_img_row)
    gt = RetrievalGroundTruth(
        query_image_id=q_img_row + 1,
        query_bbox_xyxy=boxes(nq),
        query_category=rng.integers(1, 14, size=nq),
        query_style=q_style,
        query_pair_id=q_pair,
        query_attributes=rng.integers(1, 4, size=(nq, 4)),
        gallery_image_id=g_img_row + 100_001,
        gallery_bbox_xyxy=boxes(ng),
        gallery_style=g_style,
        gallery_pair_id=g_pair,
        gallery_category=rng.integers(1, 14, size=ng),
    )
    # results: a detection for 93% of the query items (+ 20% extra false ones), 20 shop items each
    det = np.flatnonzero(rng.random(nq) < 0.93)
    extra = rng.integers(0, nq, size=int(0.2 * nq))
    src = np.concatenate([det, extra])
    r_box = gt.query_bbox_xyxy[src] + rng.uniform(-8, 8, size=(len(src), 4)).round(1)
    r_box[len(det):] = boxes(len(extra))
    r_cls = np.where(rng.random(len(src)) < 0.9, gt.query_category[src], rng.integers(1, 14, size=len(src)))
    g_order = np.argsort(g_pair, kind="stable")
    p_start = np.searchsorted(g_pair[g_order], np.arange(n_pairs + 2))
    pick = rng.integers(0, ng, size=(len(src), 20))
    same = rng.random((len(src), 20)) < 0.08  # the right identity family (pair), jittered box
    lo, hi = p_start[q_pair[src]], p_start[q_pair[src] + 1]
    has = hi > lo
    fam = g_order[np.minimum(lo[:, None] + (rng.random((len(src), 20)) * (hi - lo)[:, None]).astype(np.int64), ng - 1)]
    pick = np.where(same & has[:, None], fam, pick)
    gb = gt.gallery_bbox_xyxy[pick] + rng.uniform(-20, 20, size=(len(src), 20, 4)).round(1)
    results = [
        {"query_image_id": i, "query_bbox": b, "query_cls": c, "query_score": s, "gallery_image_id": ids,
         "gallery_bbox": bb}
        for i, b, c, s, ids, bb in zip(
            gt.query_image_id[src].tolist(), r_box.tolist(), r_cls.tolist(), rng.random(len(src)).round(4).tolist(),
            gt.gallery_image_id[pick].tolist(), gb.tolist(),
        )
    ]
    order = rng.permutation(len(results))
    return gt, [results[i] for i in order]


def official_port(query, gallery, results):
    """Top-1/5/10/15/20 hit counts and N by the official algorithm, loop for loop: the Python 3 port that the
    differential tests pin df2kit to (tests/retrieval/retrieval_official_port.py, with pycocotools.mask.iou)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "retrieval"))
    from retrieval_official_port import official_retrieval

    hits, query_num = official_retrieval(query, gallery, results)
    return tuple(int(h) for h in np.asarray(hits).sum(axis=0)), query_num


def _median_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_scoring(repeat: int, port_repeat: int, scale: float) -> None:
    import orjson

    from df2kit.evaluation.retrieval import evaluate_retrieval
    from df2kit.formats.retrieval import write_retrieval_ground_truth

    gt, results = make_validation_like(0, scale)
    query, gallery = gt.query_records(), gt.gallery_records()
    with tempfile.TemporaryDirectory() as tmp:
        write_retrieval_ground_truth(gt, tmp)
        res_path = Path(tmp) / "results.json"
        res_path.write_bytes(orjson.dumps(results))

        def port_read():  # the official script reads its three files with json.loads
            out = []
            for p in (Path(tmp) / "query_gt.json", Path(tmp) / "gallery_gt.json", res_path):
                with open(p) as f:
                    out.append(json.loads(f.read()))
            return out

        t_ours_mem, ours = _median_time(lambda: evaluate_retrieval(gt, results), repeat)
        t_ours_file, ours_f = _median_time(lambda: evaluate_retrieval(tmp, res_path), repeat)
        t_read, _ = _median_time(port_read, repeat)
        t_port_mem, (port_hits, port_n) = _median_time(lambda: official_port(query, gallery, results), port_repeat)
    if ours.overall.hits != port_hits or ours.num_queries != port_n or ours_f.overall.hits != port_hits:
        raise SystemExit(f"MISMATCH: ours {ours.overall.hits} / {ours.num_queries}, port {port_hits} / {port_n}")
    t_port_file = t_port_mem + t_read
    size = "validation size" if scale == 1 else f"{scale:g} x validation size"
    print(f"\n1. Scoring at {size}: {gt.num_scored_queries:,} scored query items "
          f"({gt.num_queries:,} in all, {len(np.unique(gt.query_image_id)):,} consumer images), "
          f"{len(results):,} result lists of 20, {gt.num_gallery:,} gallery items")
    print(f"   df2kit: median of {repeat} runs; official port: median of {port_repeat} run(s), with pycocotools.mask.iou")
    print(f"   both give top-1/5/10/15/20 hits {port_hits} of {port_n:,}\n")
    _table(
        ["what is timed", "df2kit (s)", "official port (s)", "speed-up"],
        [
            ["scoring (GT and results already parsed)", f"{t_ours_mem:.3f}", f"{t_port_mem:.2f}",
             f"{t_port_mem / t_ours_mem:.0f}x"],
            ["from the JSON files (port: + its json reading)", f"{t_ours_file:.3f}", f"{t_port_file:.2f}",
             f"{t_port_file / t_ours_file:.0f}x"],
        ],
    )


# ---- 2 and 3. search -------------------------------------------------------------------------------------------
def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _case(args: argparse.Namespace) -> None:
    """Child process: make the data, run one search, print JSON (seconds, peak MB above the data)."""
    rng = np.random.default_rng(1)
    g = rng.standard_normal((args.ng, args.dim), dtype=np.float32)
    q = rng.standard_normal((args.nq, args.dim), dtype=np.float32)
    g_ids = np.arange(args.ng, dtype=np.int64)
    boxes = np.zeros((args.ng, 4))
    if args.case == "faiss":
        import faiss  # noqa: F401 - imported before the baseline, so its libraries are not counted
    from df2kit.search import GalleryIndex

    reset = _reset_peak()
    base = _rss_kb("VmRSS")
    t = time.perf_counter()
    if args.case == "naive":
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        gn = g / np.linalg.norm(g, axis=1, keepdims=True)
        sim = qn @ gn.T
        idx = np.argsort(-sim, axis=1)[:, : args.k]
    else:
        index = GalleryIndex(g, g_ids, boxes, backend=args.case)
        idx = index.search(q, k=args.k).indices
    seconds = time.perf_counter() - t
    peak = _rss_kb("VmHWM")
    np.save(args.out, idx)
    print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024 if reset else None}))


def _run_case(case: str, nq: int, ng: int, dim: int, k: int, repeat: int, tmp: str):
    secs, mems = [], []
    out = os.path.join(tmp, f"{case}-{nq}-{ng}.npy")
    for _ in range(repeat):
        p = subprocess.run(
            [sys.executable, str(HERE), "--case", case, "--nq", str(nq), "--ng", str(ng), "--dim", str(dim),
             "--k", str(k), "--out", out],
            check=False, capture_output=True, text=True,
        )
        if p.returncode != 0:
            raise SystemExit(f"case {case} failed:\n{p.stderr[-3000:]}")
        d = json.loads(p.stdout.strip().splitlines()[-1])
        secs.append(d["seconds"])
        mems.append(d["peak_mb"])
    mem = statistics.median(mems) if None not in mems else None
    return statistics.median(secs), mem, np.load(out)


def _agree(a: np.ndarray, b: np.ndarray) -> str:
    return f"{np.mean(a == b) * 100:.2f}% same ranks"


def bench_search(args: argparse.Namespace) -> None:
    from df2kit.search import faiss_available

    nq, ng, d, k, r = args.queries, args.gallery, args.dim, 20, args.repeat
    nn = min(args.naive_queries, nq)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t_o, m_o, i_o = _run_case("numpy", nn, ng, d, k, r, tmp)
        t_n, m_n, i_n = _run_case("naive", nn, ng, d, k, r, tmp)
        size = f"{nn:,} x {ng:,}"
        rows.append([size, "df2kit GalleryIndex (numpy, batched)", f"{t_o:.2f}", _mb(m_o), "", _agree(i_o, i_n)])
        rows.append([size, "naive full matrix + np.argsort", f"{t_n:.2f}", _mb(m_n), f"{t_n / t_o:.1f}x", ""])
        size = f"{nq:,} x {ng:,}"
        t_full, m_full, _ = _run_case("numpy", nq, ng, d, k, r, tmp)
        scale = nq / nn
        naive_mem = nq * ng * (4 + 8) / 2**20
        rows.append([size, "df2kit GalleryIndex (numpy, batched)", f"{t_full:.2f}", _mb(m_full), "", ""])
        rows.append([size, f"naive, scaled x{scale:.0f} from the row above (not run)", f"~{t_n * scale:.0f}",
                     f"~{naive_mem:,.0f}", f"~{t_n * scale / t_full:.1f}x", "does not fit in RAM"])
        print(f"\n2. Search: {d}-d float32 embeddings, exact cosine top-{k}; median of {r} (fresh process each; "
              "peak memory above the data)\n")
        _table(["queries x gallery", "method", "seconds", "peak MB", "naive / ours", "check"], rows)
        if args.skip_faiss:
            return
        if not faiss_available():
            print("\n3. faiss is not installed (pip install faiss-cpu): the 1M-item case is skipped")
            return
        fq, fg = args.faiss_queries, args.faiss_gallery
        t_np, m_np, i_np = _run_case("numpy", fq, fg, d, k, r, tmp)
        t_fa, m_fa, i_fa = _run_case("faiss", fq, fg, d, k, r, tmp)
        size = f"{fq:,} x {fg:,}"
        print(f"\n3. A gallery of {fg:,} items: {fq:,} queries, {d}-d, exact top-{k}; median of {r}\n")
        _table(
            ["queries x gallery", "method", "seconds", "peak MB", "numpy / faiss", "check"],
            [[size, "df2kit GalleryIndex (numpy, batched)", f"{t_np:.2f}", _mb(m_np), "", ""],
             [size, "df2kit GalleryIndex (faiss IndexFlatIP)", f"{t_fa:.2f}", _mb(m_fa), f"{t_np / t_fa:.1f}x",
              _agree(i_np, i_fa)]],
        )


def _mb(v):
    return "-" if v is None else f"{v:,.0f}"


def _table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port-repeat", type=int, default=1, help="runs of the official port (about a minute each)")
    ap.add_argument("--skip-scoring", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    ap.add_argument("--skip-faiss", action="store_true")
    ap.add_argument("--queries", type=int, default=23_000)
    ap.add_argument("--gallery", type=int, default=72_000)
    ap.add_argument("--naive-queries", type=int, default=2_300)
    ap.add_argument("--faiss-queries", type=int, default=2_000)
    ap.add_argument("--faiss-gallery", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=256)
    # internal: one search case in a child process
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--nq", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ng", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        _case(args)
        return
    scale = 1.0
    if args.quick:
        scale = 0.1
        args.queries, args.gallery, args.naive_queries = 2_000, 8_000, 500
        args.faiss_queries, args.faiss_gallery, args.repeat = 200, 50_000, 1
    print(f"df2kit retrieval benchmark (numpy {np.__version__}, {os.cpu_count()} cores)")
    if not args.skip_scoring:
        bench_scoring(args.repeat, args.port_repeat, scale)
    if not args.skip_search:
        bench_search(args)


if __name__ == "__main__":
    main()
