"""Airflow as production runs it: api-server, scheduler, dag-processor and triggerer as separate processes.

Everything lives in a private temporary AIRFLOW_HOME (SQLite, LocalExecutor, parallelism 4),
next to a Runflow emulator started with its CLI in its own process. Each process runs in its
own session (process group) and is stopped by PID, its whole tree, also when startup fails.
With ``postgres=True`` the metadata database is a throwaway PostgreSQL 15 server instead, and
``triggerers``/``schedulers``/``api_servers`` start more than one of each (named ``triggerer``,
``triggerer2``...), as a highly available deployment runs them. ``celery_workers`` runs the
CeleryExecutor instead, with that many ``airflow celery worker`` processes (``worker``,
``worker2``...) on a Redis of the stack's own; ``s3`` starts an S3 API (moto's server) that every
process reaches through the standard AWS variables; ``logins`` replaces "everyone is admin" with
real users who log in (``USERS``).

Run it by hand, too: ``.venv/bin/python tests/fullstack/airflow_stack.py`` starts the stack,
runs the full-stack DAG once and stops everything; ``--keep`` leaves it up until Ctrl+C, and
``--ha`` runs it on PostgreSQL with two schedulers and two triggerers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from postgres_server import PostgresServer

from airflow_provider_runflow.emulator.local_airflow import (
    COMPONENTS,
    components_healthy,
    free_port,
    login,
    signal_group,
    simple_auth_env,
    start_in_session,
    stop_process_tree,
    stop_process_trees,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
FULLSTACK_DAGS = HERE / "dags"
FULLSTACK_DAG_ID = "runflow_fullstack"
STACK_COMPONENTS = (*COMPONENTS, "worker")
USERS = {"admin": "admin", "analyst": "viewer"}
"""With ``logins``: the stack's own REST calls log in as ``admin``; ``analyst`` may only look."""
WORKER_CONCURRENCY = 2
REDIS_READY = "Ready to accept connections"
EMULATOR_READY = "Runflow emulator running at "
MEDIA_ORIGIN = "Media origin at "
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
    job_id: int | None = None
    killed: bool = False

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


@dataclass
class AirflowStack:
    """The running stack: start it with :meth:`start` (or ``with``), always :meth:`stop` it."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="runflow-fullstack-")))
    api_port: int = field(default_factory=free_port)
    components: dict[str, Component] = field(default_factory=dict)
    emulator_url: str = ""
    media_url: str = ""
    api_key: str = ""
    organization_id: str = ""
    service_key: str = ""
    webhook_secret: str = ""
    keep_root: bool = False
    postgres: bool = False
    triggerers: int = 1
    schedulers: int = 1
    config: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    database: PostgresServer | None = None
    api_servers: int = 1
    celery_workers: int = 0
    s3: bool = False
    logins: bool = False
    api_ports: dict[str, int] = field(default_factory=dict)
    broker_url: str = ""
    s3_url: str = ""
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=lambda: {user: secrets.token_urlsafe(16) for user in USERS})
    """With ``logins``: each of ``USERS``' password, written to the passwords file the api-servers read."""
    startup_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.api_ports = {"api-server": self.api_port}
        self.api_ports |= {f"api-server{n}": free_port() for n in range(2, self.api_servers + 1)}

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
        return self.api_url_of("api-server")

    def api_url_of(self, name: str) -> str:
        """The address of api-server ``name`` (``api-server``, ``api-server2``...)."""
        return f"http://127.0.0.1:{self.api_ports[name]}"

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Migrate, start the emulator and the Airflow components, and wait until all are ready."""
        started = time.monotonic()
        try:
            self._prepare_dags()
            self.home.mkdir(parents=True, exist_ok=True)
            if self.postgres:
                self.database = PostgresServer(port=free_port())
                self.database.start()
            if self.celery_workers:
                self._start_redis()
            if self.s3:
                self._start_s3()
            self._start_emulator()
            self.cli("db", "migrate", timeout=180)
            for name in self.instances():
                if self.triggerers > 1 and component_kind(name) == "triggerer":
                    self.relaunch(name)
                else:
                    self.launch(name)
            self.wait_until_ready()
            self.startup_seconds = time.monotonic() - started
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this stack started, all at once, by PID and process group, and delete the temp dir."""
        stop_process_trees([component.process for component in self.components.values()])
        if self.database is not None:
            self.database.stop()
        if not self.keep_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def instances(self) -> list[str]:
        """The Airflow components' names, in starting order: ``api-server``, ``api-server2``, ..., ``triggerer``.

        Triggerers come last: with several, each starts once the one before it has its job.
        """
        counts = {
            "api-server": self.api_servers,
            "worker": self.celery_workers,
            "scheduler": self.schedulers,
            "dag-processor": 1,
            "triggerer": self.triggerers,
        }
        return [f"{kind}{n if n > 1 else ''}" for kind, count in counts.items() for n in range(1, count + 1)]

    def launch(self, name: str, *args: str) -> Component:
        """Start the Airflow command of component ``name`` (``triggerer2`` is a ``triggerer``) in its own session.

        A restarted component gets a fresh log file, and always its ``arguments`` entry after ``args``.
        """
        command = [str(BIN / "airflow"), *self._subcommand(name), *args, *self.arguments.get(name, ())]
        return self._spawn(name, command, self._own_env(name))

    def _subcommand(self, name: str) -> list[str]:
        kind = component_kind(name)
        if kind == "api-server":
            return [kind, "--host", "127.0.0.1", "--port", str(self.api_ports[name])]
        if kind == "worker":
            # Two workers on one machine: a Celery node name each, and no log server (both would want 8793;
            # the api-servers read task logs from the shared folder).
            node = ["--celery-hostname", f"{name}@%h", "--concurrency", str(WORKER_CONCURRENCY)]
            return ["celery", "worker", *node, "--skip-serve-logs"]
        return [kind]

    def _own_env(self, name: str) -> dict[str, str]:
        """What one component sets apart from the others: its own address, or which api-server it calls."""
        kind, number = component_kind(name), int(name.removeprefix(component_kind(name)) or 1)
        if kind == "api-server":
            return {"AIRFLOW__API__BASE_URL": self.api_url_of(name)}
        if kind != "worker":
            return {}
        # Worker n runs its tasks through api-server n (as a load balancer would spread them), and
        # reports its own name as the task instances' hostname: both share this machine's.
        api_servers = list(self.api_ports)
        api_server = api_servers[(number - 1) % len(api_servers)]
        return {
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url_of(api_server)}/execution/",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_hostname.worker_hostname",
            "RUNFLOW_WORKER_NAME": name,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        }

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Component:
        previous = self.components.get(name)
        if previous is not None and previous.alive():
            raise StackError(f"{name} is already running (pid {previous.pid})")
        log = self.root / f"{name}.{len(list(self.root.glob(f'{name}.*.log')))}.log"
        process = start_in_session(command, self.env() | (env or {}), log, self.root)
        self.components[name] = Component(name, process, log)
        return self.components[name]

    @contextlib.contextmanager
    def api_server_with_users(self, users: dict[str, tuple[str, str]], **config: str) -> Iterator[str]:
        """A second api-server on this stack's DB whose users log in: ``{name: (role, password)}``; its URL.

        The stack's own api-server admits everyone as admin (``simple_auth_manager_all_admins``)
        unless ``logins``; this one checks logins and roles as a production deployment does. ``config``: more
        environment, e.g. ``AIRFLOW__RUNFLOW__UI_MEDIA_STREAM_SECONDS="5"``.
        """
        port, passwords = free_port(), self.root / f"passwords-{uuid.uuid4().hex[:8]}.json"
        url = f"http://127.0.0.1:{port}"
        env = self.env() | config | simple_auth_env(users, passwords) | {"AIRFLOW__API__BASE_URL": url}
        command = [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1", "--port", str(port)]
        process = start_in_session(command, env, self.root / f"api-server-{port}.log", self.root)
        try:
            self.wait_for(lambda: answers(f"{url}/api/v2/monitor/health"), 120, f"the api-server on port {port}")
            yield url
        finally:
            stop_process_tree(process)

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
        signal_group(component.pid, signal.SIGKILL)
        psutil.wait_procs(tree, timeout=10)
        component.process.wait(timeout=10)
        component.killed = True

    def pause(self, name: str, paused: bool = True) -> None:
        """SIGSTOP (or SIGCONT) a component and every descendant: alive, but silent, as in a long stall."""
        pid = self.components[name].pid
        sig = signal.SIGSTOP if paused else signal.SIGCONT
        signal_group(pid, sig)
        for member in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                member.send_signal(sig)

    def relaunch(self, name: str) -> Component:
        """(Re)start a component under its name; a triggerer also gets its job id recorded.

        The job id tells its triggers from the others' in the DB. Triggerers start one at a time
        for this: the job newer than every one recorded so far is this one (a job killed with
        ``kill -9`` stays "running" in the DB, so state alone cannot tell).
        """
        newest = max((c.job_id or 0 for c in self.components.values()), default=0)
        component = self.launch(name)
        if component_kind(name) == "triggerer":
            component.job_id = self.wait_for(lambda: self._triggerer_job_after(newest), 120, f"{name}'s job")
        return component

    def _triggerer_job_after(self, newest: int) -> int | None:
        try:
            jobs = self.get("/jobs", job_type="TriggererJob", job_state="running", limit=100)["jobs"]
        except (httpx.HTTPError, StackError):
            return None
        return max((job["id"] for job in jobs if job["id"] > newest), default=None)

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process: this stack's config only, nothing inherited from Airflow."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        return {
            **base,
            "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
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
            "AIRFLOW_CONN_RUNFLOW_SERVICE": json.dumps(
                {"conn_type": "runflow", "host": self.emulator_url, "password": self.service_key}
            ),
            # The DAGs scheduled on the emulator's runflow://<host>/batches asset need its address.
            "RUNFLOW_FULLSTACK_API": self.emulator_url,
            "RUNFLOW_EXAMPLE_OUTPUT_DIR": str(self.root / "example-output"),
            # Where the "Runflow outputs" page may read results files and stored media from.
            "AIRFLOW__RUNFLOW__UI_STORAGE_ROOTS": (self.root / "example-output").as_uri(),
            # The emulator's media origin is on loopback, which media persistence refuses unless allowed.
            "AIRFLOW__RUNFLOW__MEDIA_ALLOWED_NETWORKS": "127.0.0.1",
            **self._database_env(),
            **self._executor_env(),
            **self._auth_env(),
            **self._s3_env(),
            **self.config,
        }

    def _executor_env(self) -> dict[str, str]:
        if not self.celery_workers:
            return {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
        # Celery's results go to the metadata database (the provider's default); its messages through Redis.
        return {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CELERY__BROKER_URL": self.broker_url}

    def _auth_env(self) -> dict[str, str]:
        if not self.logins:
            return {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
        users = {user: (role, self.passwords[user]) for user, role in USERS.items()}
        return simple_auth_env(users, self.root / "passwords.json")

    def _s3_env(self) -> dict[str, str]:
        """The AWS SDK's standard variables, which ``s3://`` ObjectStoragePaths without a connection use."""
        if not self.s3_url:
            return {}
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.s3_url,
        }

    def _database_env(self) -> dict[str, str]:
        if self.database is None:
            return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}"}
        # Small pools: six processes (and every LocalExecutor worker) share one 2-core test server.
        return {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database.url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
        }

    def _prepare_dags(self) -> None:
        self.dags.mkdir(parents=True, exist_ok=True)
        for source in [*FULLSTACK_DAGS.glob("*.py"), *(ROOT / "example_dags").glob("*.py")]:
            shutil.copy(source, self.dags / source.name)

    def _start_redis(self) -> None:
        """Celery's broker: Debian's redis-server, this stack's own process on a free loopback port, saving nothing."""
        server = shutil.which("redis-server")
        if server is None:
            raise StackError("redis-server is missing: apt-get install -y redis-server (Debian's package)")
        port = free_port()
        options = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir"]
        redis = self._spawn("redis", [server, *options, str(self.root)])
        self.wait_for(lambda: REDIS_READY in redis.tail(), 30, "Redis to accept connections")
        self.broker_url = f"redis://127.0.0.1:{port}/0"

    def _start_s3(self) -> None:
        """An S3 API on a free loopback port: moto's server, its buckets in its own memory."""
        url = f"http://127.0.0.1:{free_port()}"
        self._spawn("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", url.rsplit(":", 1)[1]])
        self.wait_for(lambda: answers(url), 30, "the S3 API (moto) to answer")
        self.s3_url = url

    def _start_emulator(self) -> None:
        port = str(free_port())
        command = [str(BIN / "runflow-emulator"), "--host", "127.0.0.1", "--port", port]
        emulator = self._spawn("emulator", command)
        line = self.wait_for(lambda: _line_starting(emulator.log, EMULATOR_READY), 30, "the emulator to listen")
        self.emulator_url = line.removeprefix(EMULATOR_READY).strip()
        key_line = self.wait_for(lambda: _line_starting(emulator.log, "API key: "), 10, "the emulator's API key")
        # "API key: KEY (organization ORG); service key: SERVICE_KEY"
        self.api_key, self.organization_id, self.service_key = (key_line.split()[i].strip("();") for i in (2, 4, 7))
        secret_line = self.wait_for(lambda: _line_starting(emulator.log, "Webhook secret: "), 10, "its webhook secret")
        self.webhook_secret = secret_line.removeprefix("Webhook secret: ").strip()
        media_line = self.wait_for(lambda: _line_starting(emulator.log, MEDIA_ORIGIN), 10, "its media origin")
        self.media_url = media_line.removeprefix(MEDIA_ORIGIN).strip()

    def wait_until_ready(self, timeout: float = 120) -> None:
        """Until the API answers, the triggerer and scheduler are healthy and the DAGs are parsed."""
        self.wait_for(
            lambda: components_healthy(self.api_url),
            timeout,
            "api-server, scheduler, triggerer and dag-processor to be healthy",
        )
        others = [self.api_url_of(name) for name in self.api_ports if name != "api-server"]
        self.wait_for(lambda: all(answers(f"{url}/api/v2/monitor/health") for url in others), timeout, "api-servers")
        workers = [c for c in self.components.values() if component_kind(c.name) == "worker"]
        self.wait_for(lambda: all(" ready." in w.tail(200) for w in workers), timeout, "the Celery workers")
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
            dead = [c.name for c in self.components.values() if self._died(c)]
            if dead:
                raise StackError(f"{', '.join(dead)} exited while waiting for {what}\n{self.report()}")
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise StackError(f"Timed out after {timeout:.0f} s waiting for {what}\n{self.report()}")
            time.sleep(interval)

    @staticmethod
    def _died(component: Component) -> bool:
        """An Airflow component that exited without being killed on purpose."""
        return not component.alive() and not component.killed and component_kind(component.name) in STACK_COMPONENTS

    def report(self, lines: int = 30) -> str:
        """The tail of every process's log, for failure messages."""
        parts = []
        for component in self.components.values():
            state = "running" if component.alive() else f"exited {component.process.returncode}"
            parts.append(f"----- {component.name} (pid {component.pid}, {state}) -----\n{component.tail(lines)}")
        return "\n".join(parts)

    # --- the REST API ----------------------------------------------------------------------

    def api(self) -> httpx.Client:
        """A client of the first api-server; with ``logins``, logged in as ``admin``."""
        headers = {"Authorization": f"Bearer {self.login('admin')}"} if self.logins else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)

    def login(self, user: str, api_server: str = "api-server") -> str:
        """A JWT for ``user`` from ``api_server``'s login endpoint (``POST /auth/token``), as its login form gets."""
        if (user, api_server) not in self.tokens:
            self.tokens[user, api_server] = login(self.api_url_of(api_server), user, self.passwords[user])
        return self.tokens[user, api_server]

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

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int, state: str) -> None:
        """What a user does in the UI: mark one (mapped) task instance ``state``."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}"
        with self.api() as client:
            response = client.patch(path, json={"new_state": state})
        if response.status_code != 200:
            raise StackError(f"PATCH {path}: {response.status_code} {response.text}")

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        ti: dict[str, Any] = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return ti

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, deserialize=True, map_index=map_index)["value"]

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
        """Every log Airflow wrote: its components' (restarted ones too; not the emulator's) and every task's."""
        files = [path for path in self.root.glob("*.log") if not path.name.startswith("emulator.")]
        files += [path for path in self.task_logs.rglob("*") if path.is_file()]
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


def component_kind(name: str) -> str:
    """The ``airflow`` subcommand of a component: ``triggerer2`` runs ``airflow triggerer``."""
    return name.rstrip("0123456789")


def _shared_secret(root: Path, name: str) -> str:
    """One secret per stack and name, shared by all its processes (JWTs signed by one are checked by another)."""
    path = root / f".{name}-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text()


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 (a server still starting refuses the connection)."""
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _line_starting(log: Path, prefix: str) -> str | None:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    return next((line for line in lines if line.startswith(prefix)), None)


def running_stack(**options: Any) -> Iterator[AirflowStack]:
    """A started stack (``AirflowStack`` fields as options), stopped when the generator is closed (for fixtures)."""
    stack = AirflowStack(**options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the stack running until Ctrl+C")
    parser.add_argument("--ha", action="store_true", help="PostgreSQL 15, two schedulers and two triggerers")
    args = parser.parse_args()
    # SIGTERM (e.g. from `timeout`) must unwind through `with` so that every process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    started = time.monotonic()
    replicas = 2 if args.ha else 1
    with AirflowStack(keep_root=args.keep, postgres=args.ha, schedulers=replicas, triggerers=replicas) as stack:
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
