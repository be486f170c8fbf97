"""How much text an HTML document shows, measured without a full parser (API side)."""

from __future__ import annotations

from html.parser import HTMLParser

# Their content is never shown as text.
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head"})


class _Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.length += len(" ".join(data.split()))


def visible_text_length(html: str) -> int:
    """Characters of text ``html`` shows (whitespace runs count as one), markup aside."""
    counter = _Counter()
    counter.feed(html)
    counter.close()
    return counter.length
