"""The error a handler raises to answer in Runflow's error envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error response: HTTP ``status`` with ``{"code", "message", "errors"}``."""

    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


def validation_error(message: str, errors: list[dict[str, Any]] | None = None) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", message, errors)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")
