"""Options and work of `df2kit evaluate` for the coco tasks (being written; see the issue)."""

from __future__ import annotations

import argparse

from ..errors import DF2Error


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """Add this task family's options to the evaluate parser."""


def run(args: argparse.Namespace) -> int:
    raise DF2Error(f"--task {args.task} is not available yet")
