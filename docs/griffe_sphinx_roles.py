"""Griffe extension for the docs build: Sphinx roles in docstrings become Markdown.

The package's docstrings use Sphinx fields and roles (``:param x:``, ``:class:`Name```).
mkdocstrings parses the fields but prints roles as typed; here a fully qualified target
becomes a cross-reference and any other target plain code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([\w.]+)`")


def _markdown(match: re.Match[str]) -> str:
    short, target = match.group(1) == "~", match.group(2)
    shown = target.rsplit(".", 1)[-1] if short else target
    if target.startswith("airflow_provider_runflow."):
        return f"[`{shown}`][{target}]"
    return f"`{shown}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_markdown, obj.docstring.value)
