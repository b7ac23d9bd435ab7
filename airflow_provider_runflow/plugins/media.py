"""What an item shows: its stored media (streamed by the plugin from object storage) or its Runflow URLs.

Stored media come from the entry's ``media`` list, whose ``path`` values are object-storage URIs
written by the task. Anyone who can write that task's XComs could record any path there, so the
plugin serves a path only where :mod:`.storage` lets the task instance read (its own folder under
``[runflow] ui_storage_roots``), with a media content type; it never fetches a URL.
"""

from __future__ import annotations

import datetime
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.media.select import media_urls
from airflow_provider_runflow.plugins.storage import StoragePolicy

Kind = Literal["image", "video", "link"]
SERVED_TYPES = {
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "video/ogg",
}
"""Content types the media route serves; not SVG or HTML, which a browser could run as a page."""
_EXTENSIONS: dict[str, Kind] = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif"), "image"),
    **dict.fromkeys((".mp4", ".webm", ".mov", ".m4v", ".ogv"), "video"),
}
MAX_URLS = 8


@dataclass(frozen=True)
class Preview:
    """One thing to show for an item: an image, a video, or a plain link, with a note when it cannot be shown."""

    kind: Kind
    src: str | None
    stored: bool = False
    note: str | None = None


def media_kind(name: str) -> Kind:
    """``image``, ``video`` or ``link``, from a content type (``image/png``) or a path or URL ending."""
    if name.startswith(("image/", "video/")):
        return "image" if name.startswith("image/") else "video"
    return _EXTENSIONS.get(posixpath.splitext(urlsplit(name).path)[1].lower(), "link")


# --- previews ------------------------------------------------------------------------------

MediaUrl = Callable[[int], str]
"""The media route's URL for the entry's k-th stored file."""


@dataclass(frozen=True)
class Shown:
    """Whose previews these are, where they may come from, and when: what every preview decision needs."""

    scope: MediaScope
    storage: StoragePolicy
    now: datetime.datetime


def previews(entry: dict[str, Any], media_url: MediaUrl, shown: Shown) -> list[Preview]:
    """Stored media first; where none can be shown, the Runflow URLs of the output while they are valid."""
    stored = stored_previews(entry.get("media"), media_url, shown)
    if any(p.src for p in stored):
        return stored
    return stored + url_previews(entry.get("output"), shown.now)


def stored_previews(media: Any, media_url: MediaUrl, shown: Shown) -> list[Preview]:
    """One preview per recorded file; files the route would refuse say why instead."""
    found = []
    for k, item in enumerate(media if isinstance(media, list) else []):
        if not isinstance(item, dict):
            continue
        path, content_type = item.get("path"), str(item.get("content_type") or "")
        if not isinstance(path, str):
            found.append(Preview("link", None, note=f"not stored: {item.get('error') or 'no path recorded'}"))
        elif refused := shown.storage.refusal(path, shown.scope):
            found.append(Preview("link", None, note=f"stored at {path}, {refused}"))
        elif content_type not in SERVED_TYPES:
            found.append(Preview("link", None, note=f"stored at {path} as {content_type or 'unknown type'}"))
        else:
            found.append(Preview(media_kind(content_type), media_url(k), stored=True))
    return found


def url_previews(output: Any, now: datetime.datetime) -> list[Preview]:
    """The http(s) URLs found in an output: https images and videos inline until they expire, others as links."""
    found = []
    for url in media_urls(output)[:MAX_URLS]:
        expires = url_expiry(url)
        if expires is not None and expires <= now:
            found.append(Preview("link", None, note=f"Runflow URL expired at {expires:%Y-%m-%d %H:%M} UTC"))
            continue
        kind = media_kind(url) if url.startswith("https://") else "link"
        found.append(Preview(kind, url))
    return found


def url_expiry(url: str) -> datetime.datetime | None:
    """When a presigned URL stops working (AWS SigV4, Google, or a plain ``Expires`` epoch), if it says."""
    query = {key.lower(): values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    for prefix in ("x-amz", "x-goog"):
        signed, lifetime = query.get(f"{prefix}-date"), query.get(f"{prefix}-expires")
        if signed and lifetime and lifetime.isdigit():
            try:
                start = datetime.datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
            except ValueError:
                return None
            return start + datetime.timedelta(seconds=int(lifetime))
    epoch = query.get("expires", "")
    return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch.isdigit() else None
