"""Blocking Runflow client: sends the calls described in :mod:`calls` with the shared retry policy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from tenacity import Retrying

from airflow_provider_runflow.client import calls
from airflow_provider_runflow.client.calls import ApiCall, ItemsQuery
from airflow_provider_runflow.client.config import ClientConfig
from airflow_provider_runflow.client.models import (
    Batch,
    BatchItemRow,
    BatchItemsPage,
    CallbackDelivery,
    CreateBatchRequest,
)

T = TypeVar("T")


class RunflowClient:
    """Synchronous client of Runflow's batch API, with one connection pool for its lifetime."""

    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(transport=transport, **config.http_options())  # type: ignore[arg-type]

    def __enter__(self) -> RunflowClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: ApiCall[T]) -> T:
        """Send ``call``, retrying transient failures by the configured policy."""
        for attempt in Retrying(**self.config.retry.tenacity_kwargs(call)):
            with attempt:
                return self._send_once(call)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _send_once(self, call: ApiCall[T]) -> T:
        request = self._http.build_request(
            call.method, call.path, params=call.params, json=call.body, headers=call.headers
        )
        try:
            response = self._http.send(request, stream=True)
            try:
                # Read the body ourselves rather than into response.content: httpcore keeps a
                # response in a reference cycle, so its content would live until the next GC.
                body = b"".join(response.iter_bytes())
            finally:
                response.close()
        except httpx.TransportError as err:
            raise calls.transport_error(call, err) from None
        return calls.handle_response(call, response, body, time.time())

    def create_batch(self, model: str, request: CreateBatchRequest, *, idempotency_key: str | None = None) -> Batch:
        """Create a batch of ``model`` (``"owner/slug"``); pass an Idempotency-Key to make it safely retryable."""
        return self.send(calls.create_batch(model, request, idempotency_key))

    def get_batch(self, batch_id: str) -> Batch:
        """Batch status, counts and lean items."""
        return self.send(calls.get_batch(batch_id))

    def poll_batch(self, batch_id: str) -> Batch:
        """Batch status and counts for polling, without ``items`` and ``input`` (left None)."""
        return self.send(calls.poll_batch(batch_id))

    def list_batch_items(self, batch_id: str, query: ItemsQuery | None = None) -> BatchItemsPage:
        """One page of full batch items."""
        return self.send(calls.list_batch_items(batch_id, query or ItemsQuery()))

    def iter_batch_item_pages(self, batch_id: str, query: ItemsQuery | None = None) -> Iterator[BatchItemsPage]:
        """Every page of a batch's items, following the cursor to the end."""
        next_query: ItemsQuery | None = query or ItemsQuery()
        seen: set[str] = set()
        while next_query is not None:
            page = self.list_batch_items(batch_id, next_query)
            yield page
            next_query = calls.next_items_query(batch_id, next_query, page, seen)

    def iter_batch_items(self, batch_id: str, query: ItemsQuery | None = None) -> Iterator[BatchItemRow]:
        """Every item of a batch, page by page."""
        for page in self.iter_batch_item_pages(batch_id, query):
            yield from page.items

    def get_batch_callback(self, batch_id: str) -> list[CallbackDelivery]:
        """Callback delivery history of a batch."""
        return self.send(calls.get_batch_callback(batch_id))

    def redeliver_batch_callback(self, batch_id: str) -> Any:
        """Ask Runflow to deliver a terminal batch's callback again."""
        return self.send(calls.redeliver_batch_callback(batch_id))

    def cancel_run(self, run_id: str, reason: str) -> Any:
        """Cancel a run through the admin endpoint (service keys only)."""
        return self.send(calls.cancel_run(run_id, reason))

    def health(self) -> Any:
        return self.send(calls.health())
