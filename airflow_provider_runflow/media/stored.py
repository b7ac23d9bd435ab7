"""Files an earlier try of the task already stored: found by name, trusted only when their checksum matches.

Each media file gets a ``<file>.sha256`` companion (``sha256sum`` format, so ``sha256sum -c`` checks it),
written only after the file is complete: a file without one was cut short and is copied again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from airflow_provider_runflow.media.fetch import CHUNK, Stored
from airflow_provider_runflow.media.layout import EXTENSIONS

SIDECAR = ".sha256"
_TYPES = {ext: kind for kind, ext in reversed(EXTENSIONS.items())}


def listed(folder: Any) -> set[str]:
    """Names in ``folder`` (one listing per task, not one request per file); empty when it does not exist."""
    try:
        return {path.name for path in folder.iterdir()}
    except (FileNotFoundError, NotADirectoryError):
        return set()


def write_sidecar(folder: Any, stored: Stored) -> None:
    name = stored.path.rsplit("/", 1)[-1]
    (folder / f"{name}{SIDECAR}").write_text(f"{stored.sha256}  {name}\n")


def _sha256(path: Any) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def already_stored(folder: Any, names: set[str], stem: str) -> Stored | None:
    """The complete file ``{stem}.*`` of an earlier try, if its content still matches its recorded checksum."""
    for name in sorted(names):
        if not name.startswith(f"{stem}.") or name.endswith(SIDECAR) or f"{name}{SIDECAR}" not in names:
            continue
        recorded = (folder / f"{name}{SIDECAR}").read_text().split(" ", 1)[0].strip()
        size, sha256 = _sha256(folder / name)
        if sha256 == recorded:
            ext = name.rsplit(".", 1)[-1]
            return Stored(str(folder / name), _TYPES.get(ext, "application/octet-stream"), size, sha256)
    return None
