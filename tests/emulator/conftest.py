"""One fast emulator (time_scale 0.02: items run 4 to 10 ms) for the emulator tests, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_support import API_KEYS, make_client

from airflow_provider_runflow.client import RunflowClient
from airflow_provider_runflow.emulator import RunflowEmulator


@pytest.fixture(scope="session")
def fast_emulator() -> Iterator[RunflowEmulator]:
    with RunflowEmulator(seed=7, time_scale=0.02, api_keys=API_KEYS) as emulator:
        yield emulator


@pytest.fixture
def emu(fast_emulator: RunflowEmulator) -> RunflowEmulator:
    fast_emulator.reset()
    return fast_emulator


@pytest.fixture
def client(emu: RunflowEmulator) -> Iterator[RunflowClient]:
    with make_client(emu) as runflow:
        yield runflow
