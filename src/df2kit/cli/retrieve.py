"""df2kit retrieve: top-k shop items for each consumer item, written as the official retrieval results file."""

from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..search import BACKENDS, GalleryIndex, entries_from_search, search_similarity, write_retrieval_results
from ._common import print_json, whole_number

NAME = "retrieve"
HELP = "search shop items for consumer items and write the official retrieval results"
DESCRIPTION = """\
Given item embeddings of consumer (query) items and shop (gallery) items, find the k most
similar shop items of each query (exact cosine similarity) and write the official retrieval
results file, ready for `df2kit evaluate --task retrieval`.

QUERIES and GALLERY are .npz files (np.savez) with these arrays, one row per item:
  QUERIES: embeddings (n, d), image_ids (n,), boxes_xyxy (n, 4), categories (n,) 1..13, scores (n,)
  GALLERY: embeddings (m, d), image_ids (m,), boxes_xyxy (m, 4)
With --similarity S.npy (a query x gallery matrix, larger = more similar; read in batches
through a memory map) the embeddings arrays are not needed."""
EXAMPLES = """\
df2kit retrieve queries.npz gallery.npz -o retrieval_results.json
df2kit retrieve queries.npz gallery.npz --similarity sim.npy -o retrieval_results.json
df2kit retrieve queries.npz gallery.npz -o results.json --backend faiss -k 20
df2kit evaluate --task retrieval ROOT/validation retrieval_results.json
"""

_QUERY_KEYS = ("image_ids", "boxes_xyxy", "categories", "scores")
_GALLERY_KEYS = ("image_ids", "boxes_xyxy")


_positive_int = whole_number(1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("queries", metavar="QUERIES", help="query items .npz (consumer items)")
    p.add_argument("gallery", metavar="GALLERY", help="gallery items .npz (shop items)")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="results JSON to write")
    p.add_argument("-k", type=_positive_int, default=20, help="shop items per query (default: 20, as the official files)")
    p.add_argument("--similarity", metavar="S.npy", help="use this query x gallery similarity matrix instead of embeddings")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="embedding search: numpy (exact, batched), faiss (exact, needs faiss), auto (default)")
    p.add_argument("--max-batch-mb", type=_positive_int, default=256, metavar="MB",
                   help="memory for one block of similarities (default: 256)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def _load_npz(path: str, keys: tuple[str, ...], *, need_embeddings: bool) -> dict[str, np.ndarray]:
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        raise FormatError("not a .npz file (expected a file written by numpy.savez)", path=path)
    try:
        with np.load(path, allow_pickle=False) as z:
            have = set(z.files)
            want = keys + (("embeddings",) if need_embeddings else ())
            missing = [k for k in want if k not in have]
            if missing:
                raise FormatError(
                    f"missing array(s) {', '.join(missing)} (has: {', '.join(sorted(have)) or 'none'})", path=path
                )
            return {k: z[k] for k in want}
    except FileNotFoundError:
        raise FormatError("file not found", path=path) from None
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FormatError(f"not a readable .npz file ({e})", path=path) from None


def _with_path(fn: Any, path: str) -> Any:
    try:
        return fn()
    except FormatError as e:
        if e.path is None:
            raise FormatError(e.message, path=path, item=e.item, field=e.field) from None
        raise


def run(args: argparse.Namespace) -> int:
    use_sim = args.similarity is not None
    q = _load_npz(args.queries, _QUERY_KEYS, need_embeddings=not use_sim)
    g = _load_npz(args.gallery, _GALLERY_KEYS, need_embeddings=not use_sim)
    t0 = time.perf_counter()
    max_bytes = args.max_batch_mb * 2**20
    if use_sim:
        try:
            sim = np.load(args.similarity, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise FormatError("file not found", path=args.similarity) from None
        except (OSError, ValueError) as e:
            raise FormatError(f"not a readable .npy file ({e})", path=args.similarity) from None
        want = (len(q["image_ids"]), len(g["image_ids"]))
        if sim.shape != want:
            raise FormatError(f"expected shape {want} (queries x gallery items), got {sim.shape}", path=args.similarity)
        found = _with_path(lambda: search_similarity(sim, args.k, max_batch_bytes=max_bytes, progress=args.progress),
                           args.similarity)
        backend = "similarity matrix"
    else:
        index = _with_path(
            lambda: GalleryIndex(g["embeddings"], g["image_ids"], g["boxes_xyxy"], backend=args.backend,
                                 max_batch_bytes=max_bytes),
            args.gallery,
        )
        found = _with_path(lambda: index.search(q["embeddings"], args.k, progress=args.progress), args.queries)
        backend = f"{index.backend} exact cosine"
    entries = _with_path(
        lambda: entries_from_search(found, g["image_ids"], g["boxes_xyxy"], q["image_ids"], q["boxes_xyxy"],
                                    q["categories"], q["scores"]),
        args.queries,
    )
    write_retrieval_results(args.out, entries)
    seconds = time.perf_counter() - t0
    summary = {
        "out": str(Path(args.out)),
        "queries": len(entries),
        "gallery_items": len(g["image_ids"]),
        "k": int(found.k),
        "backend": backend,
        "seconds": round(seconds, 3),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {len(entries):,} ranked lists of {found.k} shop items ({len(g['image_ids']):,} gallery items, "
            f"{backend}, {seconds:.1f} s) to {args.out}"
        )
    return 0
