"""Progress bars for long work (tqdm on stderr; silent when disabled or not on a terminal)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["progress_bar"]


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NullBar:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool = True,
) -> Any:
    """A tqdm bar over ``iterable`` (or a manual bar with ``.update`` when ``iterable`` is None).

    With ``enabled=False`` the iterable is returned unchanged (or a no-op bar). tqdm hides itself when
    stderr is not a terminal.
    """
    if not enabled:
        return iterable if iterable is not None else _NullBar()
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=None, dynamic_ncols=True, leave=False)
