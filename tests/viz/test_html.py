"""The HTML builder escapes every text and attribute by construction (property test)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from df2kit.report._html import E, Raw, render_document

# any text a file could hold, markup characters made likely
_PIECES = st.sampled_from(list("<>&\"'/=ab c\n;#x") + ["<script>", "</p>", "&amp;", "<!--", "]]>", "\u00e9"])
TEXT = st.lists(_PIECES | st.characters(blacklist_categories=("Cs",)), max_size=30).map("".join)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attrs.append(dict(attrs))

    def handle_data(self, data) -> None:
        self.data.append(data)


@settings(max_examples=200, deadline=None)
@given(text=TEXT, attr=TEXT)
def test_text_and_attributes_round_trip_as_text(text: str, attr: str) -> None:
    html = str(E("div", {"title": attr}, E("p", text)))
    c = _Collect()
    c.feed(html)
    c.close()
    text_norm = text.replace("\r\n", "\n").replace("\r", "\n")
    assert c.tags == ["div", "p"]  # no element came from the text
    assert "".join(c.data).replace("\r\n", "\n").replace("\r", "\n") == text_norm
    assert c.attrs[0]["title"].replace("\r\n", "\n").replace("\r", "\n") == attr.replace("\r\n", "\n").replace("\r", "\n")


def test_names_are_checked_and_void_elements_have_no_children() -> None:
    with pytest.raises(ValueError):
        E("p onclick=x")
    with pytest.raises(ValueError):
        E("p", {"on click": "x"})
    with pytest.raises(ValueError):
        E("img", "child")
    assert str(E("img", {"src": "data:,", "alt": "a", "hidden": True, "x": None})) == '<img src="data:," alt="a" hidden>'


def test_document_shape() -> None:
    doc = render_document([E("title", "t")], [E("p", Raw("<b>ok</b>"))])
    assert doc.startswith("<!DOCTYPE html>\n<html lang=\"en\"><head><title>t</title></head><body><p><b>ok</b></p>")
