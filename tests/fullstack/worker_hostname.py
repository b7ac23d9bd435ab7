"""``[core] hostname_callable`` of the full-stack Celery workers: each says its own name, not the machine's.

Both workers run on one machine, so Airflow's default (the FQDN) would make every task
instance's ``hostname`` the same; with this, the UI and the REST API say which worker ran it.
"""

from __future__ import annotations

import os


def worker_hostname() -> str:
    return os.environ["RUNFLOW_WORKER_NAME"]
