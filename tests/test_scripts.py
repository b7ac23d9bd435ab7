"""The developer scripts do what the README says.

``scripts/demo.py`` prints the first items by default and every item with ``--all``; ``scripts/dev.py``
gives the demo a light environment and installs the browser only for the full-stack tests.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"runflow_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    return script("demo")


@pytest.fixture(scope="module")
def dev() -> ModuleType:
    return script("dev")


def entries(count: int) -> list[dict[str, Any]]:
    return [
        {"index": i, "client_ref": f"ref-{i}", "status": "succeeded", "output": {"image_url": f"https://x/{i}.png"}}
        for i in range(count)
    ]


def test_the_demo_prints_the_first_items_and_says_how_many_more(demo: ModuleType) -> None:
    lines = demo.result_lines(entries(12), show_all=False)

    assert [line.split()[0] for line in lines[1:-1]] == [str(i) for i in range(8)]
    assert lines[-1].split() == ["...", "(4", "more:", "--all", "prints", "every", "item)"]


def test_the_demo_prints_every_item_with_all(demo: ModuleType) -> None:
    lines = demo.result_lines(entries(12), show_all=True)

    assert [line.split()[0] for line in lines[1:]] == [str(i) for i in range(12)]
    assert lines[-1].split() == ["11", "ref-11", "succeeded", "https://x/11.png"]


def test_a_failed_item_shows_its_error(demo: ModuleType) -> None:
    failed = {"index": 0, "client_ref": None, "status": "failed", "output": None, "error": {"code": "NSFW"}}

    assert demo.result_lines([failed], show_all=False)[1].split() == ["0", "failed", '{"code":', '"NSFW"}']


@pytest.mark.parametrize(
    ("pytest_args", "browser"),
    [
        ([], False),
        (["tests/operators", "-x"], False),
        (["-m", "fullstack"], True),
        (["tests/fullstack/test_browser.py"], True),
        (["-m", "not fullstack and not packaging"], False),
        (["-m", "packaging"], False),
    ],
)
def test_only_a_run_selecting_the_full_stack_installs_the_browser(
    dev: ModuleType, pytest_args: list[str], browser: bool
) -> None:
    assert dev.wants_browser(pytest_args) is browser


@pytest.mark.parametrize(
    ("airflow", "python", "kind", "name"),
    [
        ("3.3.2", None, "test", ".venv"),
        ("3.3.2", None, "demo", ".venv-demo"),
        ("3.2.2", "3.11", "test", ".venv-airflow-3.2.2-py3.11"),
        ("3.2.2", None, "demo", ".venv-demo-airflow-3.2.2"),
    ],
)
def test_each_environment_has_its_own_directory(
    dev: ModuleType, airflow: str, python: str | None, kind: str, name: str
) -> None:
    assert dev._venv_dir(airflow, python, kind) == ROOT / name


def test_the_demo_environment_holds_no_test_or_browser_tools(dev: ModuleType) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    demo = " ".join(extras[dev.EXTRAS["demo"]])

    assert "uvicorn" in demo
    assert not any(tool in demo for tool in ("pytest", "playwright", "mypy", "[test]"))
    assert not any("playwright" in requirement for requirement in extras["test"])
