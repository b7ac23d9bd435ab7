"""The README's demo (``scripts/demo.py``) prints what it says: the first items by default, every item with --all."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

DEMO = Path(__file__).resolve().parent.parent / "scripts" / "demo.py"


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runflow_demo", DEMO)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
