"""Media the emulated models generate: deterministic PNG images and MP4-typed video streams, behind
presigned-style URLs (an HMAC signature and an expiry) that are signed afresh every time an output is read.

Outputs are stored with ``runflow-media:`` placeholders; :func:`sign_output` turns them into URLs of the
media origin. One emulator runs per process, so the signer is configured once, by the server, at start.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

PLACEHOLDER = "runflow-media:"
MAX_SIDE = 1024
BLOCK = 1024 * 1024


@dataclass
class MediaSigner:
    """Signs media paths for ``base_url``; URLs stop working ``ttl`` seconds after they were handed out."""

    base_url: str = "https://cdn.runflow.invalid"
    secret: bytes = b"runflow-emulator-media"
    ttl: float = 3600.0
    video_bytes: int = 256 * 1024

    def signature(self, path: str, query: str) -> str:
        return hmac.new(self.secret, f"{path}?{query}".encode(), hashlib.sha256).hexdigest()[:32]

    def sign(self, placeholder: str, now: float) -> str:
        path, _, query = placeholder[len(PLACEHOLDER) :].partition("?")
        params = dict(parse_qsl(query))
        if path.startswith("/video/"):
            params["bytes"] = str(self.video_bytes)
        params["expires"] = f"{now + self.ttl:.3f}"
        query = urlencode(sorted(params.items()))
        return f"{self.base_url}/media{path}?{query}&signature={self.signature(path, query)}"

    def verify(self, path: str, query: str, now: float) -> str | None:
        """Why a request for ``/media{path}?{query}`` is refused (bad signature, expired), or None."""
        unsigned, _, signature = query.rpartition("&signature=")
        if not hmac.compare_digest(self.signature(path, unsigned), signature):
            return "SignatureDoesNotMatch"
        expires = dict(parse_qsl(unsigned)).get("expires", "0")
        return "Request has expired" if float(expires) < now else None


SIGNER = MediaSigner()


def sign_output(output: Any, now: float) -> Any:
    """``output`` with every ``runflow-media:`` placeholder replaced by a freshly signed URL."""
    if isinstance(output, str) and output.startswith(PLACEHOLDER):
        return SIGNER.sign(output, now)
    if isinstance(output, dict):
        return {key: sign_output(value, now) for key, value in output.items()}
    if isinstance(output, list):
        return [sign_output(value, now) for value in output]
    return output


def image_placeholder(digest: str, width: int, height: int) -> str:
    return f"{PLACEHOLDER}/image/{digest}.png?h={height}&w={width}"


def video_placeholder(digest: str) -> str:
    return f"{PLACEHOLDER}/video/{digest}.mp4"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=1024)
def png_bytes(digest: str, width: int, height: int) -> bytes:
    """An RGB PNG determined by ``digest``: a horizontal red ramp, a vertical green ramp, a fixed blue."""
    width, height = max(1, min(width, MAX_SIDE)), max(1, min(height, MAX_SIDE))
    red, green, blue = bytes.fromhex(digest[:6].ljust(6, "0"))
    ramp = bytes((red + x) & 255 for x in range(width))
    rows = bytearray()
    for y in range(height):
        row = bytearray(3 * width)
        row[0::3], row[1::3], row[2::3] = ramp, bytes([(green + y) & 255]) * width, bytes([blue]) * width
        rows += b"\x00" + row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _chunk(b"IEND", b"")
    )


def _box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data) + 8) + kind + data


@lru_cache(maxsize=64)
def _video_block(digest: str) -> bytes:
    seed = hashlib.sha256(digest.encode()).digest()
    return hashlib.shake_256(seed).digest(BLOCK)


def video_chunks(digest: str, size: int) -> Iterator[bytes]:
    """``size`` bytes of an MP4-typed stream: an ``ftyp`` box, then an ``mdat`` box of bytes from ``digest``."""
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    head = (ftyp + struct.pack(">I", max(size - len(ftyp), 8)) + b"mdat")[:size]
    yield head
    left, block = size - len(head), _video_block(digest)
    while left > 0:
        yield block[: min(left, BLOCK)]
        left -= BLOCK


def video_bytes(digest: str, size: int) -> bytes:
    """The whole video stream at once (for tests comparing what was stored)."""
    return b"".join(video_chunks(digest, size))


def media_of(path: str, query: str) -> tuple[str, int, Iterator[bytes]] | None:
    """``(content_type, length, chunks)`` of a ``/media`` path, or None when it names no media."""
    params = dict(parse_qsl(query))
    kind, _, name = path.strip("/").partition("/")
    digest, _, ext = name.partition(".")
    if kind == "image" and ext == "png":
        body = png_bytes(digest, int(params.get("w", 64)), int(params.get("h", 64)))
        return "image/png", len(body), iter([body])
    if kind == "video" and ext == "mp4":
        size = int(params.get("bytes", 0))
        return "video/mp4", size, video_chunks(digest, size)
    return None


def digest_of(url: str) -> str:
    """The digest a media URL names (what :func:`png_bytes` and :func:`video_bytes` take)."""
    return urlsplit(url).path.rsplit("/", 1)[-1].split(".", 1)[0]
