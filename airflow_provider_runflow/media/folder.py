"""A task's media folder as its fsspec filesystem and path strings: per-file work skips path-object overhead."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Folder:
    """``fs`` (an fsspec filesystem), ``path`` as that filesystem names it, ``uri`` as users see it."""

    fs: Any
    path: str
    uri: str

    @classmethod
    def of(cls, folder: Any) -> Folder:
        """From an ObjectStoragePath (or any universal-pathlib path)."""
        return cls(folder.fs, str(folder.path).rstrip("/"), str(folder).rstrip("/"))

    @property
    def local(self) -> bool:
        protocol = self.fs.protocol
        return bool({"file", "local"} & set((protocol,) if isinstance(protocol, str) else protocol))

    def at(self, name: str) -> str:
        return f"{self.path}/{name}"

    def uri_of(self, name: str) -> str:
        return f"{self.uri}/{name}"

    def names(self) -> set[str]:
        """Names in the folder (one listing per task, not a request per file); empty when it does not exist."""
        try:
            return {str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(self.path, detail=False)}
        except (FileNotFoundError, NotADirectoryError):
            return set()

    def write(self, name: str, data: bytes) -> None:
        """A small file in one call (on S3, one request)."""
        self.fs.pipe_file(self.at(name), data)

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.at(name))
