"""Files an earlier try of the task already stored: found by name, trusted only when their checksum matches.

A file counts only once a manifest part lists it (written after the file was complete, see
:mod:`~airflow_provider_runflow.media.manifest`): a file without a listing was cut short, or its
part was never written, and is copied again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from airflow_provider_runflow.media.fetch import CHUNK, Stored
from airflow_provider_runflow.media.folder import Folder
from airflow_provider_runflow.media.layout import EXTENSIONS
from airflow_provider_runflow.media.manifest import is_part, parse

_TYPES = {ext: kind for kind, ext in reversed(EXTENSIONS.items())}


@dataclass(frozen=True)
class Listed:
    """A file of the folder and the checksums the manifest lists for it."""

    name: str
    sha256: frozenset[str]


def listed_files(folder: Folder) -> dict[str, Listed]:
    """Stem → file for every file present and listed by a manifest part (``00042`` → ``00042.png``).

    One listing of the folder and one read per part, not a request per file."""
    names = folder.names()
    listed: dict[str, set[str]] = {}
    for part in sorted(filter(is_part, names)):
        for name, digests in parse(folder.fs.cat_file(folder.at(part)).decode(errors="replace")).items():
            listed.setdefault(name, set()).update(digests)
    return {
        name.rsplit(".", 1)[0]: Listed(name, frozenset(listed[name]))
        for name in sorted(names)
        if name in listed and "." in name and not is_part(name)
    }


def _sha256(folder: Folder, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with folder.fs.open(folder.at(name), "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def already_stored(folder: Folder, earlier: Listed) -> Stored | None:
    """The file of an earlier try, if its content still matches a checksum listed for it."""
    size, sha256 = _sha256(folder, earlier.name)
    if sha256 not in earlier.sha256:
        return None
    kind = _TYPES.get(earlier.name.rsplit(".", 1)[-1], "application/octet-stream")
    return Stored(folder.uri_of(earlier.name), kind, size, sha256)
