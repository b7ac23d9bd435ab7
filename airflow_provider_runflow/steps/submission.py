"""Creating a round's batches, or finding the ones an earlier try of the task created."""

from __future__ import annotations

from typing import Any

from airflow_provider_runflow.batching.plan import Chunk, fingerprint
from airflow_provider_runflow.client import RunflowClient, RunflowError, RunflowValidationError
from airflow_provider_runflow.client.errors import InputProblem
from airflow_provider_runflow.steps.task_state import keep, kept

STATE_KEY = "runflow_batches"


class RunflowSubmissionError(RunflowError):
    """Creating a batch failed: which batch, which inputs, and the batches already created (its cause says why)."""


def state_key(round_number: int) -> str:
    """The task state store key of a round's batches: round 0 keeps the key of versions without rounds."""
    return STATE_KEY if round_number == 0 else f"{STATE_KEY}_round_{round_number}"


def submit(client: RunflowClient, chunks: list[Chunk], store: Any, round_number: int, log: Any) -> list[str]:
    """Create one batch per chunk, or re-attach to the batches an earlier try of this task created.

    The Idempotency-Keys already make a resubmission harmless; the task state store (Airflow 3.3+),
    where it exists, saves even the requests.
    """
    plan_id = fingerprint([chunk.idempotency_key for chunk in chunks])
    if batch_ids := recorded_batches(store, plan_id, round_number):
        log.info("Re-attaching to Runflow batches of an earlier try: %s", batch_ids)
        return batch_ids
    batch_ids = create_batches(client, chunks, log)
    record_batches(store, plan_id, batch_ids, log, round_number)
    return batch_ids


def create_batches(client: RunflowClient, chunks: list[Chunk], log: Any) -> list[str]:
    """Create one batch per chunk, with its Idempotency-Key."""
    batch_ids: list[str] = []
    for chunk in chunks:
        try:
            batch = client.send(chunk.call)
        except RunflowError as err:
            done = f" Batches created so far (a retry re-attaches to them): {batch_ids}." if batch_ids else ""
            message = f"Creating batch {chunk.index + 1} of {len(chunks)} ({chunk.span()}) failed: {err}."
            raise RunflowSubmissionError(f"{message}{_rejected_inputs(err, chunk)}{done}") from err
        if not batch.id:
            raise RunflowError(f"Runflow created batch {chunk.index + 1} but returned no batch id")
        log.info("Runflow batch %s: %s (%s)", batch.id, chunk.span(), batch.status_code)
        batch_ids.append(batch.id)
    return batch_ids


def _rejected_inputs(err: RunflowError, chunk: Chunk) -> str:
    """Runflow's per-item 422 errors number items within their batch: name them as the caller's inputs."""
    if not isinstance(err, RunflowValidationError):
        return ""
    named = [
        str(InputProblem(chunk.indices[entry["index"]], entry.get("field"), str(entry.get("message") or "rejected")))
        for entry in err.errors
        if isinstance(entry, dict) and type(entry.get("index")) is int and 0 <= entry["index"] < len(chunk.indices)
    ]
    more = f" (and {len(named) - 10} more)" if len(named) > 10 else ""
    return f" Rejected inputs: {'; '.join(named[:10])}{more}." if named else ""


def recorded_batches(store: Any, plan_id: str, round_number: int = 0) -> list[str] | None:
    """The batch ids an earlier try recorded for the same plan, if the task state store (Airflow 3.3+) has them."""
    value = kept(store, state_key(round_number))
    if isinstance(value, dict) and value.get("plan") == plan_id and isinstance(value.get("batch_ids"), list):
        return [str(batch_id) for batch_id in value["batch_ids"]]
    return None


def record_batches(store: Any, plan_id: str, batch_ids: list[str], log: Any, round_number: int = 0) -> None:
    """Remember a plan's batch ids across task tries, where the task state store exists."""
    keep(store, state_key(round_number), {"plan": plan_id, "batch_ids": batch_ids}, "batch ids", log)
