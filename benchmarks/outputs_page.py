"""The "Runflow outputs" page: how fast the first page of a 10,000-item task is served.

Airflow reads its configuration once, at import, so the measurement runs in a child process
with its own AIRFLOW_HOME: a migrated SQLite DB, the tests' ``rf_ui_recorded`` DAG run with
``dag.test()`` (10,000 entries, as a list XCom and as a JSON Lines file), then Airflow's own
API app (``create_app``, the plugin mounted from its entry point) asked for pages with a
viewer's JWT through Starlette's TestClient: authentication, DB read, rendering, no network.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import percentile

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    ("list XCom", "first page", {}),
    ("list XCom", "failed only, first page", {"status": "failed"}),
    ("JSON Lines", "first page", {}),
    ("JSON Lines", "failed only, first page", {"status": "failed"}),
    ("JSON Lines", "last page", {"page": "last"}),
)


def run_outputs_page(items: int = 10_000, repeats: int = 20) -> list[dict[str, Any]]:
    """One row per case: median and p95 milliseconds over ``repeats`` requests after a warm-up one."""
    with tempfile.TemporaryDirectory(prefix="runflow-bench-ui-") as home:
        dags = Path(home) / "dags"
        dags.mkdir()
        for source in (ROOT / "tests" / "dags").glob("*.py"):
            (dags / source.name).symlink_to(source)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS": Path(home).as_uri(),
            "PYTHONPATH": str(dags),
        }
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
        child = [sys.executable, "-m", "benchmarks.outputs_page", str(items), str(repeats)]
        done = subprocess.run(child, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _measure(items: int, repeats: int) -> list[dict[str, Any]]:
    """In the child: record the two tasks, then time each case."""
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient
    from runflow_ui_scenarios import DAGS

    home = Path(os.environ["AIRFLOW_HOME"])
    record = DAGS["rf_ui_recorded"]
    runs = {
        "list XCom": record.test(run_conf={"count": items}).run_id,
        # In the task instance's own folder under the root, where the page reads results files.
        "JSON Lines": record.test(run_conf={"count": items, "output_path": str(home / "{folder}" / "r.jsonl")}).run_id,
    }
    app = create_app()
    jwt = app.state.auth_manager.generate_jwt(SimpleAuthManagerUser(username="bench", role="viewer"))
    client = TestClient(app, headers={"Authorization": f"Bearer {jwt}"})
    last_page = -(-items // 48)
    floor = _time(lambda: _read_xcom(runs["list XCom"]), repeats)
    rows = [{"source": "list XCom", "case": "floor: the XCom row alone, read and decoded", "items": items, **floor}]
    for source, case, extra in CASES:
        params = {"dag_id": "rf_ui_recorded", "run_id": runs[source], "task_id": "run", "map_index": "-1"}
        params |= {k: str(last_page) if v == "last" else v for k, v in extra.items()}
        response = client.get("/runflow-outputs/outputs", params=params)
        assert response.status_code == 200, response.text[:300]
        assert response.text.count('<article class="item') > 0, response.text[:300]
        timing = _time(lambda params=params: client.get("/runflow-outputs/outputs", params=params), repeats)
        kib = round(len(response.content) / 1024, 1)
        rows.append({"source": source, "case": case, "items": items, "kib": kib, **timing})
    return rows


def _read_xcom(run_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(XComModel).where(XComModel.run_id == run_id, XComModel.key == "return_value")
        return XComModel.deserialize_value(session.scalars(query).one())


def _time(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and p95 milliseconds of ``repeats`` calls, after one warm-up call."""
    call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    median, p95 = statistics.median(samples), percentile(samples, 0.95)
    return {"median_ms": round(median, 1), "p95_ms": round(p95, 1), "load_avg_1m": round(os.getloadavg()[0], 2)}


if __name__ == "__main__":
    print(json.dumps(_measure(int(sys.argv[1]), int(sys.argv[2]))))
