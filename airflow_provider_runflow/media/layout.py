"""Where each media file goes under ``media_path``: deterministic, safe names; no I/O.

``{dag_id}/{run_id}/{task_id}[/{map_index}]/{index:05d}[-{k}].{ext}``: a retry of the task
computes the same names, which is what lets it find the files an earlier try stored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_PART = 120

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/svg+xml": "svg",
    "image/tiff": "tif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "model/gltf-binary": "glb",
}
MEDIA_TYPES = ("image/*", "video/*", "audio/*", "model/*")
"""Content-Types stored by default; anything else (an HTML error page, JSON) is refused."""


def safe_part(value: str) -> str:
    """``value`` as one safe path segment: ``[A-Za-z0-9._-]`` only, no leading dot, at most 120 characters.

    A changed value gets a short hash of the original, so two run ids that differ only in
    unsafe characters never share a folder.
    """
    cleaned = _UNSAFE.sub("_", value).lstrip(".")[:MAX_PART] or "_"
    if cleaned == value:
        return cleaned
    return f"{cleaned[: MAX_PART - 9]}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class MediaScope:
    """The task instance whose media are stored: the folders of the layout."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    def folder(self) -> str:
        parts = [self.dag_id, self.run_id, self.task_id]
        if self.map_index >= 0:
            parts.append(str(self.map_index))
        return "/".join(safe_part(part) for part in parts)


def file_stem(index: int, k: int, count: int) -> str:
    """``00042`` for an item's only file, ``00042-0``, ``00042-1``... when it has several."""
    return f"{index:05d}" if count == 1 else f"{index:05d}-{k}"


def media_type(content_type: str | None) -> str:
    """The bare, lower-case media type of a Content-Type header (``image/png; x=y`` → ``image/png``)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_allowed(content_type: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``content_type`` matches one of ``allowed`` (exact types, or ``kind/*``)."""
    kind = media_type(content_type)
    return any(kind == pattern or (pattern.endswith("/*") and kind.startswith(pattern[:-1])) for pattern in allowed)


def extension(content_type: str) -> str:
    """The file extension for ``content_type``: known types by name, else the safe subtype, else ``bin``."""
    kind = media_type(content_type)
    if kind in EXTENSIONS:
        return EXTENSIONS[kind]
    subtype = re.sub(r"[^a-z0-9]+", "", kind.partition("/")[2].split("+", 1)[0])
    return subtype[:10] or "bin"
