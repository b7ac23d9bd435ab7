"""What an item shows: its stored media (streamed by the plugin from object storage) or its Runflow URLs.

Stored media come from the entry's ``media`` list, whose ``path`` values are object-storage URIs
written by the task. Anyone who can write that task's XComs could record any path there, so the
plugin serves a path only when it lies under one of the roots the api-server's administrator
listed in ``[runflow] ui_storage_roots``, with a media content type; it never fetches a URL.
"""

from __future__ import annotations

import datetime
import logging
import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

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
_NOT_STORAGE = {"", "http", "https"}
"""Schemes never read from: the plugin does not fetch URLs on anyone's behalf."""
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


# --- storage roots -------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageRoot:
    """A location the plugin may read files under, e.g. ``s3://bucket/runflow`` or ``file:///data/runflow``."""

    scheme: str
    netloc: str
    segments: tuple[str, ...]

    def holds(self, uri: str) -> bool:
        """Whether ``uri`` names a file under this root: no ``..``, no URL, no symlink out of a local root."""
        target = _plain_parts(uri)
        if target is None or target[:2] != (self.scheme, self.netloc):
            return False
        segments = target[2]
        if len(segments) <= len(self.segments) or segments[: len(self.segments)] != self.segments:
            return False
        if self.scheme not in _LOCAL:
            return True
        root = os.path.realpath("/" + "/".join(self.segments))
        return os.path.commonpath([os.path.realpath(urlsplit(uri).path), root]) == root


_LOCAL = {"file", "local"}


def parse_roots(setting: str) -> tuple[StorageRoot, ...]:
    """The roots of ``[runflow] ui_storage_roots`` (comma-separated URIs); unusable ones are logged and skipped."""
    roots = []
    for raw in filter(None, (part.strip() for part in setting.split(","))):
        parts = _plain_parts(raw.rstrip("/") + "/_")
        if parts is None:
            log.warning("Ignoring [runflow] ui_storage_roots entry %r: not an absolute object-storage URI", raw)
            continue
        roots.append(StorageRoot(parts[0], parts[1], parts[2][:-1]))
    return tuple(roots)


def within_roots(uri: str, roots: tuple[StorageRoot, ...]) -> bool:
    return any(root.holds(uri) for root in roots)


def _plain_parts(uri: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``(scheme, netloc, path segments)`` of a plain absolute storage URI; None for a URL or anything odd."""
    if any(char in uri for char in "\\\x00"):
        return None
    parts = urlsplit(uri)
    segments = parts.path.split("/")
    if parts.scheme.lower() in _NOT_STORAGE or parts.query or parts.fragment or segments[0] != "":
        return None
    if any(segment in ("", ".", "..") for segment in segments[1:]):
        return None
    return parts.scheme.lower(), parts.netloc, tuple(segments[1:])


# --- previews ------------------------------------------------------------------------------

MediaUrl = Callable[[int], str]
"""The media route's URL for the entry's k-th stored file."""


def previews(
    entry: dict[str, Any], media_url: MediaUrl, roots: tuple[StorageRoot, ...], now: datetime.datetime
) -> list[Preview]:
    """Stored media first; where none can be shown, the Runflow URLs of the output while they are valid."""
    stored = stored_previews(entry.get("media"), media_url, roots)
    if any(p.src for p in stored):
        return stored
    return stored + url_previews(entry.get("output"), now)


def stored_previews(media: Any, media_url: MediaUrl, roots: tuple[StorageRoot, ...]) -> list[Preview]:
    """One preview per recorded file; files the route would refuse say why instead."""
    found = []
    for k, item in enumerate(media if isinstance(media, list) else []):
        if not isinstance(item, dict):
            continue
        path, content_type = item.get("path"), str(item.get("content_type") or "")
        if not isinstance(path, str):
            found.append(Preview("link", None, note=f"not stored: {item.get('error') or 'no path recorded'}"))
        elif not within_roots(path, roots):
            found.append(Preview("link", None, note=f"stored at {path}, outside [runflow] ui_storage_roots"))
        elif content_type not in SERVED_TYPES:
            found.append(Preview("link", None, note=f"stored at {path} as {content_type or 'unknown type'}"))
        else:
            found.append(Preview(media_kind(content_type), media_url(k), stored=True))
    return found


def url_previews(output: Any, now: datetime.datetime) -> list[Preview]:
    """The http(s) URLs found in an output: https images and videos inline until they expire, others as links."""
    found = []
    for url in _urls(output):
        expires = url_expiry(url)
        if expires is not None and expires <= now:
            found.append(Preview("link", None, note=f"Runflow URL expired at {expires:%Y-%m-%d %H:%M} UTC"))
            continue
        kind = media_kind(url) if url.startswith("https://") else "link"
        found.append(Preview(kind, url))
    return found


def _urls(value: Any) -> Iterator[str]:
    stack, seen = [value], 0
    while stack and seen < MAX_URLS:
        current = stack.pop(0)
        if isinstance(current, str) and current.startswith(("http://", "https://")):
            seen += 1
            yield current
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


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
