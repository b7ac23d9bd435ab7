"""Which stored files a task instance's page may read, and opening them safely.

The paths come from XComs, which anyone who may write a task's XComs can set to anything. So
the api-server's administrator names the storage roots (``[runflow] ui_storage_roots``), and a
task instance reads only files in its own folder under one of them: a folder whose path ends
with the layout the media copier writes, ``{dag_id}/{run_id}/{task_id}[/{map_index}]`` (with the
copier's safe names, or the names as they are, as a templated ``output_path`` spells them).
Access to the page is checked per DAG, and no other DAG's files sit in a folder named after
this task instance, so a user of one team cannot show another team's files by recording their paths.
Roots in ``[runflow] ui_shared_storage_roots`` are read wherever a task's record points in them:
the administrator's choice for a deployment of one team, or a location shared on purpose.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_runflow.media.layout import MediaScope

log = logging.getLogger(__name__)

_NOT_STORAGE = {"", "http", "https"}
"""Schemes never read from: the plugin does not fetch URLs on anyone's behalf."""
_LOCAL = {"file", "local"}


class NotAFile(OSError):
    """The recorded path names a directory, a FIFO, a device... anything but a regular file."""


@dataclass(frozen=True)
class StorageRoot:
    """A location the plugin may read files under, e.g. ``s3://bucket/runflow`` or ``file:///data/runflow``."""

    scheme: str
    netloc: str
    segments: tuple[str, ...]

    def holds(self, uri: str, folder: tuple[str, ...] = ()) -> bool:
        """Whether ``uri`` names a file under this root, in a folder whose path ends with ``folder`` (anywhere
        under the root: ``media_path`` may be a folder of it); no ``..``, no URL, no symlink out of either."""
        target = _plain_parts(uri)
        if target is None or target[:2] != (self.scheme, self.netloc):
            return False
        segments, depth = target[2], len(self.segments)
        if len(segments) <= depth + len(folder) or segments[:depth] != self.segments:
            return False
        if folder and segments[-len(folder) - 1 : -1] != folder:
            return False
        if self.scheme not in _LOCAL:
            return True
        root, parent = _real(self.segments), _real(segments[:-1])
        return _within(urlsplit(uri).path, parent if folder else root) and _within(parent, root)


def _real(segments: tuple[str, ...]) -> str:
    return os.path.realpath("/" + "/".join(segments))


def _within(path: str, base: str) -> bool:
    """Whether ``path``, its links followed, lies in the folder ``base`` (a real path)."""
    return os.path.commonpath([os.path.realpath(path), base]) == base


def parse_roots(setting: str, name: str = "ui_storage_roots") -> tuple[StorageRoot, ...]:
    """The roots of a setting (comma-separated URIs); unusable ones are logged and skipped."""
    roots = []
    for raw in filter(None, (part.strip() for part in setting.split(","))):
        parts = _plain_parts(raw.rstrip("/") + "/_")
        if parts is None:
            log.warning("Ignoring [runflow] %s entry %r: not an absolute object-storage URI", name, raw)
            continue
        roots.append(StorageRoot(parts[0], parts[1], parts[2][:-1]))
    return tuple(roots)


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


def task_folders(scope: MediaScope) -> tuple[tuple[str, ...], ...]:
    """The task instance's folder as the media copier names it (safe names), and as its names are."""
    raw = (scope.dag_id, scope.run_id, scope.task_id, *((str(scope.map_index),) if scope.map_index >= 0 else ()))
    return tuple(dict.fromkeys((tuple(scope.folder().split("/")), raw)))


@dataclass(frozen=True)
class StoragePolicy:
    """``[runflow] ui_storage_roots`` (each task instance reads its own folder) and ``ui_shared_storage_roots``."""

    roots: tuple[StorageRoot, ...] = ()
    shared: tuple[StorageRoot, ...] = ()

    @classmethod
    def parse(cls, roots: str, shared: str = "") -> StoragePolicy:
        return cls(parse_roots(roots), parse_roots(shared, "ui_shared_storage_roots"))

    def may_read(self, uri: str, scope: MediaScope) -> bool:
        """Whether the page of ``scope`` may read ``uri``: in its own folder under a root, or under a shared root."""
        if any(root.holds(uri) for root in self.shared):
            return True
        return any(root.holds(uri, folder) for root in self.roots for folder in task_folders(scope))

    def refusal(self, uri: str, scope: MediaScope) -> str | None:
        """Why the page of ``scope`` may not read ``uri`` (None when it may), for a note on the page."""
        if self.may_read(uri, scope):
            return None
        if any(root.holds(uri) for root in self.roots):
            return "outside this task instance's folder under [runflow] ui_storage_roots"
        return "outside [runflow] ui_storage_roots"


def open_regular_file(uri: str) -> tuple[Any, int | None]:
    """``uri`` opened for binary reading, and its size, if it is a regular file (``NotAFile`` otherwise).

    Checked before anything blocks: opening a FIFO waits for a writer, forever, and a
    directory cannot be read. A local file is opened without blocking, then checked by its
    descriptor, so it cannot be swapped between the check and the read.
    """
    if urlsplit(uri).scheme.lower() in _LOCAL:
        descriptor = os.open(urlsplit(uri).path, os.O_RDONLY | os.O_NONBLOCK)
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            os.close(descriptor)
            raise NotAFile(uri)
        return os.fdopen(descriptor, "rb"), found.st_size
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri)
    info = path.fs.info(path.path)
    if info.get("type") != "file":
        raise NotAFile(uri)
    size = info.get("size")
    return path.open("rb"), size if isinstance(size, int) else None  # type: ignore[no-untyped-call]
