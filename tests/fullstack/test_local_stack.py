"""``python3 scripts/dev.py stack`` as a user runs it: what it prints works, and Ctrl+C leaves nothing running.

The test runs ``scripts/stack.py`` (what ``dev.py stack`` executes in its own place) with this interpreter in
a temporary home, and presses Ctrl+C as a terminal does: SIGINT to the whole foreground process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from airflow_stack import ROOT

from airflow_provider_runflow.emulator.local_airflow import COMPONENTS, free_port, login, stop_process_tree

pytestmark = pytest.mark.fullstack

READY_LINE = "Ctrl+C stops everything."


class Output:
    """What the script prints, collected as it comes (a pipe left unread would block it)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(process.stdout or ()), daemon=True)
        self._reader.start()

    def wait_for(self, line: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while line not in (text := "".join(self.lines)):
            assert self.process.poll() is None, f"the stack exited ({self.process.returncode}):\n{text}"
            assert time.monotonic() < deadline, f"no {line!r} after {timeout:.0f} s:\n{text}"
            time.sleep(0.5)
        return text

    def all(self, timeout: float) -> str:
        self._reader.join(timeout)
        return "".join(self.lines)


def printed(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{pattern!r} not in:\n{text}"
    return found[1]


def get(url: str, path: str, token: str) -> Any:
    response = httpx.get(f"{url}/api/v2{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


def trigger(url: str, dag_id: str, token: str) -> str:
    response = httpx.post(
        f"{url}/api/v2/dags/{dag_id}/dagRuns",
        json={"logical_date": None},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    run_id: str = response.json()["dag_run_id"]
    return run_id


def wait_for_a_running_task(url: str, path: str, token: str, timeout: float = 60) -> None:
    """Until a task instance at ``path`` (a run's) is running, or deferred."""
    deadline = time.monotonic() + timeout
    while not {"running", "deferred"} & {ti["state"] for ti in get(url, path, token)["task_instances"]}:
        assert time.monotonic() < deadline, f"no task of {path} running after {timeout:.0f} s"
        time.sleep(0.5)


def components_of(processes: list[psutil.Process]) -> list[str]:
    """The Airflow subcommand each process runs (``scheduler``...), for those running one.

    The api-server renames its process ``airflow api_server -- host:...``.
    """
    words = [" ".join(process.cmdline()).replace("_", "-").split() for process in processes]
    return sorted(word for command in words for word in command if word in COMPONENTS)


def still_running(processes: list[psutil.Process]) -> list[str]:
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return [f"{p.pid}: {' '.join(p.cmdline())}" for p in alive]


def test_the_local_stack_admits_its_printed_logins_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "scripts" / "stack.py"), "--port", str(free_port()), "--home", str(tmp_path)]
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
    stack = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    output = Output(stack)
    started: list[psutil.Process] = []
    try:
        text = output.wait_for(READY_LINE, timeout=150)
        url = printed(r"^Airflow UI: (\S+)$", text)
        dag_id, task_id = printed(r"open Dags > (\S+) and", text), printed(r"click the task (\S+)$", text)
        admin = login(url, "admin", printed(r"^  admin +/ (\S+)", text))
        viewer = login(url, "viewer", printed(r"^  viewer +/ (\S+)", text))

        assert dag_id in [dag["dag_id"] for dag in get(url, "/dags", viewer)["dags"]]
        assert task_id in [task["task_id"] for task in get(url, f"/dags/{dag_id}/tasks", admin)["tasks"]]
        plugins = {plugin["name"]: plugin for plugin in get(url, "/plugins", admin)["plugins"]}
        assert [view["name"] for view in plugins["runflow_outputs"]["external_views"]] == ["Runflow outputs"]
        refused = httpx.post(
            f"{url}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None},
            headers={"Authorization": f"Bearer {viewer}"},
            timeout=30,
        )
        assert refused.status_code == 403
        assert components_of(psutil.Process(stack.pid).children()) == sorted(COMPONENTS)

        # Stopped as users stop it: in the middle of a run, a task on a worker.
        wait_for_a_running_task(url, f"/dags/{dag_id}/dagRuns/{trigger(url, dag_id, admin)}/taskInstances", admin)
        started = psutil.Process(stack.pid).children(recursive=True)
        os.killpg(stack.pid, signal.SIGINT)
        code = stack.wait(timeout=90)
        left = still_running(started)
    finally:
        stop_process_tree(stack)  # nothing to do unless the test failed before its Ctrl+C
        for process in started:  # nor this, unless the stack left some behind
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    assert code == 0, output.all(5)
    assert left == []
    assert "Stopped: no process of the stack is left running." in output.all(5)
