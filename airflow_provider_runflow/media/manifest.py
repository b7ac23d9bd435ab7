"""The checksum manifest of a task's media folder, written in parts (pure: no I/O).

Each part is a file ``SHA256SUMS.<copier>.<n>`` in ``sha256sum`` format (``sha256sum -c`` checks it)
listing files copied completely. A part is written every :data:`EVERY` files or :data:`SECONDS`
seconds, and when a copying step ends: one small write per part instead of a companion file per
media file (on S3, a request per file saved). A crash loses at most the part not yet written; a
retry finds those files unlisted and copies them again, as it does a file cut short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PREFIX = "SHA256SUMS."
EVERY = 100
SECONDS = 10.0
_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)\n")


def is_part(name: str) -> bool:
    return name.startswith(PREFIX)


def parse(text: str) -> dict[str, set[str]]:
    """File name → the checksums listed for it. Only whole lines count: a part cut short by a crash
    loses its last line, never names a file it did not finish listing."""
    listed: dict[str, set[str]] = {}
    for match in _LINE.finditer(text):
        listed.setdefault(match.group(2), set()).add(match.group(1))
    return listed


@dataclass
class Manifest:
    """The lines of one copier not yet written, and the name of its next part."""

    copier: str
    parts: int = 0
    lines: list[str] = field(default_factory=list)
    since: float = 0.0

    def add(self, name: str, sha256: str, now: float) -> tuple[str, bytes] | None:
        """List ``name``; the part to write now, when enough files or time have gathered."""
        if not self.lines:
            self.since = now
        self.lines.append(f"{sha256}  {name}\n")
        return self.take() if len(self.lines) >= EVERY or now - self.since >= SECONDS else None

    def take(self) -> tuple[str, bytes] | None:
        """The pending lines as a part ``(name, content)``, or None when there are none."""
        if not self.lines:
            return None
        self.parts += 1
        part, self.lines = (f"{PREFIX}{self.copier}.{self.parts:04d}", "".join(self.lines).encode()), []
        return part
