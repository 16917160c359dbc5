"""Self-contained HTML pages: a counterexample to step through, and the state-space explorer's shell.

The templates, style and script live in ``mabeam/cli/assets`` (plain HTML, CSS and
JavaScript, readable and editable as such) and are inlined here, so a trace page
is one file that opens from disk with no network and no server.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _fill(template: str, title: str, **parts: str) -> str:
    page = _asset(template).replace("__CSS__", _asset("page.css")).replace("__NODES_JS__", _asset("nodes.js"))
    for key, value in parts.items():
        page = page.replace(f"__{key}__", value)
    return page.replace("__TITLE__", html.escape(title))


def trace_page(document: dict[str, Any]) -> str:
    """The page for one trace document (:func:`mabeam.checker.render.trace_document`)."""
    data = json.dumps(document, ensure_ascii=False).replace("</", "<\\/")  # never closes the script element
    return _fill("trace.html", document.get("title") or "mabeam trace", DATA=data)


def explore_page(title: str) -> str:
    """The explorer's page; it fetches states from the server that serves it (``mabeam explore``)."""
    return _fill("explore.html", title)
