"""Process-pool facts shared by the scanner, the converters and the generator.

>>> from df2kit._workers import cpu_count, mp_context
>>> cpu_count() >= 1
True
>>> mp_context().get_start_method() in ("fork", "spawn")
True
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
import threading

__all__ = ["cpu_count", "mp_context"]


def cpu_count() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def mp_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux while this process has one thread (fast start, nothing to re-import), else ``spawn``
    (forking a threaded process can copy a held lock)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
