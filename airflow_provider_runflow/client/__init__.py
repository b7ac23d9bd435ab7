"""Runflow batch API client: httpx, pydantic models, typed errors, one retry policy. Imports no Airflow.

Endpoints are calls (:mod:`.calls`) that either client sends: ``client.send(calls.get_batch(batch_id))``.
"""

from airflow_provider_runflow.client.async_client import AsyncRunflowClient
from airflow_provider_runflow.client.calls import ApiCall, Exchange, ItemsQuery
from airflow_provider_runflow.client.config import DEFAULT_BASE_URL, ClientConfig
from airflow_provider_runflow.client.errors import (
    InputProblem,
    RunflowAPIError,
    RunflowAuthenticationError,
    RunflowBadRequestError,
    RunflowConflictError,
    RunflowError,
    RunflowInputError,
    RunflowInsufficientCreditError,
    RunflowNotFoundError,
    RunflowPermissionError,
    RunflowRateLimitError,
    RunflowResponseError,
    RunflowServerError,
    RunflowTimeoutError,
    RunflowTransportError,
    RunflowValidationError,
)
from airflow_provider_runflow.client.models import (
    Batch,
    BatchItemHandle,
    BatchItemRow,
    BatchItemsPage,
    BatchStatus,
    CallbackAttempt,
    CallbackDelivery,
    CallbackPayload,
    CreateBatchRequest,
    ErrorResponse,
    Run,
)
from airflow_provider_runflow.client.retry import RetryPolicy
from airflow_provider_runflow.client.signing import SIGNATURE_HEADER, runflow_signature, verify_runflow_signature
from airflow_provider_runflow.client.status import Status, is_terminal, normalize_status
from airflow_provider_runflow.client.sync_client import RunflowClient
from airflow_provider_runflow.client.validation import build_batch_request, parse_model_ref, validate_inputs

__all__ = [
    "DEFAULT_BASE_URL",
    "SIGNATURE_HEADER",
    "ApiCall",
    "AsyncRunflowClient",
    "Batch",
    "BatchItemHandle",
    "BatchItemRow",
    "BatchItemsPage",
    "BatchStatus",
    "CallbackAttempt",
    "CallbackDelivery",
    "CallbackPayload",
    "ClientConfig",
    "CreateBatchRequest",
    "ErrorResponse",
    "Exchange",
    "InputProblem",
    "ItemsQuery",
    "RetryPolicy",
    "Run",
    "RunflowAPIError",
    "RunflowAuthenticationError",
    "RunflowBadRequestError",
    "RunflowClient",
    "RunflowConflictError",
    "RunflowError",
    "RunflowInputError",
    "RunflowInsufficientCreditError",
    "RunflowNotFoundError",
    "RunflowPermissionError",
    "RunflowRateLimitError",
    "RunflowResponseError",
    "RunflowServerError",
    "RunflowTimeoutError",
    "RunflowTransportError",
    "RunflowValidationError",
    "Status",
    "build_batch_request",
    "is_terminal",
    "normalize_status",
    "parse_model_ref",
    "runflow_signature",
    "validate_inputs",
    "verify_runflow_signature",
]
