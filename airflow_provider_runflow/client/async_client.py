"""Asyncio Runflow client: sends the calls described in :mod:`calls` with the shared retry policy."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying

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


class AsyncRunflowClient:
    """Asyncio client of Runflow's batch API, with one connection pool for its lifetime."""

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(transport=transport, **config.http_options())  # type: ignore[arg-type]

    async def __aenter__(self) -> AsyncRunflowClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: ApiCall[T]) -> T:
        """Send ``call``, retrying transient failures by the configured policy."""
        async for attempt in AsyncRetrying(**self.config.retry.tenacity_kwargs(call)):
            with attempt:
                return await self._send_once(call)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _send_once(self, call: ApiCall[T]) -> T:
        request = self._http.build_request(
            call.method, call.path, params=call.params, json=call.body, headers=call.headers
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                # Not into response.content: httpcore keeps responses in reference cycles (see RunflowClient).
                body = b"".join([chunk async for chunk in response.aiter_bytes()])
            finally:
                await response.aclose()
        except httpx.TransportError as err:
            raise calls.transport_error(call, err) from None
        return calls.handle_response(call, response, body, time.time())

    async def create_batch(
        self, model: str, request: CreateBatchRequest, *, idempotency_key: str | None = None
    ) -> Batch:
        """Create a batch of ``model`` (``"owner/slug"``); pass an Idempotency-Key to make it safely retryable."""
        return await self.send(calls.create_batch(model, request, idempotency_key))

    async def get_batch(self, batch_id: str) -> Batch:
        """Batch status, counts and lean items."""
        return await self.send(calls.get_batch(batch_id))

    async def poll_batch(self, batch_id: str) -> Batch:
        """Batch status and counts for polling, without ``items`` and ``input`` (left None)."""
        return await self.send(calls.poll_batch(batch_id))

    async def list_batch_items(self, batch_id: str, query: ItemsQuery | None = None) -> BatchItemsPage:
        """One page of full batch items."""
        return await self.send(calls.list_batch_items(batch_id, query or ItemsQuery()))

    async def iter_batch_item_pages(
        self, batch_id: str, query: ItemsQuery | None = None
    ) -> AsyncIterator[BatchItemsPage]:
        """Every page of a batch's items, following the cursor to the end."""
        next_query: ItemsQuery | None = query or ItemsQuery()
        seen: set[str] = set()
        while next_query is not None:
            page = await self.list_batch_items(batch_id, next_query)
            yield page
            next_query = calls.next_items_query(batch_id, next_query, page, seen)

    async def iter_batch_items(self, batch_id: str, query: ItemsQuery | None = None) -> AsyncIterator[BatchItemRow]:
        """Every item of a batch, page by page."""
        async for page in self.iter_batch_item_pages(batch_id, query):
            for item in page.items:
                yield item

    async def get_batch_callback(self, batch_id: str) -> list[CallbackDelivery]:
        """Callback delivery history of a batch."""
        return await self.send(calls.get_batch_callback(batch_id))

    async def redeliver_batch_callback(self, batch_id: str) -> Any:
        """Ask Runflow to deliver a terminal batch's callback again."""
        return await self.send(calls.redeliver_batch_callback(batch_id))

    async def cancel_run(self, run_id: str, reason: str) -> Any:
        """Cancel a run through the admin endpoint (service keys only)."""
        return await self.send(calls.cancel_run(run_id, reason))

    async def health(self) -> Any:
        return await self.send(calls.health())
