"""The import layers of pyproject.toml: the provider keeps them, and each contract fails when broken.

Each case copies the package, adds one forbidden import to the copy and runs ``lint-imports``
(as ``python3 scripts/dev.py lint`` does) against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_runflow"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contracts, on the package found in ``tree``."""
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
    return tmp_path


def test_the_provider_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("client/status.py", "import airflow", "The Runflow client imports no Airflow"),
        ("batching/policy.py", "import time", "Batch logic imports no Airflow and does no I/O"),
        ("batching/policy.py", "import httpx", "Batch logic imports no Airflow and does no I/O"),
        ("hooks/runflow.py", f"import {PACKAGE}.emulator", "Provider code never imports the emulator"),
        ("plugins/view.py", f"import {PACKAGE}.emulator", "Provider code never imports the emulator"),
        ("sensors/batch.py", f"import {PACKAGE}.operators.batch", "Layers: UI plugin, operators and sensor"),
        ("media/layout.py", f"import {PACKAGE}.operators.batch", "Layers: UI plugin, operators and sensor"),
        ("operators/batch.py", f"import {PACKAGE}.decorators.batch", "Layers: UI plugin, operators and sensor"),
        ("operators/batch.py", f"import {PACKAGE}.triggers.client_pool", "never use its internals"),
    ],
)
def test_a_forbidden_import_fails_the_lint(tree: Path, module: str, bad_import: str, contract: str) -> None:
    path = tree / PACKAGE / module
    path.write_text(path.read_text() + f"\n{bad_import}  # the import under test\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_ruff_refuses_an_import_of_tenacity_internals(tree: Path) -> None:
    path = tree / PACKAGE / "client" / "retry.py"
    path.write_text(path.read_text() + "\nfrom tenacity.wait import wait_fixed  # the import under test\n")
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    ruff = Path(sys.executable).parent / "ruff"
    command = [str(ruff), "check", "--no-cache", "--select", "TID251", str(path)]
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "`tenacity.wait` is banned" in result.stdout, result.stdout


@pytest.mark.parametrize(("room", "base"), [("operators", "BaseOperator"), ("sensors", "BaseSensorOperator")])
def test_each_public_module_of_operators_and_sensors_holds_only_operators(room: str, base: str) -> None:
    """What users import from ``operators/`` or ``sensors/`` is an operator; helpers live elsewhere or stay private."""
    import importlib
    import inspect

    from airflow.sdk import BaseOperator

    modules = [p.stem for p in (ROOT / PACKAGE / room).glob("*.py") if not p.stem.startswith("_")]
    assert modules
    for name in modules:
        module = importlib.import_module(f"{PACKAGE}.{room}.{name}")
        own = {
            key: value
            for key, value in vars(module).items()
            if not key.startswith("_") and getattr(value, "__module__", None) == module.__name__
        }
        assert own, f"{room}/{name}.py defines nothing public"
        for key, value in own.items():
            assert inspect.isclass(value), f"{room}/{name}.py: {key} is no operator"
            assert issubclass(value, BaseOperator), f"{room}/{name}.py: {key} is no operator"
        assert any(base in (c.__name__ for c in cls.__mro__) for cls in own.values())
