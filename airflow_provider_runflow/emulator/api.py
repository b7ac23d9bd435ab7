"""The Runflow surface: batch creation, detail, items, callbacks, admin run cancellation and health."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_runflow.emulator import routes
from airflow_provider_runflow.emulator.batch_request import parse_batch_request
from airflow_provider_runflow.emulator.callbacks import CallbackDispatcher
from airflow_provider_runflow.emulator.catalog import CATALOG, CatalogModel
from airflow_provider_runflow.emulator.errors import ApiError, not_found, validation_error
from airflow_provider_runflow.emulator.items_query import ItemsListing, paginate, parse_listing
from airflow_provider_runflow.emulator.settings import EmulatorSettings
from airflow_provider_runflow.emulator.state import Batch, IdempotentReply, Item, Store
from airflow_provider_runflow.emulator.views import batch_detail, batch_summary, dumps, item_row, run_object
from airflow_provider_runflow.emulator.web import json_reply, route


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key, the organisation acted for, and whether it is a service key."""

    key: str
    org_id: str
    is_service: bool


class RunflowApi:
    """Handlers of the Runflow routes over one :class:`Store`; ``base_url``, where clients reach us, fills ``links``."""

    def __init__(self, store: Store, settings: EmulatorSettings, callbacks: CallbackDispatcher, base_url: str) -> None:
        self.store, self.settings, self.callbacks = store, settings, callbacks
        self.base_url = base_url.rstrip("/")
        self.routes = [
            route(routes.CREATE_BATCH, self.create_batch, multi_segment=("slug",)),
            route(routes.GET_BATCH, self.get_batch),
            route(routes.LIST_ITEMS, self.list_items),
            route(routes.GET_CALLBACK, self.get_callback),
            route(routes.REDELIVER_CALLBACK, self.redeliver_callback),
            route(routes.CANCEL_RUN, self.cancel_run),
            route(routes.HEALTH, self.health),
        ]

    def authenticate(self, request: Request) -> Caller:
        """The caller of ``request``: 401 without a known Bearer key, 403 for an organisation not its own."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        orgs = self.settings.organizations(key.strip()) if scheme.lower() == "bearer" else None
        if not orgs:
            raise ApiError(401, "UNAUTHORIZED", "missing or invalid API key")
        wanted = request.headers.get("x-organization-id")
        if wanted and wanted not in orgs:
            raise ApiError(
                403, "ORGANIZATION_MEMBERSHIP_REQUIRED", f"this key is not a member of organization {wanted}"
            )
        return Caller(key.strip(), wanted or orgs[0], key.strip() in self.settings.service_keys)

    async def create_batch(self, request: Request) -> Response:
        caller = self.authenticate(request)
        model = self._batch_model(request.path_params["owner"], request.path_params["slug"])
        idempotency_key, body = request.headers.get("idempotency-key"), await request.body()
        body_hash = hashlib.sha256(f"{model.ref}\n".encode() + _canonical(body)).hexdigest()
        if idempotency_key:
            earlier = self.store.idempotency.get((caller.org_id, idempotency_key))
            if earlier is not None and earlier.body_hash != body_hash:
                raise ApiError(409, "CONFLICT", "Idempotency-Key was already used with a different request body")
            if earlier is not None:
                return json_reply(earlier.body, 201, {"idempotent-replayed": "true"})
        batch_request = parse_batch_request(body, model)
        now = time.time()
        batch = self.store.create_batch(caller.org_id, _user_id(caller.key), model, batch_request, now)
        created = dumps(batch_summary(batch, batch.snapshot(now), now))
        if idempotency_key:
            self.store.idempotency[(caller.org_id, idempotency_key)] = IdempotentReply(body_hash, created)
        self.callbacks.watch(batch, max(item.ends_at for item in batch.items))
        return json_reply(created, 201)

    def _batch_model(self, owner: str, slug: str) -> CatalogModel:
        model = CATALOG.get(f"{owner}/{slug}")
        if model is None:
            raise not_found(f"model {owner}/{slug}")
        if not model.batch_capable:
            raise ApiError(422, "MODEL_NOT_BATCH_CAPABLE", f"model {model.ref} does not support batches")
        return model

    def _batch(self, request: Request, name: str) -> Batch:
        caller = self.authenticate(request)
        batch = self.store.find_batch(_uuid(request.path_params[name], name), caller.org_id)
        if batch is None:
            raise not_found(f"batch {request.path_params[name]}")
        return batch

    async def get_batch(self, request: Request) -> Response:
        batch, now = self._batch(request, "id"), time.time()
        cached = batch.cache.get("detail")
        if cached is None or not cached[0] <= now < cached[1]:
            snap = batch.snapshot(now)
            cached = (now, snap.valid_until, dumps(batch_detail(batch, snap, now, self.base_url)))
            batch.cache["detail"] = cached
        return json_reply(cached[2])

    async def list_items(self, request: Request) -> Response:
        listing = parse_listing(request.query_params)
        batch, now = self._batch(request, "batch_id"), time.time()
        page = paginate(batch.items, listing, now)
        rows = [self._row(batch, item, listing, now) for item in page.items]
        return json_reply(dumps({"items": rows, "first": None, "next": page.next, "previous": page.previous}))

    def _row(self, batch: Batch, item: Item, listing: ItemsListing, now: float) -> dict[str, object]:
        row: dict[str, object] = item_row(batch, item, now)
        if listing.embed_run:
            row["run"] = run_object(batch, item, now, self.base_url)
        if listing.fields is not None:
            row = {k: v for k, v in row.items() if k in listing.fields or k == "run"}
        return row

    async def get_callback(self, request: Request) -> Response:
        batch = self._batch(request, "batch_id")
        return json_reply(dumps(self.callbacks.history(batch.id)))

    async def redeliver_callback(self, request: Request) -> Response:
        batch, now = self._batch(request, "batch_id"), time.time()
        if not batch.callback_url:
            raise validation_error(f"batch {batch.id} has no callback_url")
        if not batch.snapshot(now).terminal:
            raise ApiError(409, "BATCH_NOT_TERMINAL", f"batch {batch.id} is still {batch.snapshot(now).status}")
        return json_reply(dumps(self.callbacks.redeliver(batch, now)), 202)

    async def cancel_run(self, request: Request) -> Response:
        caller = self.authenticate(request)
        if not caller.is_service:
            raise ApiError(403, "PERMISSION_DENIED", "run cancellation needs a service key (rf_svc_...)")
        run_id = _uuid(request.path_params["run_id"], "run_id")
        reason = _json_object(await request.body()).get("reason")
        if not isinstance(reason, str) or not 3 <= len(reason) <= 500:
            raise validation_error("reason must be 3 to 500 characters", [{"field": "reason", "message": "3..500"}])
        now = time.time()
        found = self.store.cancel_run(run_id, reason, now)
        if found is None:
            raise not_found(f"run {run_id}")
        item, cancelled = found
        batch, _ = self.store.runs[run_id]
        self.callbacks.watch(batch, now)
        body = {"run_id": run_id, "batch_id": batch.id, "status_code": item.status(now), "cancelled": cancelled}
        return json_reply(dumps(body), 201 if cancelled else 200)

    async def health(self, request: Request) -> Response:
        return json_reply(b'{"status":"ok"}')


def _canonical(body: bytes) -> bytes:
    """The body as sorted JSON, so that equal bodies hash alike whatever their key order; raw if not JSON."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _json_object(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise validation_error("request body must be a JSON object")
    return data


def _uuid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise validation_error(f"{name} must be a UUID", [{"field": name, "message": value}]) from None


def _user_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"runflow-emulator/users/{key}"))
