"""Write files so that an interrupted run never leaves a complete-looking partial file.

Everything df2kit writes goes to a temporary name in the same folder and is renamed into place when complete
(``os.replace`` is atomic on POSIX and Windows). The temporary name says which machine and process write it
(``.NAME.HOST-PID.RANDOM.part``), so that a later run can tell the leftovers of a killed run (same machine,
process gone: :func:`remove_stale_parts`) from the work of a run still going.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "part_prefix", "remove_stale_parts"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@functools.cache
def _host() -> str:
    """This machine's name as it appears in temporary names (asked once per process)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


def part_prefix(name: str) -> str:
    """Prefix of this process's temporary names for ``name``: ``.NAME.HOST-PID.`` (then random, ``.part``)."""
    return f".{name}.{_host()}-{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else (PermissionError), or cannot be asked: keep its files
        return True
    return True


def remove_stale_parts(folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Delete the temporary files or folders for ``name`` in ``folder`` left by killed runs; returns them.

    Only names written by this machine (see :func:`part_prefix`) whose process no longer exists are removed:
    a run still writing, or one on another machine sharing the folder, keeps its files.
    """
    head = f".{name}.{_host()}-"
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        if not (e.name.startswith(head) and e.name.endswith(".part")):
            continue
        pid = e.name[len(head):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
    return removed


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kwargs: object) -> Iterator[IO]:  # type: ignore[type-arg]
    """Open a temporary file beside ``path``; on clean exit rename it to ``path``, on error remove it."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=part_prefix(path.name), suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, mode, **kwargs) as f:  # type: ignore[call-overload]
            yield f
            f.flush()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
