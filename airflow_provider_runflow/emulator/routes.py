"""Route templates of the emulated Runflow surface: the names counters and fault rules use."""

from __future__ import annotations

CREATE_BATCH = "POST /v1/models/{owner}/{slug}/batches"
GET_BATCH = "GET /v1/batches/{id}"
LIST_ITEMS = "GET /v1/batches/{batch_id}/items"
GET_CALLBACK = "GET /v1/batches/{batch_id}/callback"
REDELIVER_CALLBACK = "POST /v1/batches/{batch_id}/callback-redeliveries"
CANCEL_RUN = "POST /v1/admin/runs/{run_id}/cancellation"
HEALTH = "GET /v1/health"
UNMATCHED = "UNMATCHED"
"""Requests that match no route (answered 404) are counted under this name."""

ALL = (CREATE_BATCH, GET_BATCH, LIST_ITEMS, GET_CALLBACK, REDELIVER_CALLBACK, CANCEL_RUN, HEALTH)
ANY = "*"
