#!/usr/bin/env python3
"""Developer entry point: sets up its own virtualenv, then runs the demo, tests, linters or benchmarks.

Needs only python3 on a fresh machine:

    python3 scripts/dev.py demo                      # the main job, end to end
    python3 scripts/dev.py test [pytest args]        # the test suite
    python3 scripts/dev.py test --airflow oldest     # the suite on the oldest supported Airflow (3.2.2)
    python3 scripts/dev.py lint                      # ruff, mypy and the import layers
    python3 scripts/dev.py bench [--smoke]           # benchmarks: benchmarks/results/latest.json, docs/benchmarks.md
    python3 scripts/dev.py docs                      # the documentation site, strict, into docs/_build/
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AIRFLOW = "3.3.2"
OLDEST_AIRFLOW = "3.2.2"
# Airflow publishes a constraints file per release; none can be downloaded here, so for an
# older Airflow we compile the equivalent: its dependencies as released up to this date.
CONSTRAINTS_AS_OF = {"3.2.2": "2026-06-12"}
NEWER_THAN_CONSTRAINTS = ("apache-airflow-providers-common-compat",)  # we need a later release


def _venv_dir(airflow: str) -> Path:
    return ROOT / (".venv" if airflow == DEFAULT_AIRFLOW else f".venv-airflow-{airflow}")


def ensure_env(airflow: str) -> Path:
    """Create (or reuse) the virtualenv for ``airflow`` with the provider installed in editable mode."""
    env = _venv_dir(airflow)
    python = env / "bin" / "python"
    stamp = env / ".installed"
    recipe = f"{airflow} {CONSTRAINTS_AS_OF.get(airflow)}".encode()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + recipe).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return env
    if not python.exists():
        print(f"Creating {env.name} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(env)
    if subprocess.call([str(python), "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        run([str(python), "-m", "ensurepip"])  # a venv made by another tool may have no pip
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "uv"])
    print(f"Installing apache-airflow=={airflow} and the provider ...", flush=True)
    constraints = _constraints(python, env, airflow)
    run(
        [str(python), "-m", "uv", "pip", "install", "-q", "--python", str(python),
         "-e", f"{ROOT}[test]", f"apache-airflow=={airflow}", *constraints]
    )  # fmt: skip
    stamp.write_text(wanted)
    return env


def _constraints(python: Path, env: Path, airflow: str) -> list[str]:
    """``-c FILE`` with Airflow's dependencies as of its release, for Airflows listed in CONSTRAINTS_AS_OF."""
    if airflow not in CONSTRAINTS_AS_OF:
        return []
    compiled = subprocess.run(
        [str(python), "-m", "uv", "pip", "compile", "-q", "--no-header", "--no-annotate", "-p", str(python),
         "--exclude-newer", CONSTRAINTS_AS_OF[airflow], "-"],
        input=f"apache-airflow=={airflow}\n", capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = [line for line in compiled.splitlines() if not line.startswith(NEWER_THAN_CONSTRAINTS)]
    path = env / "constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return ["-c", str(path)]


def ensure_extra(env: Path, extra: str) -> None:
    """Add an optional-dependency ``extra`` of pyproject.toml (``bench``, ``docs``) to ``env``, once per its content."""
    stamp = env / f".{extra}-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    python = str(env / "bin" / "python")
    run([python, "-m", "uv", "pip", "install", "-q", "--python", python, "-e", f"{ROOT}[test,{extra}]"])
    stamp.write_text(wanted)


def build_docs(env_dir: Path, env: dict[str, str]) -> None:
    """Build the site with every warning an error, into docs/_build/.

    MkDocs refuses to build inside its docs_dir, so it builds into build/docs-site and the result is moved.
    """
    built, target = ROOT / "build" / "docs-site", ROOT / "docs" / "_build"
    run([str(env_dir / "bin" / "mkdocs"), "build", "--strict", "--clean", "--site-dir", str(built)],
        {**env, "NO_MKDOCS_2_WARNING": "1"})  # fmt: skip
    shutil.rmtree(target, ignore_errors=True)
    built.rename(target)
    print(f"Documentation built: {target / 'index.html'}")


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code:
        sys.exit(code)


def airflow_env(env_dir: Path, airflow: str) -> dict[str, str]:
    """Environment for Airflow commands: a private AIRFLOW_HOME per Airflow version, no example DAGs."""
    home = ROOT / ".airflow-home" / airflow
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(env_dir),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["demo", "test", "lint", "setup", "bench", "docs"])
    parser.add_argument("--airflow", default=DEFAULT_AIRFLOW, help="apache-airflow version, or 'oldest' supported")
    args, rest = parser.parse_known_args()
    if args.airflow == "oldest":
        args.airflow = OLDEST_AIRFLOW
    env_dir = ensure_env(args.airflow)
    bin_dir = env_dir / "bin"
    env = airflow_env(env_dir, args.airflow)
    if args.command == "lint":
        run([str(bin_dir / "ruff"), "check", "."], env)
        run([str(bin_dir / "ruff"), "format", "--check", "."], env)
        run([str(bin_dir / "mypy")], env)
        run([str(bin_dir / "lint-imports"), "--no-cache"], env)  # the layers: pyproject.toml [tool.importlinter]
    elif args.command == "test":
        run([str(bin_dir / "python"), "-m", "pytest", *rest], env)
    elif args.command == "bench":
        ensure_extra(env_dir, "bench")
        run([str(bin_dir / "python"), "-m", "benchmarks.run", *rest], env)
    elif args.command == "docs":
        ensure_extra(env_dir, "docs")
        build_docs(env_dir, env)
    elif args.command == "demo":
        run([str(bin_dir / "python"), str(ROOT / "scripts" / "demo.py"), *rest], env)


if __name__ == "__main__":
    main()
