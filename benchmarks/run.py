"""Run the benchmarks and write ``benchmarks/results/latest.json`` and ``docs/benchmarks.md``.

python -m benchmarks.run            # full: P1 at N=100, 1,000, 5,000 (~20 min), P2, P3
python -m benchmarks.run --smoke    # CI size, under 90 s; figures not asserted
python -m benchmarks.run --sections p2,p3   # re-run some sections, keep the others' figures
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from benchmarks.scale import ALL_PEERS, ScaleSettings, run_scale

RESULTS = Path(__file__).resolve().parent / "results"

SMOKE_PEERS = ("runflow-trigger (aiohttp transport)", "limit: bare aiohttp")


def _scale_settings(smoke: bool) -> ScaleSettings:
    if smoke:
        return ScaleSettings(sizes=(50,), peers=SMOKE_PEERS, interval=1.0, warmup=1.0, window=3.0, items=10)
    return ScaleSettings(sizes=(100, 1000, 5000), peers=ALL_PEERS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI")
    parser.add_argument("--sections", default="p1,p2,p3")
    parser.add_argument("--output", type=Path, default=None, help="results JSON (default results/latest.json)")
    args = parser.parse_args(argv)
    output = args.output or RESULTS / ("smoke.json" if args.smoke else "latest.json")
    sections = set(args.sections.split(","))
    results: dict[str, Any] = json.loads(output.read_text()) if output.exists() else {}
    command = "python3 scripts/dev.py bench " + " ".join(sys.argv[1:] if argv is None else argv)
    results.setdefault("runs", {})
    for name in sorted(sections):
        results[name] = _run_section(name, args.smoke)
        results["runs"][name] = {"command": command.strip(), **machine()}
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=1))
    from benchmarks.report import write_report

    write_report(results, smoke=args.smoke)


def _run_section(name: str, smoke: bool) -> Any:
    if name == "p1":
        return run_scale(_scale_settings(smoke), log=lambda r: print(json.dumps(r), flush=True))
    if name == "p2":
        from benchmarks.economy import run_economy

        return run_economy(inputs=100 if smoke else 1000)
    if name == "p3":
        from benchmarks.collection import run_collection

        return run_collection(batches=(2, 5) if smoke else (10, 100))
    raise SystemExit(f"unknown section {name!r}")


if __name__ == "__main__":
    main()
