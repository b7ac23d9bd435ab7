"""Which URLs of an item's ``output`` are media to copy: pure decisions, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

MediaSelector = Sequence[str] | Callable[[Any], Sequence[str]] | None
"""``None``: every absolute http(s) URL anywhere in ``output``; a list of keys or dotted paths
(``"image_url"``, ``"images.0.url"``, ``"frames"``): the URLs at or under those places only;
a callable: ``output`` → the URLs to copy."""


def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host: the only kind copied (no ``file:``, ``data:``, ``s3:``...)."""
    if not isinstance(value, str) or any(char.isspace() for char in value.strip()):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _walk(value: Any) -> Iterator[str]:
    """Every string under ``value``, depth first, in the order Runflow returned them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for nested in value.values():
            yield from _walk(nested)
    elif isinstance(value, list | tuple):
        for nested in value:
            yield from _walk(nested)


def _at(output: Any, path: str) -> Any:
    """The value at a dotted ``path`` (keys, and list indices as numbers), or None where it leads nowhere."""
    value = output
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def media_urls(output: Any, select: MediaSelector = None) -> list[str]:
    """The media URLs of ``output`` in a stable order, each once; non-http(s) strings are never returned."""
    if callable(select):
        found: Sequence[Any] = list(select(output) or [])
    elif select is None:
        found = list(_walk(output))
    elif isinstance(select, str):
        raise TypeError("media select must be a list of keys or paths, not a single string")
    else:
        found = [url for path in select for url in _walk(_at(output, path))]
    return list(dict.fromkeys(url.strip() for url in found if is_http_url(url)))
