"""Product descriptions as plain text for prompts: Shopify's ``Body (HTML)`` without its markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
_SKIPPED = frozenset({"script", "style"})
_INLINE = frozenset({"a", "b", "em", "i", "small", "span", "strong", "sub", "sup", "u"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self._skipping:
            self._skipping -= 1
        if tag not in _INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """``<p>Classic <b>clay</b> pot&nbsp;for plants</p>`` -> ``Classic clay pot for plants``."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return _SPACE.sub(" ", "".join(collector.parts)).strip()
