"""How many failed items a run may have before the task fails."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FailurePolicy:
    """Limits on items that did not succeed (failed, cancelled or in an unknown state).

    :param max_failed_items: at most this many; ``None`` means no count limit. Default 0: any failure fails.
    :param max_failed_ratio: at most this share of all items (0..1); ``None`` means no ratio limit.
    """

    max_failed_items: int | None = 0
    max_failed_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.max_failed_items is not None and self.max_failed_items < 0:
            raise ValueError(f"max_failed_items must be >= 0 or None, got {self.max_failed_items}")
        if self.max_failed_ratio is not None and not 0 <= self.max_failed_ratio <= 1:
            raise ValueError(f"max_failed_ratio must be between 0 and 1 or None, got {self.max_failed_ratio}")

    def violation(self, failed: int, total: int) -> str | None:
        """Why ``failed`` of ``total`` items breaks this policy, or None when it does not."""
        if self.max_failed_items is not None and failed > self.max_failed_items:
            return f"{failed} of {total} items did not succeed (max_failed_items={self.max_failed_items})"
        if self.max_failed_ratio is not None and total and failed / total > self.max_failed_ratio:
            return f"{failed} of {total} items did not succeed (max_failed_ratio={self.max_failed_ratio})"
        return None
