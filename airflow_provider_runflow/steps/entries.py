"""Fetching a task's results in input order: each input's entry, into a list or streamed to JSON Lines.

Entries come batch by batch, so a run of 20,000 inputs streams to ``output_path`` holding one
batch in memory; with retry rounds, only the re-run items' entries are held.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_runflow.batching.results import ITEM_FIELDS, Tally, ordered_results
from airflow_provider_runflow.batching.rounds import RERUN_STATUSES, Round, RunState
from airflow_provider_runflow.batching.tracker import BatchState
from airflow_provider_runflow.client import ItemsQuery, RunflowClient, calls

Entries = Iterator[list[dict[str, Any]]]

FAILED_ITEM_FIELDS = "id,sequence_index,client_ref,status_code,error"
"""Projection for naming failed items: no outputs, no inputs."""


def batch_entries(client: RunflowClient, batch_ids: list[str], counts: list[int], tally: Tally) -> Entries:
    """Each batch's entries in input order, fetched page by page (500 items, no echoed inputs), tallied."""
    start = 0
    for batch_id, count in zip(batch_ids, counts, strict=True):
        rows = client.send(calls.batch_items(batch_id, ItemsQuery(fields=ITEM_FIELDS)))
        entries = ordered_results(batch_id, rows, start, count)
        tally.add(entries)
        yield entries
        start += count


def run_entries(client: RunflowClient, run: RunState, tally: Tally) -> Entries:
    """Every input's entry, batch by batch in input order, from its last attempt; ``attempts`` with re-runs.

    Only the re-run items' entries are held in memory; round 0 is streamed as a run without rounds is.
    """
    first = run.rounds[0]
    if len(run.rounds) == 1:
        yield from batch_entries(client, first.batch_ids, first.expected_items, tally)
        return
    latest: dict[int, dict[str, Any]] = {}
    for rerun in run.rounds[1:]:
        made = {"review_round": rerun.review} if rerun.review else {}
        for batch in batch_entries(client, rerun.batch_ids, rerun.expected_items, Tally()):
            latest.update({rerun.input_index(e["index"]): {**e, **made} for e in batch})
    attempts = run.attempts()
    for batch in batch_entries(client, first.batch_ids, first.expected_items, Tally()):
        final = [
            {**latest.get(e["index"], e), "index": e["index"], "attempts": attempts.get(e["index"], 1)} for e in batch
        ]
        tally.add(final)
        yield final


def failed_entries(client: RunflowClient, states: list[BatchState]) -> Iterator[dict[str, Any]]:
    """The entries of items that did not succeed, numbered across ``states`` in order.

    Reads the items of only the batches whose counts report a failure: one request per such batch.
    """
    start = 0
    for state in states:
        total = state.expected_items or state.items_total or 0
        if (state.items_succeeded or 0) < total:
            rows = client.send(calls.batch_items(state.batch_id, ItemsQuery(fields=FAILED_ITEM_FIELDS)))
            yield from (e for e in ordered_results(state.batch_id, rows, start, total) if e["status"] != "succeeded")
        start += total


def rerun_inputs(client: RunflowClient, finished: Round) -> list[int]:
    """Input indexes of the items of a finished round that ended failed, errored or cancelled."""
    return [
        finished.input_index(entry["index"])
        for entry in failed_entries(client, finished.states)
        if entry["status"] in RERUN_STATUSES
    ]


def write_jsonl(output_path: str, entries: Entries, batch_ids: list[str]) -> dict[str, Any]:
    """Stream entries to ``output_path`` as JSON Lines, one batch in memory at a time; return a manifest."""
    path = ObjectStoragePath(output_path)
    if path.protocol in ("file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w") as out:  # type: ignore[no-untyped-call]
        for batch in entries:
            out.write("".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in batch))
            written += len(batch)
    return {"output_path": str(path), "format": "jsonl", "items": written, "batch_ids": batch_ids}
