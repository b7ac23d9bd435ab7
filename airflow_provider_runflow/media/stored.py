"""Files an earlier try of the task already stored: found by name, trusted only when their checksum matches.

Each media file gets a ``<file>.sha256`` companion (``sha256sum`` format, so ``sha256sum -c`` checks it),
written only after the file is complete: a file without one was cut short and is copied again.
"""

from __future__ import annotations

import hashlib

from airflow_provider_runflow.media.fetch import CHUNK, Stored
from airflow_provider_runflow.media.folder import SIDECAR, Folder
from airflow_provider_runflow.media.layout import EXTENSIONS

_TYPES = {ext: kind for kind, ext in reversed(EXTENSIONS.items())}


def complete_files(names: set[str]) -> dict[str, str]:
    """Stem → name of every file that has its checksum companion (``00042`` → ``00042.png``)."""
    return {
        name.rsplit(".", 1)[0]: name
        for name in sorted(names)
        if not name.endswith(SIDECAR) and "." in name and f"{name}{SIDECAR}" in names
    }


def _sha256(folder: Folder, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with folder.fs.open(folder.at(name), "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def already_stored(folder: Folder, name: str) -> Stored | None:
    """The file ``name`` of an earlier try, if its content still matches its recorded checksum."""
    recorded = folder.fs.cat_file(folder.at(f"{name}{SIDECAR}")).decode().split(" ", 1)[0].strip()
    size, sha256 = _sha256(folder, name)
    if sha256 != recorded:
        return None
    return Stored(folder.uri_of(name), _TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"), size, sha256)
