"""Airflow's components as separate local processes, as production runs them, next to the emulator.

What the repository's local stack (``python3 scripts/dev.py stack``) and its full-stack tests share:
each process starts in its own session (process group), so that a terminal's Ctrl+C reaches only
the script that started it, and is stopped by PID, its whole tree; users log in through the simple
auth manager with passwords from a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil  # a dependency of Airflow itself

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_in_session(command: list[str], env: Mapping[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its stdout and stderr appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )


def stop_process_trees(processes: Iterable[subprocess.Popen[Any]], grace: float = 10.0) -> None:
    """SIGTERM each process, its group and every descendant, all at once; SIGKILL whatever is left after ``grace``.

    Descendants are signalled one by one as well: a task's process may have left the group.
    """
    leaders = list(processes)
    members = [member for leader in leaders for member in _tree(leader.pid)]
    for leader in leaders:
        signal_group(leader.pid, signal.SIGTERM)
    for member in members:
        _signal(member, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=grace)
    for leader in leaders:
        signal_group(leader.pid, signal.SIGKILL)
    for member in alive:
        _signal(member, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=5)
    for leader in leaders:
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=5)


def stop_process_tree(process: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """:func:`stop_process_trees` of one process."""
    stop_process_trees([process], grace)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group that may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal(member: psutil.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        member.send_signal(sig)


def simple_auth_env(users: Mapping[str, tuple[str, str]], passwords: Path) -> dict[str, str]:
    """Settings for the simple auth manager's users, ``{name: (role, password)}``; writes their passwords file.

    Airflow generates a password for a user missing from the file; writing every one keeps the logins known.
    """
    passwords.write_text(json.dumps({name: password for name, (_, password) in users.items()}))
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{name}:{role}" for name, (role, _) in users.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }


def login(url: str, username: str, password: str) -> str:
    """A JWT from an api-server's simple auth manager, as its login form gets one."""
    response = httpx.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def components_healthy(url: str) -> bool:
    """Whether the api-server at ``url`` answers and reports its database and the other components healthy."""
    try:
        health = httpx.get(f"{url}/api/v2/monitor/health", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return False
    return all(health.get(part, {}).get("status") == "healthy" for part in HEALTH_PARTS)
