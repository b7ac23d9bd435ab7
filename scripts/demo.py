"""The README's main command: run ``example_runflow_batch`` through Airflow against a local Runflow.

Starts the Runflow emulator, points the ``runflow_default`` connection at it, runs the DAG
with ``airflow dags test`` (the trigger included), prints what the first items produced
(``--all``: every item) and the run's summary, then stops the emulator. The images are kept:
copied into a local folder (``--media``; default: ``media/`` in the demo's Airflow home), whose
path is printed with each item's file. With ``--real``, the
DAG runs against the Runflow API of the ``AIRFLOW_CONN_RUNFLOW_DEFAULT`` you exported instead
(real models, real costs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "example_runflow_batch"
TASK_ID = "generate_images"
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _setup_airflow(home: Path, media: Path) -> None:
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_VAR_RUNFLOW_MEDIA_PATH": f"file://{media.resolve()}",
        }
    )
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True)


@contextlib.contextmanager
def _runflow(real: bool) -> Iterator[str]:
    """Where the DAG's Runflow is: the emulator (started here) or the real API from the environment."""
    if real:
        if not os.environ.get("AIRFLOW_CONN_RUNFLOW_DEFAULT"):
            sys.exit("--real needs AIRFLOW_CONN_RUNFLOW_DEFAULT with your Runflow API key (see README)")
        yield "the Runflow API of AIRFLOW_CONN_RUNFLOW_DEFAULT"
        return
    from airflow_provider_runflow.emulator import RunflowEmulator

    with RunflowEmulator(run_seconds=(2.0, 6.0)) as emulator:
        os.environ["AIRFLOW_CONN_RUNFLOW_DEFAULT"] = emulator.connection_json()
        # Its media origin is on loopback, which media persistence refuses unless allowed.
        os.environ["AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS"] = "127.0.0.1"
        yield f"the Runflow emulator at {emulator.url}"


def _results(run_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    found: dict[str, Any] = {}
    with create_session() as session:
        for key in ("return_value", "summary", "batch_ids", "runflow_batch_url"):
            query = XComModel.get_many(run_id=run_id, key=key, task_ids=TASK_ID, dag_ids=DAG_ID)
            row = session.scalars(query).first()
            found[key] = None if row is None else XComModel.deserialize_value(row)
    return found


def _latest_run() -> tuple[str, str]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc()).limit(1)).one()
        return run.run_id, str(run.state)


SHOWN = 8  # items printed without --all: enough to see the shape, short enough to read


def result_lines(entries: list[dict[str, Any]], show_all: bool) -> list[str]:
    """One line per item (the first ``SHOWN`` unless ``show_all``), then how many were left out."""
    shown = entries if show_all else entries[:SHOWN]
    lines = [f"{'index':>5}  {'client_ref':<16} {'status':<10} output"]
    for entry in shown:
        stored = [record.get("path") or record.get("error") for record in entry.get("media") or []]
        output = (stored or [None])[0] or (entry.get("output") or {}).get("image_url") or json.dumps(entry.get("error"))
        lines.append(f"{entry['index']:>5}  {entry['client_ref'] or '':<16} {entry['status']:<10} {output}")
    if len(entries) > len(shown):
        lines.append(f"{'...':>5}  ({len(entries) - len(shown)} more: --all prints every item)")
    return lines


def media_folder(entries: list[dict[str, Any]]) -> str | None:
    """The folder the images were copied to, from the first stored file's path."""
    paths = [record["path"] for entry in entries for record in entry.get("media") or [] if record.get("path")]
    return paths[0].removeprefix("file://").rsplit("/", 1)[0] if paths else None


def _batch_link(url: str | None, real: bool) -> str:
    """The "Runflow batch" link; the emulator's stands in for a dashboard that does not exist, and says so."""
    if real or not url:
        return f"Batch link: {url or 'none given'}"
    return f"Batch link: {url} (the emulator's stand-in: Runflow's dashboard, which it has not, would open there)"


def _report(where: str, run_id: str, state: str, found: dict[str, Any], log: Path, show_all: bool, real: bool) -> None:
    entries, summary = found["return_value"] or [], found["summary"] or {}
    print(f"\nRunflow: {where}\nDAG run {run_id}: {state}\n")
    print("\n".join(result_lines(entries, show_all)))
    print(
        f"\n{summary.get('succeeded', 0)} of {summary.get('total', 0)} items succeeded, "
        f"{summary.get('failed', 0)} failed; cost {summary.get('cost')}; "
        f"{len(found['batch_ids'] or [])} batches: {', '.join(found['batch_ids'] or [])}"
    )
    print(
        f"Outputs: XCom 'return_value' of task '{TASK_ID}' (one entry per input, in input order), "
        f"each handed to a mapped 'publish' task; summary in XCom 'summary'.\n"
        f"{_batch_link(found['runflow_batch_url'], real)}\nFull Airflow log: {log}"
    )
    stored = sum(1 for entry in entries for record in entry.get("media") or [] if record.get("path"))
    print(f"Images kept: {stored} files in {media_folder(entries)}" if stored else "Images kept: none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--real", action="store_true", help="use the real Runflow API from AIRFLOW_CONN_RUNFLOW_DEFAULT"
    )
    parser.add_argument("--all", action="store_true", help=f"print every item's result, not only the first {SHOWN}")
    parser.add_argument("--media", type=Path, help="local folder to copy the images to (default: <home>/media)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="runflow-demo-"))
    _setup_airflow(home, args.media or home / "media")
    log = home / "dags-test.log"
    with _runflow(args.real) as where:
        print(f"Running {DAG_ID} through Airflow against {where} ...", flush=True)
        with log.open("w") as out:
            subprocess.run([AIRFLOW, "dags", "test", DAG_ID], stdout=out, stderr=subprocess.STDOUT, check=False)
        run_id, state = _latest_run()
        found = _results(run_id)
    _report(where, run_id, state, found, log, args.all, args.real)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
