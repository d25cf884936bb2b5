"""Find what a browser would run in a feedback page's body: scripts, event handlers, script URLs, frames.

nbgrader's feedback template loads MathJax in the page's ``<head>``; nothing in the ``<body>``,
where the notebook is rendered, may be executable. :func:`executable_content` names each such
element, so that feedback holding one is refused instead of sent (:mod:`autograder.report`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["executable_content"]

_ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "meta", "link"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcdoc"}
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|data:image/(png|jpeg|gif|svg\+xml);|[^:]*$)", re.IGNORECASE)
"""URLs that do not run code: web and mail links, anchors, images, relative paths."""
_INVISIBLE = re.compile(r"[\x00-\x20]+")


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_body = False
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if not self.in_body:
            return
        if tag in _ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name in _URL_ATTRIBUTES and value and not _SAFE_URL.match(_INVISIBLE.sub("", value)):
                self.found.append(f"<{tag} {name}={value[:40]!r}>")

    handle_startendtag = handle_starttag


def executable_content(page: str) -> list[str]:
    """Each element of the page's body that a browser would run or that loads a page, described."""
    scanner = _Scanner()
    scanner.feed(page)
    scanner.close()
    return scanner.found
