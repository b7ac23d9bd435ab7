"""OpenLineage: the operator's run facet and output datasets, from what its task instance recorded.

Checked with the OpenLineage provider installed (the facets serialise and match the facet's
published schema) and without it (the provider's modules blocked: importing and using the
operator still works, as nothing imports OpenLineage until its listener asks for facets).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from airflow_support import xcom
from events_support import events_dag

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.operators.batch import RunflowBatchOperator

pytestmark = pytest.mark.usefixtures("airflow_db")
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "openlineage" / "RunflowRunFacet.json").read_text())


@dataclass(frozen=True)
class RecordedTi:
    """The part of a task instance the lineage methods use: reading its own XComs after a dag.test() run."""

    run: Any
    task_id: str = "run"
    map_index: int = -1

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int = -1) -> Any:
        return xcom(self.run, task_ids, key, map_indexes)


def facet_dict(facet: Any) -> dict[str, Any]:
    from openlineage.client.serde import Serde

    serialised: dict[str, Any] = json.loads(Serde.to_json(facet))
    return serialised


def check_schema(facet: dict[str, Any]) -> None:
    """The facet against our schema's own part (the RunFacet base it extends is OpenLineage's)."""
    own = SCHEMA["$defs"]["RunflowRunFacet"]["allOf"][1]
    jsonschema.validate(facet, own)
    assert facet["_schemaURL"] == SCHEMA["$id"]
    assert facet["_producer"]


@pytest.mark.parametrize("dag_id", ["rf_events_in_xcom", "rf_events_taskflow"])
def test_a_finished_run_has_a_runflow_run_facet_and_no_output_dataset_when_results_are_in_xcom(
    runflow_connection: RunflowEmulator, dag_id: str
) -> None:
    from airflow.providers.openlineage.extractors.base import DefaultExtractor
    from airflow.providers.openlineage.extractors.manager import ExtractorManager

    dag = events_dag(dag_id)  # the operator, and @task.runflow_batch
    run = dag.test()
    summary = xcom(run, "run", "summary")
    task = dag.get_task("run")

    assert ExtractorManager().get_extractor_class(task) is DefaultExtractor  # it asks the task for its facets
    lineage = task.get_openlineage_facets_on_complete(RecordedTi(run))

    facet = facet_dict(lineage.run_facets["runflow"])
    check_schema(facet)
    assert {k: facet.get(k) for k in ("model", "batch_ids", "counts", "cost", "max_cost")} == {
        "model": "acme/test-model",
        "batch_ids": summary["batch_ids"],
        "counts": {"total": 5, "succeeded": 4, "failed": 1, "cancelled": 0, "skipped": 0, "other": 0},
        "cost": summary["cost"],
        "max_cost": None,
    }
    assert (lineage.inputs, lineage.outputs) == ([], [])


def test_a_failed_run_still_names_its_batches_and_counts(runflow_connection: RunflowEmulator) -> None:
    dag = events_dag("rf_events_failing")
    run = dag.test()

    lineage = dag.get_task("run").get_openlineage_facets_on_failure(RecordedTi(run))

    facet = facet_dict(lineage.run_facets["runflow"])
    check_schema(facet)
    assert facet["batch_ids"] == xcom(run, "run", "batch_ids")
    assert facet["counts"]["failed"] == 1


def test_a_mapped_task_instance_names_only_its_own_batches(runflow_connection: RunflowEmulator) -> None:
    run = events_dag("rf_events_mapped").test()
    task = RunflowBatchOperator(task_id="run", model="acme/test-model", inputs=[])  # as a mapped instance unmaps

    lineage = task.get_openlineage_facets_on_complete(RecordedTi(run, map_index=1))

    facet = facet_dict(lineage.run_facets["runflow"])
    assert (facet["batch_ids"], facet["counts"]["total"]) == (xcom(run, "run", "batch_ids", map_index=1), 3)


def test_a_run_that_failed_before_any_summary_has_its_batch_ids_and_no_counts() -> None:
    from airflow_provider_runflow.steps.lineage import operator_lineage

    lineage = operator_lineage("acme/gen", {"summary": None, "batch_ids": ["b1", "b2"]}, [None, None])

    facet = facet_dict(lineage.run_facets["runflow"])
    check_schema(facet)
    assert (facet["batch_ids"], facet["counts"], facet.get("cost")) == (["b1", "b2"], {}, None)


class SummaryOnlyTi:
    """A task instance whose only XCom is a summary."""

    task_id = "t"
    map_index = -1

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int) -> Any:
        return {"summary": {"batch_ids": ["b"], "total": 1, "succeeded": 1, "cost": "0.01"}}.get(key)


@pytest.mark.parametrize(
    ("path", "namespace", "name"),
    [
        ("s3://my-bucket/runflow/results.jsonl", "s3://my-bucket", "runflow/results.jsonl"),
        ("gs://media/run 1/", "gs://media", "run 1/"),
        ("file:///data/runflow/out.jsonl", "file", "/data/runflow/out.jsonl"),
        ("/data/runflow/media", "file", "/data/runflow/media"),
        ("file://nas/share/out.jsonl", "file://nas", "/share/out.jsonl"),
    ],
)
def test_output_and_media_paths_become_datasets_in_their_namespace(path: str, namespace: str, name: str) -> None:
    task = RunflowBatchOperator(task_id="t", model="acme/gen", inputs=[], output_path=path, media_path="s3://b/media")

    lineage = task.get_openlineage_facets_on_complete(SummaryOnlyTi())

    assert [(d.namespace, d.name) for d in lineage.outputs] == [(namespace, name), ("s3://b", "media")]


BLOCKED = """
import importlib.metadata
import sys

import importlib_metadata


class Block:
    \"\"\"As if OpenLineage were not installed: its modules cannot be imported, its distributions not found.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "openlineage" or name.startswith(("openlineage.", "airflow.providers.openlineage")):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
        return None


def installed(distributions):
    def without_openlineage(**kwargs):
        return (d for d in distributions(**kwargs) if "openlineage" not in (d.metadata["Name"] or "").lower())

    return without_openlineage


sys.meta_path.insert(0, Block())
for module in (importlib.metadata, importlib_metadata):
    module.distributions = installed(module.distributions)
"""


def test_without_the_openlineage_provider_the_operator_and_plugin_import_and_define_tasks(tmp_path: Path) -> None:
    script = BLOCKED + textwrap.dedent(
        """
        from airflow.sdk import DAG, Asset
        from airflow_provider_runflow.operators.batch import RunflowBatchOperator
        import airflow_provider_runflow.plugins.runflow_outputs

        with DAG("no_lineage", schedule=None):
            task = RunflowBatchOperator(task_id="t", model="acme/gen", inputs=[{"p": 1}], outlets=[Asset("a")])
        loaded = sorted(m for m in sys.modules if "openlineage" in m)
        print(task.task_id, loaded)
        try:
            import airflow.providers.openlineage
        except ModuleNotFoundError as err:
            print("blocked:", err)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[:2] == [
        "t []",
        "blocked: No module named 'airflow.providers.openlineage' (blocked)",
    ]
