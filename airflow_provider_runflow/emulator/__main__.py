"""``python -m airflow_provider_runflow.emulator``: the ``runflow-emulator`` command."""

import sys

from airflow_provider_runflow.emulator.cli import main

sys.exit(main())
