"""A local emulator of Runflow's batch API, with fault injection, for tests, demos and benchmarks.

Importing this package is cheap: the server (uvicorn) is only imported in the emulator's own process.
"""

from airflow_provider_runflow.emulator.faults import FaultKind, FaultRule
from airflow_provider_runflow.emulator.process import RunflowEmulator

__all__ = ["FaultKind", "FaultRule", "RunflowEmulator"]
