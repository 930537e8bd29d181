"""A very small HTML builder that escapes every text by construction.

Text children and attribute values are always passed through :func:`html.escape`; the only way to put markup
in the page is an element built here (or :class:`Raw`, used for the fixed style sheet alone). So no text that
comes from an input file can become markup.

>>> str(E("td", {"class": "num"}, "<script>"))
'<td class="num">&lt;script&gt;</td>'
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Union

__all__ = ["E", "Node", "Raw", "data_uri", "render_document"]

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class Raw:
    """Markup that is trusted as is (df2kit's own constant strings only)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


Node = Union["E", Raw, str, int, float, None]


class E:
    """One element: ``E(tag, attrs?, *children)``; children may be nested lists; None is skipped."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, *args: Any) -> None:
        if not _NAME.match(tag):
            raise ValueError(f"bad tag name {tag!r}")
        attrs: Mapping[str, Any] = {}
        if args and isinstance(args[0], Mapping):
            attrs, args = args[0], args[1:]
        for k in attrs:
            if not _NAME.match(k):
                raise ValueError(f"bad attribute name {k!r}")
        self.tag = tag
        self.attrs = dict(attrs)
        self.children = list(_flatten(args))
        if tag in _VOID and self.children:
            raise ValueError(f"<{tag}> cannot have children")

    def render(self, out: list[str]) -> None:
        out.append("<" + self.tag)
        for k, v in self.attrs.items():
            if v is None or v is False:
                continue
            if v is True:
                out.append(f" {k}")
            else:
                out.append(f' {k}="{html.escape(str(v), quote=True)}"')
        out.append(">")
        if self.tag in _VOID:
            return
        for c in self.children:
            if isinstance(c, E):
                c.render(out)
            elif isinstance(c, Raw):
                out.append(c.text)
            else:
                out.append(html.escape(_text(c), quote=False))
        out.append(f"</{self.tag}>")

    def __str__(self) -> str:
        out: list[str] = []
        self.render(out)
        return "".join(out)


def _text(v: Any) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    for c in items:
        if c is None:
            continue
        if isinstance(c, (list, tuple)):
            yield from _flatten(c)
        else:
            yield c


def data_uri(data: bytes, mime: str) -> str:
    """Embed bytes in the page (``data:image/png;base64,...``): the report needs no other file."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def render_document(head: Iterable[Node], body: Iterable[Node], *, lang: str = "en") -> str:
    """A complete HTML5 document."""
    doc = E("html", {"lang": lang}, E("head", list(head)), E("body", list(body)))
    return "<!DOCTYPE html>\n" + str(doc) + "\n"
