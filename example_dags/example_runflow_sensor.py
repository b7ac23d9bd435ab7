"""Wait for Runflow batches created elsewhere (another system, or another DAG) to finish.

The batch ids come from the DAG run's configuration (``{"batch_ids": [...]}``); the sensor
waits on the triggerer and returns the batches' summary.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_runflow.sensors.batch import RunflowBatchSensor


@dag(
    dag_id="example_runflow_sensor",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    catchup=False,
    tags=["example", "runflow"],
    render_template_as_native_obj=True,
    params={"batch_ids": []},
)
def example_runflow_sensor() -> None:
    done = RunflowBatchSensor(
        task_id="wait_for_batches",
        batch_ids="{{ dag_run.conf.get('batch_ids') or params.batch_ids }}",
        poll_interval="adaptive",  # the default: paced by the batches' progress; poke_interval if not deferred
        timeout=6 * 3600,
        max_failed_ratio=0.05,
        max_failed_items=None,
    )

    @task
    def report(summary: dict[str, Any]) -> None:
        print(f"{summary['succeeded']} of {summary['total']} items succeeded, cost {summary['cost']}")

    report(done.output)


example_runflow_sensor_dag = example_runflow_sensor()
