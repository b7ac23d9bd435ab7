"""Runflow batch API client: httpx, pydantic models, typed errors, one retry policy. Imports no Airflow.

Endpoints are calls (:mod:`.calls`) that either client sends: ``client.send(calls.get_batch(batch_id))``.
Exported here is what a user of the client calls, catches and reads; the rest lives in its module.
"""

from airflow_provider_runflow.client import calls
from airflow_provider_runflow.client.async_client import AsyncRunflowClient
from airflow_provider_runflow.client.calls import ItemsQuery
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.errors import (
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
    BatchItemRow,
    BatchItemsPage,
    BatchStatus,
    CallbackDelivery,
    CallbackPayload,
)
from airflow_provider_runflow.client.retry import RetryPolicy
from airflow_provider_runflow.client.signing import SIGNATURE_HEADER, verify_runflow_signature
from airflow_provider_runflow.client.sync_client import RunflowClient
from airflow_provider_runflow.client.validation import build_batch_request

__all__ = [
    "SIGNATURE_HEADER",
    "AsyncRunflowClient",
    "Batch",
    "BatchItemRow",
    "BatchItemsPage",
    "BatchStatus",
    "CallbackDelivery",
    "CallbackPayload",
    "ClientConfig",
    "ItemsQuery",
    "RetryPolicy",
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
    "build_batch_request",
    "calls",
    "verify_runflow_signature",
]
