"""DAGs whose task instances the "Runflow outputs" page is tested and measured on.

``rf_ui_items``, ``rf_ui_jsonl`` and ``rf_ui_mapped`` run the operator against the emulator.
``rf_ui_recorded`` records entries the way the operator does, without Runflow, in any number
(``count``), as a list or a JSON Lines file (``output_path``, where ``{folder}`` stands for the
task instance's folder of the media layout), with stored media in the operator's layout under
``media_dir``: the page's pagination, filters, media route and benchmark need sizes and files
the emulator does not produce.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task
from runflow_scenarios import FAST, MODEL, START, texts

from airflow_provider_runflow.media.layout import MediaScope
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

DAGS: dict[str, DAG] = {}
FAILING = 7
"""Every 7th recorded entry failed; every 50th was cancelled."""


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
    DAGS[dag_id] = dag
    return dag


with _dag("rf_ui_items"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(12, fail={3, 7}), max_failed_items=None, **FAST)

with _dag("rf_ui_failed"):  # the default policy fails the task: no return value, only the summary
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(4, fail={1}), **FAST)

with _dag("rf_ui_waiting"):  # three batches; its tests rewind it to the moment it deferred
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(3), chunk_size=1, **FAST)

with _dag("rf_ui_bad_input"):  # fails before any request: nothing recorded
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=[], **FAST)

with _dag("rf_ui_other"):  # tasks that record no Runflow results (the run fails with the last)

    @task
    def greet() -> str:
        return "hello"

    @task
    def nothing() -> None:
        return None

    @task.runflow_batch(model=MODEL, **FAST)
    def refused() -> list[Any]:
        """A Runflow task that failed before it sent anything: its inputs are refused."""
        return ["not a JSON object"]

    greet()
    nothing()
    refused()

with _dag("rf_ui_private"):
    RunflowBatchOperator(task_id="run", model=MODEL, inputs=texts(2), **FAST)

# The results file in the task's own folder under the page's storage root, as docs/ui.md shows.
with _dag("rf_ui_jsonl", params={"output_root": ""}):
    RunflowBatchOperator(
        task_id="run",
        model=MODEL,
        inputs=texts(130, fail={5}),
        output_path="{{ params.output_root }}/{{ dag.dag_id }}/{{ run_id }}/{{ task.task_id }}/results.jsonl",
        max_failed_items=None,
        chunk_size=50,
        **FAST,
    )

with _dag("rf_ui_mapped"):
    prompts = [[{"prompt": f"a cat, take {i}"} for i in range(n)] for n in (2, 3)]
    RunflowBatchOperator.partial(task_id="run", model="acme/image-gen", **FAST).expand(inputs=prompts)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG: a real image for thumbnails, made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def recorded_entry(index: int, media_dir: Path | None) -> dict[str, Any]:
    """Entry ``index`` as the operator records it; with ``media_dir``, its image stored there as a PNG."""
    status = "cancelled" if index % 50 == 49 else "failed" if index % FAILING == 3 else "succeeded"
    entry: dict[str, Any] = {
        "index": index,
        "client_ref": f"shot-{index:05d}",
        "status": status,
        "output": None,
        "error": {"code": "SAFETY_FILTER", "message": f"input {index} was refused"} if status == "failed" else None,
        "batch_id": f"batch-{index // 100}",
        "run_id": f"run-{index}",
        "cost": "0.0040" if status == "succeeded" else "0",
        "attempts": 2 if status == "failed" else 1,
    }
    if status == "succeeded":
        url = f"https://cdn.runflow.invalid/acme/image-gen/{index}.png"
        entry["output"] = {"image_url": url, "width": 1024, "height": 1024}
        if media_dir:
            path = media_dir / f"{index:05d}.png"
            data = png(48, 32, (40 + index * 37 % 200, 90, 160))
            path.write_bytes(data)
            stored = {"path": path.as_uri(), "content_type": "image/png", "bytes": len(data)}
            entry["media"] = [{"source_url": url, **stored, "sha256": "recorded-by-the-test"}]
    return entry


def summary_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = [entry["status"] for entry in entries]
    counts = {name: statuses.count(name) for name in ("succeeded", "failed", "cancelled")}
    cost = sum(float(entry["cost"]) for entry in entries)
    batch_ids = sorted({entry["batch_id"] for entry in entries})
    return {"total": len(entries), **counts, "other": 0, "cost": f"{cost:.4f}", "batch_ids": batch_ids,
            "duration_seconds": 83.5}  # fmt: skip


@task(multiple_outputs=False)
def record(params: dict[str, Any] | None = None, ti: Any = None) -> Any:
    """``count`` entries; the first ``media_items`` with stored media; to ``output_path`` when given."""
    assert params is not None
    count, media_items = int(params["count"]), int(params["media_items"])
    folder = MediaScope(ti.dag_id, ti.run_id, ti.task_id, ti.map_index).folder()
    media_dir = Path(params["media_dir"]) / folder if params["media_dir"] else None
    if media_dir:
        media_dir.mkdir(parents=True, exist_ok=True)
    entries = [recorded_entry(i, media_dir if i < media_items else None) for i in range(count)]
    summary = summary_of(entries)
    ti.xcom_push(key="summary", value=summary)
    ti.xcom_push(key="batch_ids", value=summary["batch_ids"])
    if not params["output_path"]:
        return entries
    path = Path(params["output_path"].format(folder=folder))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries))
    return {"output_path": path.as_uri(), "format": "jsonl", "items": count}


RECORDED = {"count": 130, "media_dir": "", "media_items": 0, "output_path": ""}
with _dag("rf_ui_recorded", params=RECORDED):
    record.override(task_id="run")()

HOSTILE_CASES = 24
"""Task instances the hostile-request suite (tests/security) plants hostile records in, one per case."""
with _dag("rf_ui_hostile"):

    @task
    def stand_in(case: int) -> list[dict[str, Any]]:
        return [{"index": 0, "client_ref": f"case-{case}", "status": "succeeded", "output": None}]

    stand_in.expand(case=list(range(HOSTILE_CASES)))

# The full-stack browser test: 40 inputs (5 fail) in blocking mode, images in a mapped task, 40 stored images.
with _dag("rf_ui_browser"):
    RunflowBatchOperator(
        task_id="run",
        model=MODEL,
        inputs=texts(40, fail={3, 10, 17, 24, 31}, run_seconds=0.5),
        max_failed_items=None,
        deferrable=False,
        poll_interval=1,
    )
    images = [[{"prompt": f"a lighthouse, take {i}", "seed": i} for i in range(n)] for n in (3, 4)]
    RunflowBatchOperator.partial(task_id="images", model="acme/image-gen", deferrable=False, poll_interval=1).expand(
        inputs=images
    )
    # 40 images generated by the emulator, stored by the operator's media persistence where the page may read.
    RunflowBatchOperator(
        task_id="stored",
        model="acme/image-gen",
        inputs=[{"prompt": f"a harbour, take {i}", "seed": i, "width": 96, "height": 64} for i in range(40)],
        media_path=(Path(os.environ.get("RUNFLOW_EXAMPLE_OUTPUT_DIR", tempfile.gettempdir())) / "ui-media").as_uri(),
        deferrable=False,
        poll_interval=1,
    )
