"""A request body read within bounds: a size past which it is refused unread, and a time for it to arrive."""

from __future__ import annotations

import asyncio

from fastapi import HTTPException, Request, status


async def bounded_body(request: Request, limit: int, seconds: float) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` bytes, or (408) when it takes over ``seconds``.

    A sender trickling bytes to hold a connection open gets the 408.
    """
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"Request bodies here are limited to {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise too_large
    except TimeoutError:
        late = f"The body did not arrive within {seconds:.0f} s"
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT, late) from None
    return bytes(body)
