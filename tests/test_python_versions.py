"""The package metadata promises only the Pythons on which the provider really installs."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CURRENT_AIRFLOW = "3.3.2"


def classifier_pythons() -> list[str]:
    found = (re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c) for c in PROJECT["project"]["classifiers"])
    return sorted((m.group(1) for m in found if m), key=lambda v: int(v.split(".")[1]))


def lowest_supported() -> str:
    match = re.fullmatch(r">=(3\.\d+)", PROJECT["project"]["requires-python"])
    assert match, "requires-python must be a plain lower bound"
    return match.group(1)


def test_requires_python_matches_the_lowest_classifier_and_the_tools() -> None:
    mypy = configparser.ConfigParser()
    mypy.read(ROOT / "setup.cfg")

    assert classifier_pythons()[0] == lowest_supported()
    assert mypy["mypy"]["python_version"] == lowest_supported()
    assert PROJECT["tool"]["ruff"]["target-version"] == "py" + lowest_supported().replace(".", "")


def resolve(python: str) -> subprocess.CompletedProcess[str]:
    """Resolve the provider with the current Airflow for ``python`` (asks the package index, installs nothing)."""
    command = [sys.executable, "-m", "uv", "pip", "compile", "-q", "--no-header", "--python-version", python,
               str(ROOT / "pyproject.toml"), "--override", "/dev/stdin"]  # fmt: skip
    return subprocess.run(command, input=f"apache-airflow=={CURRENT_AIRFLOW}\n", capture_output=True, text=True)


@pytest.mark.packaging
@pytest.mark.parametrize("python", classifier_pythons())
def test_the_provider_resolves_with_current_airflow_on_every_listed_python(python: str) -> None:
    result = resolve(python)

    assert result.returncode == 0, result.stderr
    assert f"apache-airflow=={CURRENT_AIRFLOW}" in result.stdout


@pytest.mark.packaging
def test_the_python_below_the_floor_cannot_install_it() -> None:
    major, minor = lowest_supported().split(".")

    result = resolve(f"{major}.{int(minor) - 1}")

    assert result.returncode != 0
