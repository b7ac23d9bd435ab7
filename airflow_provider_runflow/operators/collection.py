"""Fetching a task's results in input order, into a list or streamed to a JSON Lines file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_runflow.batching.results import ITEM_FIELDS, Tally, ordered_results
from airflow_provider_runflow.batching.rounds import Round, attempts
from airflow_provider_runflow.client import ItemsQuery, RunflowClient, calls

Entries = Iterator[list[dict[str, Any]]]


def batch_entries(client: RunflowClient, batch_ids: list[str], counts: list[int], tally: Tally) -> Entries:
    """Each batch's entries in input order, fetched page by page (500 items, no echoed inputs), tallied."""
    start = 0
    for batch_id, count in zip(batch_ids, counts, strict=True):
        rows = client.send(calls.batch_items(batch_id, ItemsQuery(fields=ITEM_FIELDS)))
        entries = ordered_results(batch_id, rows, start, count)
        tally.add(entries)
        yield entries
        start += count


def rerun_entries(client: RunflowClient, rounds: list[Round], tally: Tally) -> Entries:
    """Round 0's entries batch by batch, each replaced by its input's last attempt, with ``attempts``.

    Only the re-run items' entries are held in memory; round 0 is streamed as without rounds.
    """
    latest: dict[int, dict[str, Any]] = {}
    for rerun in rounds[1:]:
        for batch in batch_entries(client, rerun.batch_ids, rerun.expected_items, Tally()):
            latest.update({rerun.input_index(e["index"]): e for e in batch})
    reruns = attempts(rounds)
    for batch in batch_entries(client, rounds[0].batch_ids, rounds[0].expected_items, Tally()):
        final = [
            {**latest.get(e["index"], e), "index": e["index"], "attempts": 1 + reruns.get(e["index"], 0)} for e in batch
        ]
        tally.add(final)
        yield final


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
