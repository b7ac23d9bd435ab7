"""A throwaway PostgreSQL 15 server for the full-stack tests: initdb in a temp dir, pg_ctl on a free port.

PostgreSQL refuses to run as root, so as root every command runs as the ``postgres`` user
(``runuser``) in a directory that user owns. No Docker and never the system service: the
server is this test's own process, stopped by the PID in its ``postmaster.pid``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

PG_BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"
DB_USER = DB_NAME = "airflow"
INSTALL_HINT = "PostgreSQL 15 is missing: apt-get install -y postgresql (Debian's package)"
# A test database: durability off, enough connections for two schedulers, two triggerers and their pools.
SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300")


class PostgresError(RuntimeError):
    """The server could not be set up; the message says what to install or carries pg_ctl's output."""


@dataclass
class PostgresServer:
    """One server with one database, ``airflow``, that trusts local connections from user ``airflow``."""

    port: int
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="runflow-pg-")))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Airflow connects with (psycopg2, over TCP on loopback)."""
        return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def start(self) -> None:
        """initdb, start on ``port`` with the socket in the data dir, create the database."""
        if not (PG_BIN / "pg_ctl").exists():
            raise PostgresError(INSTALL_HINT)
        if os.geteuid() == 0:
            shutil.chown(self.root, OS_USER, OS_USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", DB_USER, "-E", "UTF8")
        options = " ".join([f"-p {self.port}", f"-k {self.data}", "-h 127.0.0.1", *(f"-c {s}" for s in SETTINGS)])
        log = self.root / "postgres.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, DB_NAME)

    def stop(self) -> None:
        """Stop the server by its PID (fast shutdown, SIGKILL after 10 s) and delete its directory."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                server = psutil.Process(pid)
                server.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
                _, alive = psutil.wait_procs([server], timeout=10)
                for process in alive:
                    process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def pid(self) -> int | None:
        """The postmaster's PID, from the first line of ``postmaster.pid``."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one query against the Airflow database (the tests look at ``trigger.triggerer_id``)."""
        import psycopg2  # only the PostgreSQL mode needs the driver

        with contextlib.closing(psycopg2.connect(self.url.replace("+psycopg2", ""))) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode:
            raise PostgresError(f"{tool} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
