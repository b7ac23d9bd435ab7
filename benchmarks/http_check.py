"""Response checks of the HttpEventTrigger peer."""

from __future__ import annotations

from typing import Any


async def never_terminal(response: Any) -> bool:
    """Trigger scale: a batch that never finishes in the window."""
    return False


async def batch_ended(response: Any) -> bool:
    """The storm's check: the batch reached a final status."""
    from benchmarks.storm import TERMINAL

    return response.json().get("status_code") in TERMINAL
