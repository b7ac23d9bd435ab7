"""The Python in the README, the docs and the example DAGs is valid Airflow 3 code.

Each ```python block parses; ruff's Airflow rules (``AIR``, with those in preview) pass on the
blocks, as ``ruff check`` runs them on the example DAGs; and Airflow is imported through its
public ``airflow.sdk`` interface or a provider only, never from Airflow 2's modules.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python\n(?P<code>.*?)^(?P=indent)```", re.DOTALL | re.MULTILINE)
PUBLIC = ("airflow.sdk", "airflow.providers.")


def snippets() -> dict[str, str]:
    """Every ```python block of the README and the docs (also inside content tabs), by ``file:line``."""
    found = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            found[f"{page.relative_to(ROOT)}:{line}"] = textwrap.dedent(match.group("code"))
    return found


SNIPPETS = snippets()
EXAMPLES = {str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / "example_dags").glob("*.py"))}


def test_every_snippet_parses() -> None:
    broken = []
    for where, code in SNIPPETS.items():
        try:
            ast.parse(code)
        except SyntaxError as err:
            broken.append(f"{where} (+{err.lineno}): {err.msg}")
    assert broken == []


def test_snippets_pass_ruffs_airflow_rules(tmp_path: Path) -> None:
    for where, code in SNIPPETS.items():  # each file named after its place: docs__operator.md__18.py
        (tmp_path / f"{re.sub(r'[/:]', '__', where)}.py").write_text(code)
    ruff = Path(sys.executable).parent / "ruff"
    command = [str(ruff), "check", "--isolated", "--preview", "--select", "AIR", "--output-format", "concise", "."]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_airflow_is_imported_from_the_task_sdk_or_a_provider() -> None:
    private = []
    for where, code in {**SNIPPETS, **EXAMPLES}.items():
        try:
            tree = ast.parse(code)
        except SyntaxError:  # named by test_every_snippet_parses
            continue
        modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        airflow = [module for module in modules if module == "airflow" or module.startswith("airflow.")]
        private += [f"{where}: {module}" for module in airflow if not module.startswith(PUBLIC)]
    assert private == []
