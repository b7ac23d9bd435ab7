#!/usr/bin/env python3
"""Developer entry point: sets up its own virtualenv, then runs the demo, tests, linters or benchmarks.

Needs only python3 on a fresh machine:

    python3 scripts/dev.py demo [--all] [--real]     # the main job, end to end, in its own light .venv-demo
    python3 scripts/dev.py stack [--port 8080]       # Airflow's UI and components against the emulator, until Ctrl+C
    python3 scripts/dev.py test [pytest args]        # the test suite
    python3 scripts/dev.py test -m fullstack         # the full Airflow stack and the UI (adds the browser extra)
    python3 scripts/dev.py test --airflow oldest     # the suite on the oldest supported Airflow (3.2.2)
    python3 scripts/dev.py test --python 3.13        # ... on another Python (a version found via pyenv or PATH)
    python3 scripts/dev.py lint                      # ruff, mypy and the import layers
    python3 scripts/dev.py bench [--smoke]           # benchmarks: benchmarks/results/latest.json, docs/benchmarks.md
    python3 scripts/dev.py docs                      # the documentation site, strict, into docs/_build/
"""

from __future__ import annotations

import argparse
import glob
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
# The extras each kind of environment installs: the demo needs the emulator, not the test toolchain.
EXTRAS = {"test": "test", "demo": "emulator"}


def _venv_dir(airflow: str, python_version: str | None, kind: str = "test") -> Path:
    """``.venv`` (tests) or ``.venv-demo`` for the defaults; other Airflow and Python versions add to the name."""
    name = ".venv" if kind == "test" else f".venv-{kind}"
    name = name if airflow == DEFAULT_AIRFLOW else f"{name}-airflow-{airflow}"
    return ROOT / (f"{name}-py{python_version}" if python_version else name)


def find_python(version: str) -> str:
    """An interpreter for ``version`` (e.g. ``3.13``): pyenv's build of it, else ``python3.13`` on PATH.

    pyenv's bare ``python3.13`` shim fails without PYENV_VERSION, so its versions directory is read directly.
    """
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() or root
    builds = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python"), key=lambda p: [int(n) for n in
                    Path(p).parent.parent.name.split(".") if n.isdigit()])  # fmt: skip
    candidates = [*reversed(builds), shutil.which(f"python{version}") or ""]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    sys.exit(f"No Python {version} found (looked in {root}/versions and on PATH)")


def ensure_env(airflow: str, python_version: str | None = None, kind: str = "test") -> Path:
    """Create (or reuse) the ``kind`` virtualenv for ``airflow`` (on ``python_version``, else this Python)."""
    env = _venv_dir(airflow, python_version, kind)
    python = env / "bin" / "python"
    stamp = env / ".installed"
    recipe = f"{airflow} {CONSTRAINTS_AS_OF.get(airflow)} {EXTRAS[kind]}".encode()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + recipe).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return env
    if not python.exists():
        print(f"Creating {env.name} ...", flush=True)
        if python_version:
            run([find_python(python_version), "-m", "venv", str(env)])
        else:
            venv.EnvBuilder(with_pip=True).create(env)
    if subprocess.call([str(python), "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        run([str(python), "-m", "ensurepip"])  # a venv made by another tool may have no pip
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "uv"])
    print(f"Installing apache-airflow=={airflow} and the provider ...", flush=True)
    constraints = _constraints(python, env, airflow)
    run(
        [str(python), "-m", "uv", "pip", "install", "-q", "--python", str(python),
         "-e", f"{ROOT}[{EXTRAS[kind]}]", f"apache-airflow=={airflow}", *constraints]
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
    """Add an optional-dependency ``extra`` (``bench``, ``docs``, ``browser``) to ``env``, once per pyproject.toml."""
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


def airflow_env(env_dir: Path) -> dict[str, str]:
    """Environment for Airflow commands: a private AIRFLOW_HOME per virtualenv, no example DAGs."""
    home = ROOT / ".airflow-home" / env_dir.name
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(env_dir),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def wants_browser(pytest_args: list[str]) -> bool:
    """Whether the pytest arguments select the full-stack tests, whose browser tests need the ``browser`` extra.

    Installed only then: Playwright is 161 MB of the 541 MB test environment and serves two tests.
    """
    return any("fullstack" in arg and "not fullstack" not in arg for arg in pytest_args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["demo", "stack", "test", "lint", "setup", "bench", "docs"])
    parser.add_argument("--airflow", default=DEFAULT_AIRFLOW, help="apache-airflow version, or 'oldest' supported")
    parser.add_argument("--python", help="Python version to run on, e.g. 3.13 (default: the python3 running this)")
    args, rest = parser.parse_known_args()
    if args.airflow == "oldest":
        args.airflow = OLDEST_AIRFLOW
    env_dir = ensure_env(args.airflow, args.python, "demo" if args.command in ("demo", "stack") else "test")
    bin_dir = env_dir / "bin"
    env = airflow_env(env_dir)
    if args.command == "lint":
        run([str(bin_dir / "ruff"), "check", "."], env)
        run([str(bin_dir / "ruff"), "format", "--check", "."], env)
        run([str(bin_dir / "mypy")], env)
        run([str(bin_dir / "lint-imports"), "--no-cache"], env)  # the layers: pyproject.toml [tool.importlinter]
    elif args.command == "test":
        if wants_browser(rest):
            ensure_extra(env_dir, "browser")
        run([str(bin_dir / "python"), "-m", "pytest", *rest], env)
    elif args.command == "bench":
        ensure_extra(env_dir, "bench")
        run([str(bin_dir / "python"), "-m", "benchmarks.run", *rest], env)
    elif args.command == "docs":
        ensure_extra(env_dir, "docs")
        build_docs(env_dir, env)
    elif args.command == "demo":
        run([str(bin_dir / "python"), str(ROOT / "scripts" / "demo.py"), *rest], env)
    elif args.command == "stack":
        # Replaced, not waited on: a waiting parent's Ctrl+C would kill the script while it stops the stack.
        os.chdir(ROOT)
        os.execve(bin_dir / "python", [str(bin_dir / "python"), str(ROOT / "scripts" / "stack.py"), *rest], env)


if __name__ == "__main__":
    main()
