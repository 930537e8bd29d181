"""Run a command and sample the peak memory of its whole process tree (shared by the benchmark scripts)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence


def tree_rss(p) -> int:
    """Resident bytes of a process and all its children now (0 once it has ended)."""
    import psutil

    try:
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_sampled(
    argv: Sequence[str], *, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> tuple[float, float, int, str]:
    """(seconds, peak MB of the process tree sampled every 50 ms, exit code, stderr) of one command.

    Shared pages of forked workers count once per process, so a pool's peak is over-stated."""
    import psutil

    t0 = time.perf_counter()
    # preexec_fn only sets a resource limit, and the sampling thread starts after the fork
    proc = subprocess.Popen(list(argv), env=env, preexec_fn=preexec_fn, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: PLW1509
    ps = psutil.Process(proc.pid)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(ps))
            stop.wait(0.05)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    _, err = proc.communicate()
    secs = time.perf_counter() - t0
    stop.set()
    th.join()
    return secs, peak / 2**20, proc.returncode, err.decode(errors="replace")
