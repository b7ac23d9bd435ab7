"""``python3 scripts/dev.py stack``: Airflow as production runs it, on this machine, against the Runflow emulator.

Starts the emulator, then ``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as
separate processes (LocalExecutor, SQLite) in a local AIRFLOW_HOME (``.stack/``), with the example DAGs
and ``runflow_default`` pointing at the emulator. Users log in through the simple auth manager: an admin
and a viewer, whose passwords are kept in the home's ``passwords.json`` and printed. Runs until Ctrl+C
(or SIGTERM), then stops every process by PID, its whole process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from airflow_provider_runflow.emulator import RunflowEmulator
from airflow_provider_runflow.emulator.local_airflow import (
    COMPONENTS,
    components_healthy,
    login,
    simple_auth_env,
    start_in_session,
    stop_process_trees,
)

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAG_ID = "example_runflow_batch"
TASK_ID = "generate_images"
USERS = {"admin": "admin", "viewer": "viewer"}  # user name: its simple auth manager role
STARTUP_SECONDS = 180

Processes = dict[str, subprocess.Popen[bytes]]


def users(home: Path) -> dict[str, tuple[str, str]]:
    """Each user's role and password; passwords made once and kept in the home, so logins survive restarts."""
    path = home / "passwords.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    return {name: (role, kept.get(name) or secrets.token_urlsafe(12)) for name, role in USERS.items()}


def airflow_env(home: Path, url: str, emulator: RunflowEmulator, logins: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Every component's settings; none inherited from the shell's own Airflow settings."""
    media = (home / "media").resolve().as_uri()
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        # One secret for all processes: the api-server checks the tokens the scheduler's workers carry.
        "AIRFLOW__API__SECRET_KEY": _kept_secret(home, "api"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _kept_secret(home, "jwt"),
        "AIRFLOW_CONN_RUNFLOW_DEFAULT": emulator.connection_json(),
        # Where the example DAGs keep the images, and where the outputs tab may read them from.
        "AIRFLOW_VAR_RUNFLOW_MEDIA_PATH": media,
        "RUNFLOW_EXAMPLE_MEDIA_PATH": media,
        "AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS": media,
        "RUNFLOW_EXAMPLE_OUTPUT_DIR": str(home / "example-output"),
        # The emulator's media origin is on loopback, which media persistence refuses unless allowed.
        "AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS": "127.0.0.1",
        **simple_auth_env(logins, home / "passwords.json"),
    }


def _kept_secret(home: Path, name: str) -> str:
    path = home / f".{name}-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text()


@contextmanager
def airflow_components(home: Path, port: int, env: dict[str, str]) -> Iterator[Processes]:
    """The four components, each in its own session, logging to ``home/logs/<name>.log``; all stopped on exit."""
    running: Processes = {}
    try:
        for name in COMPONENTS:
            where = ["--host", "127.0.0.1", "--port", str(port)] if name == "api-server" else []
            running[name] = start_in_session([AIRFLOW, name, *where], env, home / "logs" / f"{name}.log", home)
        yield running
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not leave processes behind
        print("Stopping Airflow and the emulator ...", flush=True)
        stop_process_trees(running.values())


def exited(running: Processes) -> str | None:
    """A component that exited (it should not before Ctrl+C), with where its log is."""
    for name, process in running.items():
        if process.poll() is not None:
            return f"airflow {name} exited ({process.returncode}): see its log, logs/{name}.log"
    return None


def wait_until_ready(url: str, running: Processes, admin_password: str) -> None:
    """Until every component is healthy and the dag-processor has parsed the example DAG."""

    def parsed() -> bool:
        try:
            token = login(url, "admin", admin_password)
            response = httpx.get(f"{url}/api/v2/dags/{DAG_ID}", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    checks: list[Callable[[], bool]] = [lambda: components_healthy(url), parsed]
    deadline = time.monotonic() + STARTUP_SECONDS
    for check in checks:
        while not check():
            if problem := exited(running):
                sys.exit(problem)
            if time.monotonic() > deadline:
                sys.exit(f"Airflow was not ready after {STARTUP_SECONDS} s: see the logs in logs/")
            time.sleep(1)


def welcome(home: Path, url: str, emulator: RunflowEmulator, logins: dict[str, tuple[str, str]]) -> str:
    width = max(map(len, logins))
    accounts = "\n".join(f"  {name:<{width}} / {password}   (role {role})" for name, (role, password) in logins.items())
    return f"""
Airflow UI: {url}
Log in as:
{accounts}
  (passwords kept in {home / "passwords.json"})
Runflow: the emulator at {emulator.url}; the connection runflow_default points at it.
DAGs: {ROOT / "example_dags"}

To see the "Runflow outputs" tab:
  1. log in as admin, open Dags > {DAG_ID} and press Trigger
  2. in the run's grid, click the task {TASK_ID}
  3. open its "Runflow outputs" tab: the batches while the task waits, every item's image once it is done
  (the viewer may look at all of it, but not trigger)

Logs: {home / "logs"} (one file per component; task logs under dag_id=...)
Ctrl+C stops everything.
"""


def run(home: Path, port: int) -> int:
    """Start everything, print how to use it, and wait; every process is stopped however this ends."""
    url = f"http://127.0.0.1:{port}"
    (home / "logs").mkdir(parents=True, exist_ok=True)
    logins = users(home)
    print(f"Starting the Runflow emulator and Airflow in {home} ...", flush=True)
    with RunflowEmulator(run_seconds=(2.0, 6.0)) as emulator:
        env = airflow_env(home, url, emulator, logins)
        with (home / "logs" / "db-migrate.log").open("wb") as log:
            subprocess.run([AIRFLOW, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        with airflow_components(home, port, env) as running:
            wait_until_ready(url, running, logins["admin"][1])
            print(welcome(home, url, emulator, logins), flush=True)
            while not (problem := exited(running)):
                time.sleep(1)
            print(problem, file=sys.stderr, flush=True)
            return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080, help="the api-server's port (default: 8080)")
    parser.add_argument("--home", type=Path, default=ROOT / ".stack", help="AIRFLOW_HOME (default: .stack/)")
    args = parser.parse_args()
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", args.port)) == 0:
            sys.exit(f"Port {args.port} is in use: choose another with --port")
    # SIGTERM unwinds like Ctrl+C, through every `finally` that stops a process.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    try:
        code = run(args.home.resolve(), args.port)
    except KeyboardInterrupt:
        code = 0
    print("Stopped: no process of the stack is left running.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
