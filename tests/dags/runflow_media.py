"""DAGs the media tests run with dag.test(): images copied to ``{{ var.value.runflow_media_path }}``."""

from __future__ import annotations

import datetime
import time
from typing import Any

from airflow.sdk import DAG, Asset, task

from airflow_provider_runflow.media import MediaOptions, persist_media
from airflow_provider_runflow.operators.batch import RunflowBatchOperator
from airflow_provider_runflow.operators.media import RunflowPersistMediaOperator
from airflow_provider_runflow.sensors.batch import RunflowBatchSensor

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
MEDIA_PATH = "{{ var.value.runflow_media_path }}"
FAST: dict[str, Any] = {"poll_interval": 0.2}
DAGS: dict[str, DAG] = {}


def images(n: int, side: int = 24) -> list[dict[str, Any]]:
    """``n`` distinct image inputs, small so that 250 of them copy in a second."""
    return [{"prompt": f"cat {i}", "width": side, "height": side + i % 5, "client_ref": f"img-{i}"} for i in range(n)]


def _dag(dag_id: str, **kwargs: Any) -> DAG:
    dag = DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["runflow-tests"], **kwargs)
    DAGS[dag_id] = dag
    return dag


for mode, deferrable in (("deferred", True), ("blocking", False)):
    with _dag(f"rf_media_{mode}"):
        RunflowBatchOperator(
            task_id="run",
            model="acme/image-gen",
            inputs=images(250),
            media_path=MEDIA_PATH,
            deferrable=deferrable,
            **FAST,
        )

# Every fifth image fails its first attempt: one round of re-runs, then media copied once, for the final entries.
with _dag("rf_media_rerun"):
    RunflowBatchOperator(
        task_id="run",
        model="acme/image-gen",
        inputs=[{**image, "fail_attempts": 1 if i % 5 == 0 else 0} for i, image in enumerate(images(30))],
        media_path=MEDIA_PATH,
        retry_failed_items=1,
        **FAST,
    )

with _dag("rf_media_jsonl"):
    RunflowBatchOperator(
        task_id="run",
        model="acme/image-gen",
        inputs=images(120),
        media_path=MEDIA_PATH,
        output_path="{{ var.value.runflow_output_path }}",
        outlets=[Asset("rf-media-jsonl")],
        **FAST,
    )

# One attempt per file: a single injected 500 fails the first try, which the retry must finish.
RETRY = {"media": MediaOptions(attempts=1), "retries": 1, "retry_delay": datetime.timedelta(seconds=0)}
for dag_id, count, extra in (
    ("rf_media_retry", 250, RETRY),
    ("rf_media_continue", 10, {"media": MediaOptions(attempts=1, on_error="continue")}),
):
    with _dag(dag_id):
        RunflowBatchOperator(
            task_id="run", model="acme/image-gen", inputs=images(count), media_path=MEDIA_PATH, **FAST, **extra
        )

with _dag("rf_media_later"):
    # The URLs lapse (the emulator's TTL is shorter than the pause) before the media are copied.
    @task
    def pause(entries: Any) -> Any:
        time.sleep(2.5)
        return entries

    @task
    def keep(entries: list[dict[str, Any]], media_path: str) -> list[dict[str, Any]]:
        return persist_media(entries, media_path)

    produced = RunflowBatchOperator(task_id="run", model="acme/image-gen", inputs=images(30), **FAST)
    keep(pause(produced.output), media_path=MEDIA_PATH)

# Batches created elsewhere: the sensor waits, then their media are kept by batch id.
with _dag("rf_media_after_sensor", render_template_as_native_obj=True):
    waited = RunflowBatchSensor(
        task_id="wait", batch_ids="{{ var.json.runflow_batch_ids }}", poke_interval=0.2, poll_interval=0.2
    )
    kept = RunflowPersistMediaOperator(
        task_id="keep", batch_ids="{{ ti.xcom_pull(task_ids='wait')['batch_ids'] }}", media_path=MEDIA_PATH
    )
    waited >> kept

# An output that points the worker at internal addresses: acme/test-model echoes its input (upper-cased).
with _dag("rf_media_internal", params={"targets": []}, render_template_as_native_obj=True):
    RunflowBatchOperator(
        task_id="run",
        model="acme/test-model",
        inputs="{{ params.targets }}",
        media_path=MEDIA_PATH,
        media=MediaOptions(attempts=1, on_error="continue"),
        **FAST,
    )
