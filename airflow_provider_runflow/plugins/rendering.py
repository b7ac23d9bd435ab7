"""The page as HTML: a Jinja template with autoescaping, its stylesheet inline and pinned by the CSP's hash.

No script runs on the page (filters and pages are plain links), so the policy allows none.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

from airflow_provider_runflow.plugins.entries import BUCKETS, FILTERS
from airflow_provider_runflow.plugins.media import Preview
from airflow_provider_runflow.plugins.view import ItemView, OutputsView

_TEMPLATES = Path(__file__).parent / "templates"
_CSS = (_TEMPLATES / "outputs.css").read_text()
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
)
FILTER_LABELS = tuple((name, name.replace("_", " ").capitalize()) for name in FILTERS)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()}'",
        # Stored media come from this app; Runflow's own (https) URLs are shown while they are valid.
        "img-src 'self' https:",
        "media-src 'self' https:",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'none'",
    )
)
"""For every response of the app: no script, no plugin, no foreign style, framed only by Airflow's UI."""


def render_page(view: OutputsView) -> str:
    def link(**changes: Any) -> str:
        query: dict[str, Any] = {"dag_id": view.dag_id, "run_id": view.run_id, "task_id": view.task_id}
        query |= {"map_index": view.map_index, "status": view.status, "page": view.page, "per_page": view.per_page}
        return "?" + urlencode(query | changes)

    template = _ENV.get_template("outputs.html")
    return template.render(
        view=view, css=Markup(_CSS), filters=FILTER_LABELS, link=link,
        thumbnail=thumbnail, poster=poster, shows_filter=shows_filter, round_columns=round_columns,
    )  # fmt: skip


def shows_filter(name: str, counts: dict[str, int]) -> bool:
    """ "All", and each filter that holds items; "Not succeeded" only when it is more than one other filter."""
    if name == "not_succeeded":
        return sum(1 for other in BUCKETS[1:] if counts.get(other)) > 1
    return name == "all" or bool(counts.get(name))


def round_columns(rounds: list[dict[str, Any]]) -> list[str]:
    """The columns of the rounds table: every key the rounds have but ``round``, in the order they come."""
    return [key for key in dict.fromkeys(k for r in rounds for k in r) if key != "round"]


def thumbnail(item: ItemView) -> Preview | None:
    """The preview shown in the item's tile: its first image or video that can be loaded."""
    return next((p for p in item.previews if p.src and p.kind != "link"), None)


def poster(item: ItemView) -> Preview | None:
    """A still for a video tile: the item's first loadable image, if it has one besides the video."""
    return next((p for p in item.previews if p.src and p.kind == "image"), None)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _duration(seconds: Any) -> str:
    try:
        total = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return str(seconds)
    if not math.isfinite(total):
        return str(seconds)
    minutes, secs = divmod(round(total), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else f"{total:.1f} s"


_ENV.filters["pretty"] = _pretty
_ENV.filters["duration"] = _duration
