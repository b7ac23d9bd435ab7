"""The provider is found by Airflow through its installed entry point, as a user's Airflow would find it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "airflow-provider-runflow"
HOOK_CLASS = "airflow_provider_runflow.hooks.runflow.RunflowHook"


def test_entry_point_is_installed_and_loads_provider_info() -> None:
    [entry_point] = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_runflow.")
    ]

    info = entry_point.load()()

    assert entry_point.dist is not None
    assert entry_point.dist.name == info["package-name"] == PACKAGE
    assert info["connection-types"][0]["hook-class-name"] == HOOK_CLASS


@pytest.fixture(scope="module")
def providers_manager() -> Any:
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_providers_manager_lists_the_provider(providers_manager: Any) -> None:
    from airflow_provider_runflow import __version__

    provider = providers_manager.providers[PACKAGE]

    assert provider.version == __version__


@pytest.fixture(scope="module")
def hooks_registry() -> Any:
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Manager
    except ImportError:  # Airflow without the task-SDK runtime manager: hooks still live on ProvidersManager
        from airflow.providers_manager import ProvidersManager as Manager  # type: ignore[assignment]
    return Manager().hooks


def test_airflow_registers_the_runflow_hook(hooks_registry: Any) -> None:
    hook = hooks_registry["runflow"]

    assert hook is not None
    assert (hook.hook_class_name, hook.connection_type, hook.hook_name) == (HOOK_CLASS, "runflow", "Runflow")
    assert hook.package_name == PACKAGE
    assert hook.connection_id_attribute_name == "runflow_conn_id"


def test_providers_manager_knows_the_connection_form(providers_manager: Any) -> None:
    behaviour = providers_manager.field_behaviours["runflow"]

    assert behaviour["relabeling"] == {"host": "API base URL", "password": "API key"}


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """JSON output of ``airflow providers list`` and ``airflow providers hooks``, run side by side in a fresh home."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-home")),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = Path(sys.executable).with_name("airflow")
    commands = {name: [str(airflow), "providers", name, "--output", "json"] for name in ("list", "hooks")}
    running = {
        name: subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in commands.items()
    }
    outputs = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs[name] = json.loads(stdout)
    return outputs


def test_cli_providers_list_shows_the_provider(cli_output: dict[str, Any]) -> None:
    from airflow_provider_runflow import __version__

    [provider] = [p for p in cli_output["list"] if p["package_name"] == PACKAGE]

    assert provider["version"] == __version__


def test_cli_providers_hooks_shows_the_runflow_hook(cli_output: dict[str, Any]) -> None:
    [hook] = [h for h in cli_output["hooks"] if h["connection_type"] == "runflow"]

    assert (hook["class"], hook["package_name"], hook["hook_name"]) == (HOOK_CLASS, PACKAGE, "Runflow")


def test_task_runflow_batch_is_the_providers_decorator() -> None:
    from airflow.sdk import task

    from airflow_provider_runflow.decorators.batch import runflow_batch_task

    assert task.runflow_batch is runflow_batch_task
