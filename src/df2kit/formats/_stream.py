"""Streaming over a split for the converters: chunks of files parsed in worker processes, results in order.

A converter that reads a folder never holds the whole split: each worker parses a chunk of annotation files
with the scanner's own code (:func:`df2kit.io.scan.scan_files`, so broken files and items are skipped and
reported exactly as :func:`~df2kit.io.scan_split` does), reads the chunk's image headers and does the
converter's work; the main process consumes the results in file order with a bounded number in flight.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._atomic import part_prefix, remove_stale_parts
from .._workers import mp_context
from ..errors import DatasetError, Issue
from ..io.scan import SplitTable, annotation_names, image_size_or_error, resolve_split, scan_files

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Annotation files per chunk (as the scanner), and items per chunk when a table is split.
FILES_PER_CHUNK = 1000
ITEMS_PER_CHUNK = 2000


def annotated_split(source: str | os.PathLike[str], split: str | None) -> Path:
    """The split folder, which must hold ``annos/``."""
    split_dir = resolve_split(source, split)
    if not (split_dir / "annos").is_dir():
        hint = " (the test split has no annotations: its labels are withheld)" if split_dir.name == "test" else ""
        raise DatasetError(f"no annos/ folder{hint}", path=str(split_dir))
    return split_dir


def file_chunks(split_dir: Path, step: int = FILES_PER_CHUNK) -> tuple[list[list[str]], list[Issue], int]:
    """Annotation file names in image-id order, in chunks; a second file with the same image id is left out
    with a ``duplicate-image-id`` error, as the scanner does. Returns (chunks, issues, files seen)."""
    anno_dir = split_dir / "annos"
    names = annotation_names(anno_dir)
    issues: list[Issue] = []
    seen = len(names)
    digit = [n[:-5].isdigit() and n[:-5].isascii() for n in names]
    order = sorted(range(len(names)), key=lambda i: (0, int(names[i][:-5]), i) if digit[i] else (1, 0, i))
    kept: list[str] = []
    first_of: dict[int, str] = {}
    for i in order:
        n = names[i]
        if digit[i]:
            iid = int(n[:-5])
            if iid in first_of:
                issues.append(
                    Issue(
                        "error",
                        "duplicate-image-id",
                        f"image id {iid} already comes from {first_of[iid][:-5]}.json; this file is skipped",
                        str(anno_dir / n),
                    )
                )
                continue
            first_of[iid] = n
        kept.append(n)
    return [kept[i : i + step] for i in range(0, len(kept), step)], issues, seen


def with_sizes(t: SplitTable) -> tuple[SplitTable, list[str]]:
    """``t`` with width/height from the image headers (read here, serially) and the paths that failed."""
    if t.width is not None and t.height is not None:
        return t, [str(t.image_path(int(i))) for i in np.flatnonzero(t.width < 0)]
    sizes = [image_size_or_error(str(t.image_path(i))) for i in range(len(t))]
    missing = [str(t.image_path(i)) for i, s in enumerate(sizes) if isinstance(s, Exception)]
    w = np.array([-1 if isinstance(s, Exception) else s.width for s in sizes], dtype=np.int64)
    h = np.array([-1 if isinstance(s, Exception) else s.height for s in sizes], dtype=np.int64)
    return replace(t, width=w, height=h), missing


def read_chunk(split_dir: str, names: list[str]) -> tuple[SplitTable, list[Issue], list[str]]:
    """Parse a chunk of annotation files (scanner rules) and read its image headers.

    Returns the chunk's table (sorted by image id, with width/height), the reader's issues and the image
    paths that are missing or unreadable.
    """
    t = scan_files(split_dir, names)
    issues = list(t.issues)
    t, missing = with_sizes(replace(t, issues=()))
    return t, issues, missing


def table_chunks(t: SplitTable, items_per_chunk: int = ITEMS_PER_CHUNK) -> list[SplitTable]:
    """Sub-tables of about ``items_per_chunk`` items each (whole images), in order."""
    n = len(t)
    if n == 0:
        return []
    cuts = np.searchsorted(t.item_start, np.arange(items_per_chunk, t.num_items, items_per_chunk), side="left")
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]]))
    return [
        replace(t.select(np.arange(lo, hi)), issues=())
        for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist())
        if hi > lo
    ]


def ordered_map(fn: Callable[[Any], R], jobs: Sequence[Any], workers: int) -> Iterator[R]:
    """``fn(job)`` for each job, in order, in worker processes when ``workers > 1``; at most ``2 * workers``
    jobs are in flight, so results never pile up in memory. ``fn`` must be a module-level function."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield fn(job)
        return
    with mp_context().Pool(workers) as pool:
        pending: deque[Any] = deque()
        todo = iter(jobs)
        for job in todo:
            pending.append(pool.apply_async(fn, (job,)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            res = pending.popleft().get()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.apply_async(fn, (nxt,)))
            yield res


def temp_dir(parent: Path, name: str) -> Path:
    """A new hidden folder in ``parent`` to fill before :func:`swap_in_dir` (permissions as a normal mkdir).

    Folders of the same name left by killed runs are deleted first (:func:`df2kit._atomic.remove_stale_parts`).
    """
    for p in remove_stale_parts(parent, name):
        log.info("removed %s, left by a run that was killed", p)
    d = Path(tempfile.mkdtemp(prefix=part_prefix(name), suffix=".part", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(d, 0o777 & ~umask)  # mkdtemp makes 0700 folders; datasets are usually shared
    return d


def swap_in_dir(tmp: Path, final: Path) -> None:
    """Replace the folder ``final`` (maybe absent) by ``tmp`` with two renames, then delete the old one."""
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()


def count_skipped(issues: Sequence[Issue]) -> int:
    """Broken files or items among reader issues (a broken item often has several errors)."""
    return len({(i.path, i.item) for i in issues if i.severity == "error"})


def missing_images_error(paths: list[str], n: int, total: int | None = None) -> DatasetError:
    of = f" of {total}" if total is not None else ""
    return DatasetError(
        f"{n}{of} image(s) missing or unreadable, so their width and height are unknown (converters need "
        "them; `df2kit validate` lists them); first",
        path=paths[0],
    )
