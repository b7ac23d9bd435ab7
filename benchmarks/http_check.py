"""The response check of the HttpEventTrigger peer: a batch that never finishes in the window."""

from __future__ import annotations

from typing import Any


async def never_terminal(response: Any) -> bool:
    return False
