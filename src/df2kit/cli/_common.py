"""Shared argument helpers and printing for the sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ..errors import DatasetError
from ..io.scan import SPLITS, resolve_split


def whole_number(minimum: int = 1) -> Callable[[str], int]:
    """An argparse ``type`` for whole numbers >= ``minimum`` (a bad value is one usage line naming the flag)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {v}")
        return v

    return parse


def add_root(parser: argparse.ArgumentParser, *, split_default: str | None = None, split_help: str | None = None) -> None:
    parser.add_argument("root", metavar="ROOT", help="DeepFashion2 root (holding train/, validation/, test/) or one split folder")
    parser.add_argument(
        "--split",
        default=split_default,
        help=split_help or "split folder under ROOT (default: every split found)",
    )


def add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="processes to use (default: all cores)")


def add_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the scan cache ($DF2KIT_CACHE_DIR, default ~/.cache/df2kit)",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def split_dirs(root: str, split: str | None, *, need_annos: bool) -> list[Path]:
    """The split folders a command should visit: the named one, ROOT itself if it is a split, else all found."""
    r = Path(root)
    if split is not None:
        return [resolve_split(r, split)]
    if (r / "annos").is_dir() or (r / "image").is_dir():
        return [r]
    found = [r / s for s in SPLITS if (r / s).is_dir() and (not need_annos or (r / s / "annos").is_dir())]
    if not found:
        resolve_split(r, None)  # raises with a precise message when ROOT is not a dataset
        raise DatasetError("no split folders (train/, validation/, test/) with annotations here", path=str(r))
    return found


def print_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
