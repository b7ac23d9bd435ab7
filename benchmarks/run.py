"""Run the benchmarks and write ``benchmarks/results/latest.json`` and ``docs/benchmarks.md``.

python -m benchmarks.run            # full: trigger scale at N=100, 1,000, 5,000 (~20 min), the others
python -m benchmarks.run --smoke    # CI size (about 4 min on 2 shared CPUs); figures not asserted
python -m benchmarks.run --sections economy,collection   # re-run some sections, keep the others' figures
python -m benchmarks.run --sections media   # media: 1,000 images, 20 x 50 MiB videos, 3 peers, 2 links (~15 min)
python -m benchmarks.run --sections pacing  # adaptive vs fixed polling on modelled batches of 10 s to 2 h (~5 s)
python -m benchmarks.run --sections storm   # 1,000 triggers vs a 50 requests/s limit: 3 designs, 2 peers (~7 min)
python -m benchmarks.run --sections budget  # 1,000 inputs with and without max_cost, time to first batch and total
python -m benchmarks.run --sections capacity  # 10,000 deferred tasks, 2-minute batches, vs the limit (~30 min)
python -m benchmarks.run --sections census  # tracked objects per waiting trigger, by kind, vs the bare loop (~1 min)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import SECTIONS, machine
from benchmarks.pacing import DURATIONS
from benchmarks.scale import ALL_PEERS, ScaleSettings, run_scale

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

SMOKE_PEERS = ("runflow-trigger (aiohttp transport)", "limit: bare aiohttp")


def _scale_settings(smoke: bool) -> ScaleSettings:
    if smoke:
        return ScaleSettings(sizes=(50,), peers=SMOKE_PEERS, interval=1.0, warmup=1.0, window=3.0, items=10)
    return ScaleSettings(sizes=(100, 1000, 5000), peers=ALL_PEERS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"some of {', '.join(SECTIONS)}")
    parser.add_argument("--sizes", default="", help="trigger scale N to (re)run, e.g. 5000; other N's rows are kept")
    parser.add_argument("--output", type=Path, default=None, help="results JSON (default results/latest.json)")
    parser.add_argument("--peers", default="", help="trigger scale: only these pollers, comma-separated names")
    args = parser.parse_args(argv)
    output = args.output or (RESULTS / "smoke" / "smoke.json" if args.smoke else RESULTS / "latest.json")
    sections = [name for name in SECTIONS if name in args.sections.split(",")]
    if unknown := set(filter(None, args.sections.split(","))) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}: choose from {', '.join(SECTIONS)}")
    results: dict[str, Any] = json.loads(output.read_text()) if output.exists() else {}
    command = "python3 scripts/dev.py bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    results.setdefault("runs", {})
    for name in sections:
        results[name] = _run_section(name, args.smoke, args.sizes, results.get(name), args.peers)
        results["runs"][name] = {"command": command.strip(), **machine()}
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=1))
    from benchmarks.report import write_report

    if args.smoke:
        print(write_report(results, output.parent))
    else:
        print(write_report(*report_inputs()))


def report_inputs() -> tuple[dict[str, Any], Path, str, list[dict[str, Any]]]:
    """What docs/benchmarks.md is written from: ``latest.json``, the notes, and the other results files beside it.

    A run with ``--output`` elsewhere (say, the hot path on another Python) joins the report
    without replacing the latest figures.
    """
    latest = RESULTS / "latest.json"
    more = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json")) if path != latest]
    return json.loads(latest.read_text()), ROOT / "docs", (ROOT / "benchmarks" / "NOTES.md").read_text(), more


def _run_section(name: str, smoke: bool, sizes: str, previous: Any, peers: str = "") -> Any:
    if name == "scale":
        settings = _scale_settings(smoke)
        if sizes:
            settings = replace(settings, sizes=tuple(int(n) for n in sizes.split(",")))
        if peers:
            settings = replace(settings, peers=tuple(peers.split(",")))
        rows = run_scale(settings, log=lambda r: print(json.dumps(r), flush=True))
        kept = [row for row in previous or [] if row["n"] not in settings.sizes]
        return sorted(kept + rows, key=lambda row: row["n"])
    if name == "economy":
        from benchmarks.economy import run_economy

        return run_economy(inputs=100 if smoke else 1000)
    if name == "collection":
        from benchmarks.collection import run_collection

        return run_collection(batches=(2, 5) if smoke else (10, 100))
    if name == "media":
        from benchmarks.media import SMOKE, MediaSettings, run_media

        return run_media(SMOKE if smoke else MediaSettings())
    if name == "outputs_page":
        from benchmarks.outputs_page import run_outputs_page

        return run_outputs_page(items=1000 if smoke else 10_000, repeats=5 if smoke else 20)
    if name == "storm":
        from benchmarks.storm import run_storm

        return run_storm(n=100, interval=1.0, run_seconds=5.0) if smoke else run_storm()
    if name == "pacing":
        from benchmarks.pacing import run_pacing

        return run_pacing(durations=(10.0, 120.0) if smoke else DURATIONS)
    if name == "budget":
        from benchmarks.budget import run_budget

        return run_budget(inputs=200, rounds=1, run_seconds=0.5) if smoke else run_budget()
    if name == "capacity":
        from benchmarks.capacity import SMOKE, CapacitySettings, run_capacity

        return run_capacity(SMOKE if smoke else CapacitySettings(), log=lambda r: print(json.dumps(r), flush=True))
    if name == "census":
        from benchmarks.census import PEERS_COUNTED, run_census

        return run_census(n=50, peers=PEERS_COUNTED[:1], interval=0.5) if smoke else run_census(n=1000)
    raise SystemExit(f"unknown section {name!r}")


if __name__ == "__main__":
    main()
