"""Airflow as production runs it: api-server, scheduler, dag-processor and triggerer as separate processes.

Everything lives in a private temporary AIRFLOW_HOME (SQLite, LocalExecutor, parallelism 4),
next to a Runflow emulator started with its CLI in its own process. Each process runs in its
own session (process group) and is stopped by PID, its whole tree, also when startup fails.

Run it by hand, too: ``.venv/bin/python tests/fullstack/airflow_stack.py`` starts the stack,
runs the full-stack DAG once and stops everything; ``--keep`` leaves it up until Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FULLSTACK_DAGS = Path(__file__).resolve().parent / "dags"
FULLSTACK_DAG_ID = "runflow_fullstack"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EMULATOR_READY = "Runflow emulator running at "
TERMINAL_RUN_STATES = {"success", "failed"}

T = TypeVar("T")


class StackError(AssertionError):
    """The stack did not do what was expected in time; the message carries the relevant log tails."""


@dataclass
class Component:
    """One running process (and its process group) with its combined stdout/stderr log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process_tree(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process, its group and every descendant; SIGKILL whatever is left after ``grace``."""
    try:
        members = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        members = []
    _signal_group(process.pid, signal.SIGTERM)
    for member in members:
        _signal(member, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=grace)
    _signal_group(process.pid, signal.SIGKILL)
    for member in alive:
        _signal(member, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal(member: psutil.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        member.send_signal(sig)


@dataclass
class AirflowStack:
    """The running stack: start it with :meth:`start` (or ``with``), always :meth:`stop` it."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="runflow-fullstack-")))
    api_port: int = field(default_factory=free_port)
    components: dict[str, Component] = field(default_factory=dict)
    emulator_url: str = ""
    api_key: str = ""
    organization_id: str = ""
    webhook_secret: str = ""
    keep_root: bool = False

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def task_logs(self) -> Path:
        return self.home / "logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Migrate, start the emulator and the four Airflow components, and wait until all are ready."""
        try:
            self._prepare_dags()
            self.home.mkdir(parents=True, exist_ok=True)
            self._start_emulator()
            self.cli("db", "migrate", timeout=180)
            self.launch("api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
            for name in COMPONENTS[1:]:
                self.launch(name)
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this stack started, by PID and process group, and delete the temp dir."""
        for name in reversed(list(self.components)):
            stop_process_tree(self.components[name].process)
        if not self.keep_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def launch(self, name: str, *args: str) -> Component:
        """Start ``airflow <name>`` in its own session; a restarted component gets a fresh log file."""
        return self._spawn(name, [str(BIN / "airflow"), name, *args])

    def _spawn(self, name: str, command: list[str]) -> Component:
        previous = self.components.get(name)
        if previous is not None and previous.alive():
            raise StackError(f"{name} is already running (pid {previous.pid})")
        log = self.root / f"{name}.{len(list(self.root.glob(f'{name}.*.log')))}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root
            )
        self.components[name] = Component(name, process, log)
        return self.components[name]

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run ``airflow <args>`` against this stack; its stdout, or a failure with its output."""
        done = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise StackError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def kill(self, name: str) -> None:
        """``kill -9`` a component's whole process group, as a crashed pod or OOM kill would."""
        component = self.components[name]
        tree = [psutil.Process(component.pid), *psutil.Process(component.pid).children(recursive=True)]
        _signal_group(component.pid, signal.SIGKILL)
        psutil.wait_procs(tree, timeout=10)
        component.process.wait(timeout=10)

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process: this stack's config only, nothing inherited from Airflow."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        return {
            **base,
            "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__EXPOSE_CONFIG": "True",
            "AIRFLOW__API__SECRET_KEY": _shared_secret(self.root, "api"),
            "AIRFLOW__API_AUTH__JWT_SECRET": _shared_secret(self.root, "jwt"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # A killed triggerer's triggers move to a live one once its heartbeat is this old.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "12",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.task_logs),
            "AIRFLOW_CONN_RUNFLOW_DEFAULT": json.dumps(
                {
                    "conn_type": "runflow",
                    "host": self.emulator_url,
                    "password": self.api_key,
                    # What the callback receiver verifies the emulator's deliveries with.
                    "extra": {"callback_secrets": self.webhook_secret},
                }
            ),
            # The DAGs scheduled on the emulator's runflow://<host>/batches asset need its address.
            "RUNFLOW_FULLSTACK_API": self.emulator_url,
            "RUNFLOW_EXAMPLE_OUTPUT_DIR": str(self.root / "example-output"),
            # Where the "Runflow outputs" page may read results files and stored media from.
            "AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS": (self.root / "example-output").as_uri(),
        }

    def _prepare_dags(self) -> None:
        self.dags.mkdir(parents=True, exist_ok=True)
        for source in [*FULLSTACK_DAGS.glob("*.py"), *(ROOT / "example_dags").glob("*.py")]:
            shutil.copy(source, self.dags / source.name)

    def _start_emulator(self) -> None:
        port = str(free_port())
        command = [str(BIN / "runflow-emulator"), "--host", "127.0.0.1", "--port", port]
        emulator = self._spawn("emulator", command)
        line = self.wait_for(lambda: _line_starting(emulator.log, EMULATOR_READY), 30, "the emulator to listen")
        self.emulator_url = line.removeprefix(EMULATOR_READY).strip()
        key_line = self.wait_for(lambda: _line_starting(emulator.log, "API key: "), 10, "the emulator's API key")
        # "API key: KEY (organization ORG); service key: ..."
        self.api_key, self.organization_id = (key_line.split()[i].strip("();") for i in (2, 4))
        secret_line = self.wait_for(lambda: _line_starting(emulator.log, "Webhook secret: "), 10, "its webhook secret")
        self.webhook_secret = secret_line.removeprefix("Webhook secret: ").strip()

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Until the API answers, the triggerer and scheduler are healthy and the DAGs are parsed."""

        def healthy() -> bool:
            try:
                health = self.api().get("/api/v2/monitor/health").json()
            except httpx.HTTPError:
                return False
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all(health.get(part, {}).get("status") == "healthy" for part in parts)

        self.wait_for(healthy, timeout, "api-server, scheduler, triggerer and dag-processor to be healthy")
        self.wait_for(
            lambda: self.api().get(f"/api/v2/dags/{FULLSTACK_DAG_ID}").status_code == 200,
            timeout,
            f"the dag-processor to parse {FULLSTACK_DAG_ID}",
        )

    # --- waiting and reporting -------------------------------------------------------------

    def wait_for(self, check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
        """Poll ``check`` until it returns something truthy; on timeout fail with every process's log tail."""
        deadline = time.monotonic() + timeout
        while True:
            dead = [c.name for c in self.components.values() if not c.alive() and c.name in COMPONENTS]
            if dead:
                raise StackError(f"{', '.join(dead)} exited while waiting for {what}\n{self.report()}")
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise StackError(f"Timed out after {timeout:.0f} s waiting for {what}\n{self.report()}")
            time.sleep(interval)

    def report(self, lines: int = 30) -> str:
        """The tail of every process's log, for failure messages."""
        parts = []
        for component in self.components.values():
            state = "running" if component.alive() else f"exited {component.process.returncode}"
            parts.append(f"----- {component.name} (pid {component.pid}, {state}) -----\n{component.tail(lines)}")
        return "\n".join(parts)

    # --- the REST API ----------------------------------------------------------------------

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        with self.api() as client:
            response = client.get(f"/api/v2{path}", params=params)
        if response.status_code != 200:
            raise StackError(f"GET {path}: {response.status_code} {response.text}")
        return response.json()

    def trigger_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a DAG run through the REST API; returns its run id."""
        with self.api() as client:
            response = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        if response.status_code != 200:
            raise StackError(f"Triggering {dag_id}: {response.status_code} {response.text}")
        run_id: str = response.json()["dag_run_id"]
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        state: str = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
        return state

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        ti: dict[str, Any] = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return ti

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, deserialize=True)["value"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 150) -> str:
        """Until the run is finished; returns its state, or fails with the log tails."""
        return self.wait_for(
            lambda: state if (state := self.run_state(dag_id, run_id)) in TERMINAL_RUN_STATES else None,
            timeout,
            f"run {run_id} of {dag_id} to finish",
            interval=1.0,
        )

    def _task_log_folder(self, dag_id: str, run_id: str, task_id: str) -> Path:
        return self.task_logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"

    def task_log(self, dag_id: str, run_id: str, task_id: str, attempt: int = 1) -> str:
        """What the task's worker processes logged (not its trigger)."""
        path = self._task_log_folder(dag_id, run_id, task_id) / f"attempt={attempt}.log"
        return path.read_text(errors="replace")

    def trigger_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[int, str]:
        """The trigger log files of a task, by the id of the triggerer job that wrote them."""
        found: dict[int, str] = {}
        for path in self._task_log_folder(dag_id, run_id, task_id).glob("attempt=*.log.trigger.*.log"):
            job_id = int(path.name.split(".trigger.")[1].removesuffix(".log"))
            found[job_id] = path.read_text(errors="replace")
        return found

    def triggerer_jobs(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = self.get("/jobs", job_type="TriggererJob", limit=100)["jobs"]
        return jobs

    def airflow_logs(self) -> dict[str, str]:
        """Every log Airflow wrote: its components' (not the emulator's) and every task's, by file name."""
        files = [c.log for c in self.components.values() if c.name != "emulator"]
        files += [p for p in self.task_logs.rglob("*") if p.is_file()]
        return {str(path): path.read_text(errors="replace") for path in files}

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first."""
        runs: list[dict[str, Any]] = self.get(f"/dags/{dag_id}/dagRuns", order_by="id", limit=100)["dag_runs"]
        return runs

    def emulator_counters(self) -> dict[str, Any]:
        response = httpx.get(f"{self.emulator_url}/_emulator/counters", timeout=10)
        response.raise_for_status()
        counters: dict[str, Any] = response.json()
        return counters


def _shared_secret(root: Path, name: str) -> str:
    """One secret per stack and name, shared by all its processes (JWTs signed by one are checked by another)."""
    path = root / f".{name}-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text()


def _line_starting(log: Path, prefix: str) -> str | None:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    return next((line for line in lines if line.startswith(prefix)), None)


def running_stack(keep_root: bool = False) -> Iterator[AirflowStack]:
    """A started stack, stopped when the generator is closed (for fixtures)."""
    stack = AirflowStack(keep_root=keep_root)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the stack running until Ctrl+C")
    args = parser.parse_args()
    # SIGTERM (e.g. from `timeout`) must unwind through `with` so that every process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    started = time.monotonic()
    with AirflowStack(keep_root=args.keep) as stack:
        print(f"Stack up in {time.monotonic() - started:.0f} s: {stack.api_url} (files in {stack.root})", flush=True)
        run_id = stack.trigger_dag(FULLSTACK_DAG_ID)
        state = stack.wait_for_run(FULLSTACK_DAG_ID, run_id)
        print(f"{FULLSTACK_DAG_ID} {run_id}: {state} after {time.monotonic() - started:.0f} s", flush=True)
        if args.keep:
            print("Stack running; Ctrl+C stops it.", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
