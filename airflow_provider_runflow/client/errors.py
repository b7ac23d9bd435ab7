"""One exception hierarchy for everything the Runflow client can raise.

API errors are built from Runflow's error envelope and the HTTP status; their
messages name the request (method and path), the status, Runflow's ``code`` and
``message`` — never headers, so never the API key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RunflowError(Exception):
    """Base class of every error raised by this package's Runflow client."""


@dataclass(frozen=True)
class InputProblem:
    """One locally detected problem in the inputs of a batch: which item, which field, what is wrong."""

    index: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = "" if self.index is None else f"input[{self.index}]"
        if self.field:
            where = f"{where}.{self.field}" if where else self.field
        return f"{where}: {self.message}" if where else self.message


class RunflowInputError(RunflowError, ValueError):
    """Inputs that Runflow would reject, found before any HTTP request was made."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"Invalid Runflow batch input: {shown}{more}")


class RunflowTransportError(RunflowError):
    """The request did not get an HTTP answer: connection refused or dropped, DNS, TLS.

    ``request_sent`` is False when the connection was never established, so the
    server cannot have acted on the request.
    """

    request_sent: bool = True

    def __init__(self, method: str, path: str, cause: Exception) -> None:
        self.method, self.path = method, path
        super().__init__(f"{method} {path} failed: {type(cause).__name__}: {cause}")


class RunflowTimeoutError(RunflowTransportError):
    """The request timed out (connect, write, read or pool)."""


class RunflowResponseError(RunflowError):
    """An HTTP answer that is not what the API documents: malformed JSON, wrong content type or shape."""

    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        self.method, self.path, self.status = method, path, status
        super().__init__(f"{method} {path} -> HTTP {status}: unexpected response: {reason}")


class RunflowAPIError(RunflowError):
    """Runflow answered with an error status; ``code``, ``message`` and ``errors`` come from its envelope.

    ``retry_after`` is the wait in seconds the server asked for (``Retry-After``), when it did.
    """

    retry_after: float | None = None

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        code: str | None = None,
        message: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.method, self.path, self.status = method, path, status
        self.code, self.message, self.errors = code, message, errors or []
        self.request_id = request_id
        text = f"{method} {path} -> HTTP {status}"
        if code:
            text += f" {code}"
        if message:
            text += f": {message}"
        if self.errors:
            text += f" (errors: {self.errors[:5]!r}{' …' if len(self.errors) > 5 else ''})"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


class RunflowBadRequestError(RunflowAPIError):
    """400: the request is malformed."""


class RunflowAuthenticationError(RunflowAPIError):
    """401: the API key is missing, wrong or revoked."""


class RunflowInsufficientCreditError(RunflowAPIError):
    """402: the organisation has no credit left (INSUFFICIENT_CREDIT)."""


class RunflowPermissionError(RunflowAPIError):
    """403: the key may not do this; ``code`` says why (PERMISSION_DENIED, EMAIL_NOT_VERIFIED, ...)."""


class RunflowNotFoundError(RunflowAPIError):
    """404: no such model or batch in this organisation."""


class RunflowConflictError(RunflowAPIError):
    """409: e.g. an Idempotency-Key reused with a different body."""


class RunflowValidationError(RunflowAPIError):
    """422: Runflow rejected the body; ``errors`` holds its per-item or per-field entries."""


class RunflowRateLimitError(RunflowAPIError):
    """429: too many requests; ``retry_after`` is the server's requested wait in seconds, when given."""


class RunflowServerError(RunflowAPIError):
    """5xx: Runflow failed or is unavailable; worth retrying."""


_BY_STATUS: dict[int, type[RunflowAPIError]] = {
    400: RunflowBadRequestError,
    401: RunflowAuthenticationError,
    402: RunflowInsufficientCreditError,
    403: RunflowPermissionError,
    404: RunflowNotFoundError,
    409: RunflowConflictError,
    422: RunflowValidationError,
    429: RunflowRateLimitError,
}


def api_error_class(status: int) -> type[RunflowAPIError]:
    """The exception class for an HTTP error ``status``."""
    if status >= 500:
        return RunflowServerError
    return _BY_STATUS.get(status, RunflowAPIError)
