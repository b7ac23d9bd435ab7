"""docs/benchmarks.md and its plots from a results dict (``benchmarks/results/latest.json``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import SECTIONS
from benchmarks.plots import capacity_plot, collection_plot, media_plot, pacing_plot, scale_plot, storm_plot

ROOT = Path(__file__).resolve().parent.parent
OURS = "runflow-trigger (aiohttp transport)"
HTTPX_ON_AIOHTTP = "bare shared httpx + httpx-aiohttp"
HOT_PATH_SIZES = (1000, 3000)
"""N at which the poll hot path has its own goals: against the httpx-on-aiohttp loop, the API we build on."""
LIMIT = "limit: bare aiohttp"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ratio(a: Any, b: Any) -> str:
    return f"{a / b:.2f}x" if a and b else "—"


def _scale_tables(scale: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for n in sorted({row["n"] for row in scale}):
        rows = [row for row in scale if row["n"] == n]
        by_peer = {row["peer"]: row for row in rows}
        ours, limit = by_peer.get(OURS, {}), by_peer.get(LIMIT, {})
        pythons = sorted({row["python"] for row in rows if "python" in row})
        lines += [
            f"\n### N = {n:,}{' (Python ' + ', '.join(pythons) + ')' if pythons else ''}\n",
            "| poller | polls / intended | lag p50 / p99 / max (ms) | full GCs (longest ms) | CPU ms/poll | x limit | "
            "ours ÷ it | RSS KiB/trigger | errors | emulator CPU | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            if "failed" in row:
                lines.append(f"| {row['peer']} | failed: {row['failed'][:80]} | | | | | | | | | |")
                continue
            cpu = row["cpu_ms_per_poll"]
            lines.append(
                f"| {'**' + row['peer'] + '**' if row['peer'] == OURS else row['peer']} "
                f"| {row['polls_pct']:.1f}% ({row['polls']:,} / {row['intended']:,.0f}) "
                f"| {row['lag_p50_ms']:.1f} / {row['lag_p99_ms']:.1f} / {row['lag_max_ms']:.0f} "
                f"| {_full_gcs(row)} | {_fmt(cpu)} | {_ratio(cpu, limit.get('cpu_ms_per_poll'))} "
                f"| {_ratio(ours.get('cpu_ms_per_poll'), cpu)} | {_fmt(row['rss_kib_per_trigger'], 1)} "
                f"| {row['errors']} | {row['emulator_cpu_pct']:.0f}% | {_fmt(row.get('load_avg_1m'))} |"
            )
    return lines


def _hot_path_goals(scale: list[dict[str, Any]], more: Sequence[dict[str, Any]]) -> list[str]:
    """Our trigger against a bare shared httpx client on httpx-aiohttp, per Python and each of ``HOT_PATH_SIZES``.

    ``more``: other results files, whose rows join ``scale``'s, each named with how it was measured.
    """
    rows = [*scale, *(row for other in more for row in other.get("scale", []))]
    measured = {
        (r.get("python", "?"), r["n"], r["peer"]): r for r in rows if r["n"] in HOT_PATH_SIZES and "failed" not in r
    }
    lines = [
        "\n### Poll hot path goals\n",
        "| Python | N | CPU per poll ÷ httpx on aiohttp (≤ 1.1x) | polls achieved (≥ 99%) | p99 loop lag (< 25 ms) |",
        "|---|---|---|---|---|",
    ]
    for python, n in sorted({(python, n) for python, n, _ in measured}):
        ours, peer = measured.get((python, n, OURS)), measured.get((python, n, HTTPX_ON_AIOHTTP))
        if not ours or not peer:
            continue
        ratio = ours["cpu_ms_per_poll"] / peer["cpu_ms_per_poll"]
        checks = ((f"{ratio:.2f}x", ratio <= 1.1), (f"{ours['polls_pct']:.1f}%", ours["polls_pct"] >= 99))
        cells = [value + ("" if ok else " ✗") for value, ok in checks]
        lag = ours["lag_p99_ms"]
        cells.append(f"{lag:.0f} ms{'' if lag < 25 else ' ✗'} (httpx on aiohttp: {peer['lag_p99_ms']:.0f} ms)")
        lines.append(f"| {python} | {n:,} | {' | '.join(cells)} |")
    runs = [other["runs"]["scale"] for other in more if "scale" in other.get("runs", {})]
    lines += [f"\nRows from another run ({r['date']}, Python {r['python']}: `{r['command']}`)." for r in runs]
    return lines if len(lines) > 3 else []


def _full_gcs(row: dict[str, Any]) -> str:
    """Full collections in the window and the longest pause; rows measured before they were recorded show —."""
    return "—" if "full_gcs" not in row else f"{row['full_gcs']} ({row['full_gc_ms_max']:.0f})"


def _goals(scale: list[dict[str, Any]]) -> list[str]:
    n = max((row["n"] for row in scale), default=0)
    by_peer = {row["peer"]: row for row in scale if row["n"] == n and "failed" not in row}
    ours, limit = by_peer.get(OURS), by_peer.get(LIMIT)
    if not ours or not limit:
        return []
    ratio = ours["cpu_ms_per_poll"] / limit["cpu_ms_per_poll"]
    checks = [
        ("polls achieved", f"{ours['polls_pct']:.1f}%", "≥ 98%", ours["polls_pct"] >= 98),
        ("p99 loop lag", f"{ours['lag_p99_ms']:.1f} ms", "< 50 ms", ours["lag_p99_ms"] < 50),
        ("RSS per trigger", f"{ours['rss_kib_per_trigger']:.1f} KiB", "≤ 20 KiB", ours["rss_kib_per_trigger"] <= 20),
        ("CPU per poll vs limit", f"{ratio:.2f}x ({ours['cpu_ms_per_poll']:.2f} ms)", "≤ 1.5x", ratio <= 1.5),
    ]
    lines = [f"\n### Goals at N = {n:,}\n", "| goal | ours | target | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value} | {target} | {'yes' if ok else '**no**'} |" for name, value, target, ok in checks]
    return lines


def _economy(economy: dict[str, Any]) -> list[str]:
    lines = [
        f"\n{economy['inputs']:,} inputs → {economy['batches']} batches, blocking mode, poll interval "
        f"{economy['poll_interval_s']} s; {economy['results']:,} results returned.\n",
        "| route | requests | minimum | excess |",
        "|---|---|---|---|",
    ]
    for route, count in sorted(economy["requests"].items()):
        minimum = economy["minimum"].get(route, 0)
        lines.append(f"| `{route}` | {count:,} | {minimum:,} | {count - minimum:+,} |")
    lines.append(f"\nPolls: {economy['poll_rounds']} per batch (one per poll round until it finished).")
    return lines + _retry_economy(economy["retries"]) if economy.get("retries") else lines


def _retry_economy(retries: dict[str, Any]) -> list[str]:
    lines = [
        f"\nWith `retry_failed_items=2`: {retries['failing']} of {retries['inputs']:,} inputs fail transiently "
        f"(a third of them twice); {retries['succeeded']:,} of {retries['results']:,} results succeeded, "
        f"{retries['posts']} POSTs in all.\n",
        "| round | items | batches (POSTs) | status polls | items reads | succeeded | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['round']} | {r['items']:,} | {r['batches']} | {r['polls']} | {r['item_reads']} | {r['succeeded']:,} "
        f"| {r['failed']} |"
        for r in retries["rounds"]
    ]
    lines.append(
        "\nItems reads: one per batch that reported failures, to name the items to re-run, then one per "
        "batch when the results are collected."
    )
    return lines


def _collection(collection: list[dict[str, Any]]) -> list[str]:
    lines = ["| case | items | seconds | x bare loop | tracemalloc peak (MiB) |", "|---|---|---|---|---|"]
    bare = {row["items"]: row for row in collection if row["case"].startswith("bare")}
    for row in collection:
        ratio = _ratio(row["seconds"], bare.get(row["items"], {}).get("seconds"))
        lines.append(f"| {row['case']} | {row['items']:,} | {row['seconds']:.3f} | {ratio} | {row['peak_mib']:.2f} |")
    return lines


MEDIA_NAMES = {
    "ours": "**ours** (MediaCopier)",
    "same work": "same work: aiohttp + SHA-256 + fsspec",
    "requests": "`@task`: requests + write_bytes",
    "requests, threads": "`@task`: requests + write_bytes, threads",
}


def _speed(peer_seconds: float | None, our_seconds: float) -> str:
    """Our speed over its: its seconds over ours (above 1: we are faster)."""
    return f"{peer_seconds / our_seconds:.2f}x" if peer_seconds and our_seconds else "—"


def _media(media: dict[str, Any]) -> list[str]:
    """Every copier per (link, workload), ours first, then the link's limit; ratios from the same run."""
    settings = media["settings"]
    lines = [
        f"\nEvery case in a fresh process, {settings['rounds']} rounds in alternating order; seconds are the median "
        "round's. *Speed, ours ÷ it*: its seconds over ours (above 1: ours is faster). The link's limit is the least "
        "time any copier needs over it at the same concurrency: files x latency ÷ concurrency or bytes ÷ bandwidth, "
        "whichever is longer.\n",
        "| link | written to | workload | copier | at once | seconds | every round (s) | MiB/s | speed, ours ÷ it "
        "| peak RSS growth (MiB) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (link, storage, workload), rows in _groups(media["rows"]).items():
        ours = next(row for row in rows if row["case"] == "ours")
        for row in rows:
            rounds = ", ".join(f"{seconds:.2f}" for seconds in row["rounds_seconds"])
            at_once = 1 if row["case"] == "requests" else row["concurrency"]
            lines.append(
                f"| {link} | {storage} | {workload} | {MEDIA_NAMES[row['case']]} | {at_once} | {row['seconds']:.2f} "
                f"| {rounds} "
                f"| {row['mib_per_s']:.1f} | {_speed(row['seconds'], ours['seconds'])} | {row['rss_growth_mib']:.1f} "
                f"| {_fmt(row['load_avg_1m'])} |"
            )
        if ours["limit_s"]:
            lines.append(
                f"| {link} | | {workload} | the link's limit | {ours['concurrency']} | {ours['limit_s']:.2f} | | "
                f"{ours['bytes'] / 1024**2 / ours['limit_s']:.1f} | {_speed(ours['limit_s'], ours['seconds'])} | | |"
            )
    return lines + _media_sweep(media) + _media_goals(media)


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["link"], row["storage"], row["workload"]), []).append(row)
    return groups


def _media_sweep(media: dict[str, Any]) -> list[str]:
    if not media["sweep"]:
        return []
    main = [row for row in media["rows"] if row["case"] == "ours" and row["limit_s"]]
    rows = sorted(main + media["sweep"], key=lambda row: (row["workload"], row["concurrency"]))
    lines = [
        f"\n### Downloads at once, over the modelled link ({rows[0]['link']})\n",
        "| workload | at once | seconds | every round (s) | link's limit (s) | speed, ours ÷ limit "
        "| peak RSS growth (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rounds = ", ".join(f"{seconds:.2f}" for seconds in row["rounds_seconds"])
        lines.append(
            f"| {row['workload']} | {row['concurrency']} | {row['seconds']:.2f} | {rounds} | {row['limit_s']:.2f} "
            f"| {_speed(row['limit_s'], row['seconds'])} | {row['rss_growth_mib']:.1f} |"
        )
    return lines


def _media_goals(media: dict[str, Any]) -> list[str]:
    lines = ["\n### Media goals\n", "| goal | workload | measured | target | met |", "|---|---|---|---|---|"]
    for (link, storage, workload), rows in _groups(media["rows"]).items():
        by_case = {row["case"]: row for row in rows}
        ours, same = by_case["ours"], by_case.get("same work")
        target = 1.0 if "video" in workload else 0.9
        if same and link == "loopback":
            ratio = same["seconds"] / ours["seconds"]
            met = "yes" if ratio >= target else "**no**"
            lines.append(f"| same work, {link}, {storage} | {workload} | {ratio:.2f}x | ≥ {target:.1f}x | {met} |")
        if ours["limit_s"]:
            ratio = ours["limit_s"] / ours["seconds"]
            met = "yes" if ratio >= 0.9 else "**no**"
            lines.append(f"| the link's limit, {link} | {workload} | {ratio:.2f}x | ≥ 0.9x | {met} |")
    return lines


def _outputs_page(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| results kept as | request | items | median ms | p95 ms | page KiB | load avg |"]
    lines.append("|---|---|---|---|---|---|---|")
    for row in rows:
        figures = (
            f"{row['median_ms']:.1f} | {row['p95_ms']:.1f} | {_fmt(row.get('kib'), 1)} | {_fmt(row['load_avg_1m'])}"
        )
        lines.append(f"| {row['source']} | {row['case']} | {row['items']:,} | {figures} |")
    return lines


def _pacing(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "\nThe real `BatchTracker` on a simulated clock against modelled batches of 100 items (20 seeds each; "
        "polls take 0.1 s; the first leaves 0.5 s after submission). *Delay*: completion → final event. "
        "✗ marks a figure past the goal (≤ 20 polls; delay ≤ max(2 s, 5% of the duration)).\n",
        "| progress | duration | poll interval | polls per batch (median / max) | delay, worst (s) | delay goal (s) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        interval = row["interval"] if isinstance(row["interval"], str) else f"{row['interval']:g} s"
        polls = f"{row['polls_median']} / {row['polls_max']}{'' if row['polls_max'] <= 20 else ' ✗'}"
        late = "" if row["delay_max_s"] <= row["goal_delay_s"] else " ✗"
        lines.append(
            f"| {row['model']} | {row['duration_s']:,.0f} s | {interval} | {polls} | "
            f"{row['delay_max_s']:,.1f}{late} | {row['goal_delay_s']:,.0f} |"
        )
    return lines


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_round(capacity: dict[str, Any]) -> int:
    """The round whose figures the plots show: the one where our share of intended polls is the median."""
    ours = sorted((row["polls_pct"], row["round"]) for row in capacity["rows"] if row["peer"] == OURS)
    return ours[(len(ours) - 1) // 2][1] if ours else 1


def _capacity_row(row: dict[str, Any], limit: dict[str, Any]) -> str:
    cpu = row["cpu_ms_per_poll"]
    name = "**ours**" if row["peer"] == OURS else "limit: bare aiohttp"
    return (
        f"| {row['round']} | {name} | {row['held_mean']:,} | {row['polls_pct']:.1f}% ({row['polls']:,} / "
        f"{row['intended']:,}) | {row['lag_p50_ms']:.1f} / {row['lag_p99_ms']:.1f} / {row['lag_max_ms']:.0f} "
        f"| {_full_gcs(row)} | {row['cpu_pct']:.0f}% | {_fmt(cpu, 3)} | {_ratio(cpu, limit.get('cpu_ms_per_poll'))} "
        f"| {row['rss_kib_per_trigger']:.1f} | {row['finished']:,} | {row['delay_p50_s']:.2f} / "
        f"{row['delay_p99_s']:.2f} ({row['ideal_delay_s']:.2f}) | {row['errors']} | {row['emulator_cpu_pct']:.0f}% "
        f"| {_fmt(row.get('load_avg_1m'))} |"
    )


def _capacity(capacity: dict[str, Any]) -> list[str]:
    """What one triggerer's loop holds, measured: every round's rows, then the goals on the medians of the rounds."""
    settings, rows = capacity["settings"], capacity["rows"]
    looks = ", ".join(f"{look:g}" for look in capacity["looks"])
    lines = [
        f"\n{settings['n']:,} deferred tasks held by one event loop (Python {rows[0]['python']}), each waiting on a "
        f"batch of {settings['items']} items that end evenly over {settings['batch_seconds']:g} s, with "
        "adaptive polling; a task whose batch ended is replaced by one waiting on a new batch, its poller starting "
        f"0.5 s after the batch's creation; {settings['emulators']} emulators answer after "
        f"{settings['latency'] * 1000:.0f} ms. *Intended*: the looks an ideal loop takes at every batch given out "
        f"({len(capacity['looks'])} a batch, at {looks} s), within the {settings['window']:g} s window. "
        "*Late*: from a batch's end to its wait's end (ideal in brackets). Rounds alternate which poller goes first; "
        "ratios are within a round.\n",
        "| round | poller | waits held | polls / intended | lag p50 / p99 / max (ms) | full GCs (longest ms) "
        "| CPU (one core) | CPU ms/poll | x limit | RSS KiB/trigger | batches seen finished | late p50 / p99 s "
        "| errors | emulator CPU | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        limit: dict[str, Any] = next((r for r in rows if r["round"] == row["round"] and r["peer"] == LIMIT), {})
        lines.append(_capacity_row(row, limit))
    return lines + _capacity_goals(rows)


def _capacity_goals(rows: list[dict[str, Any]]) -> list[str]:
    ours, limit = ([r for r in rows if r["peer"] == peer] for peer in (OURS, LIMIT))
    if not ours or not limit:
        return []
    ratios = [
        o["cpu_ms_per_poll"] / lim["cpu_ms_per_poll"]
        for o in ours
        for lim in limit
        if o["round"] == lim["round"] and o["cpu_ms_per_poll"] and lim["cpu_ms_per_poll"]
    ]
    goals: tuple[tuple[str, str, str, str, Callable[[float], bool]], ...] = (
        ("polls achieved", "polls_pct", "{:.1f}%", "≥ 99%", lambda v: v >= 99),
        ("p99 loop lag", "lag_p99_ms", "{:.1f} ms", "< 50 ms", lambda v: v < 50),
        ("RSS per trigger", "rss_kib_per_trigger", "{:.1f} KiB", "≤ 15 KiB", lambda v: v <= 15),
    )
    lines = [
        f"\n### Goals at N = {ours[0]['n']:,}, medians of {len(ours)} rounds\n",
        "| goal | ours | limit: bare aiohttp | target | ours met | limit met |",
        "|---|---|---|---|---|---|",
    ]
    for name, key, shape, target, met in goals:
        a, b = _median([r[key] for r in ours]), _median([r[key] for r in limit])
        lines.append(
            f"| {name} | {shape.format(a)} | {shape.format(b)} | {target} | {'yes' if met(a) else '**no**'} "
            f"| {'yes' if met(b) else '**no**'} |"
        )
    cpu = _median([r["cpu_pct"] for r in ours]), _median([r["cpu_pct"] for r in limit])
    lines.append(f"| CPU per poll vs limit | {_median(ratios):.2f}x | 1.00x | (reported) | | |")
    lines.append(f"| CPU, share of one core | {cpu[0]:.0f}% | {cpu[1]:.0f}% | (reported) | | |")
    return lines


def _census(rows: list[dict[str, Any]]) -> list[str]:
    """Tracked objects per waiting poller, by kind, one column per poller."""
    kinds = list(dict.fromkeys(kind for row in rows for kind in row["by_kind"]))
    lines = [
        f"\nObjects the garbage collector tracks per waiting poller, N = {rows[0]['n']:,}, Python "
        f"{rows[0]['python']}: the fewest of each kind in five censuses a second apart, after `gc.collect()`, less "
        "the census before the pollers started. A container is named with what holds it. Kinds under 0.2 a "
        "poller are left out of the rows, not of the total.\n",
        "| kind | " + " | ".join(row["peer"] for row in rows) + " |",
        "|---|" + "---|" * len(rows),
        "| **all** | " + " | ".join(f"**{row['per_trigger']:.1f}**" for row in rows) + " |",
    ]
    for kind in kinds:
        cells = " | ".join(_fmt(row["by_kind"].get(kind)) for row in rows)
        lines.append(f"| `{kind}` | {cells} |")
    return lines


def _storm(rows: list[dict[str, Any]]) -> list[str]:
    first = rows[0]
    lines = [
        f"\n{first['n']:,} triggers on one connection, polling every 5 s (about 200 requests/s wanted) against an "
        f"emulator that serves {first['limit_per_s']} requests/s and answers the rest 429 with `Retry-After: 1`; "
        "one-item batches that end 30 s after creation. Ratios against the previous design, from one run.\n",
        "| design | 429s | x previous | accepted polls/s | all seen finished, after the end (s) | x previous "
        "| events | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        events = ", ".join(f"{count} {status}" for status, count in row["statuses"].items())
        lines.append(
            f"| {row['case']} | {row['429s']:,} | {row['429s'] / first['429s']:.3f}x | {row['accepted_per_s']} | "
            f"{row['all_seen_after_end_s']} | {_ratio(row['all_seen_after_end_s'], first['all_seen_after_end_s'])} | "
            f"{events} | {row['load_avg_1m']} |"
        )
    return lines


def _budget(budget: dict[str, Any]) -> list[str]:
    lines = [
        f"\n{budget['inputs']:,} inputs of {budget['item_seconds']} s items at 0.004 each (4.00 in all), blocking "
        f"mode, median of {budget['rounds']} alternating rounds; ratios against the run without a budget.\n",
        "| case | first batch (s) | ratio | total (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, case in budget["cases"].items():
        lines.append(
            f"| {name} | {case['first_batch_s']} | {case['first_batch_ratio']}x | {case['total_s']} "
            f"| {case['total_ratio']}x |"
        )
    return lines


def _header(results: dict[str, Any]) -> list[str]:
    runs = results.get("runs", {})
    lines = ["| section | date | command | machine |", "|---|---|---|---|"]
    for name, title in SECTIONS.items():
        if run := runs.get(name):
            machine = f"{run['nproc']} CPUs, {run['cpu_model']}, {run['ram_gib']} GiB RAM, Python {run['python']}"
            lines.append(f"| {title} | {run['date']} | `{run['command']}` | {machine} |")
    return lines


def write_report(
    results: dict[str, Any], docs: Path = ROOT / "docs", notes: str = "", more: Sequence[dict[str, Any]] = ()
) -> Path:
    """Write ``docs/benchmarks.md`` and its plots in ``docs/images``.

    ``more``: other results files (the hot path on another Python, say): their trigger-scale
    rows join the hot-path goals.
    """
    images = docs / "images"
    images.mkdir(parents=True, exist_ok=True)
    body = ["# Benchmarks\n", *_header(results)]
    if scale := results.get("scale"):
        scale_plot(scale, "cpu_ms_per_poll", "CPU ms per poll", images / "bench-cpu-per-poll.png", log=True)
        scale_plot(scale, "polls_pct", "% of intended polls", images / "bench-polls.png")
        scale_plot(scale, "lag_p99_ms", "event-loop lag p99 (ms)", images / "bench-lag.png", log=True)
        scale_plot(scale, "rss_kib_per_trigger", "RSS KiB per trigger", images / "bench-rss.png", log=True)
        body += [f"\n## {SECTIONS['scale']}\n", *_scale_tables(scale), *_goals(scale), *_hot_path_goals(scale, more)]
        body += ["\n![CPU per poll](images/bench-cpu-per-poll.png)\n![polls](images/bench-polls.png)\n"]
        body += ["![lag](images/bench-lag.png)\n![rss](images/bench-rss.png)\n"]
    if capacity := results.get("capacity"):
        capacity_plot(capacity["rows"], median_round(capacity), images / "bench-capacity.png")
        body += [f"\n## {SECTIONS['capacity']}\n", *_capacity(capacity)]
        body += [f"\n![capacity, round {median_round(capacity)}](images/bench-capacity.png)\n"]
    if census := results.get("census"):
        body += [f"\n## {SECTIONS['census']}\n", *_census(census)]
    if economy := results.get("economy"):
        body += [f"\n## {SECTIONS['economy']}\n", *_economy(economy)]
    if collection := results.get("collection"):
        collection_plot(collection, images / "bench-collection.png")
        body += [f"\n## {SECTIONS['collection']}\n", *_collection(collection)]
        body += ["\n![collection](images/bench-collection.png)\n"]
    if media := results.get("media"):
        media_plot(media, images / "bench-media.png")
        body += [f"\n## {SECTIONS['media']}\n", *_media(media), "\n![media](images/bench-media.png)\n"]
    if outputs_page := results.get("outputs_page"):
        body += [f"\n## {SECTIONS['outputs_page']}\n", *_outputs_page(outputs_page)]
    if storm := results.get("storm"):
        storm_plot(storm, images / "bench-storm.png")
        body += [f"\n## {SECTIONS['storm']}\n", *_storm(storm), "\n![429 storm](images/bench-storm.png)\n"]
    if pacing := results.get("pacing"):
        pacing_plot(pacing, images / "bench-pacing.png")
        body += [f"\n## {SECTIONS['pacing']}\n", *_pacing(pacing), "\n![pacing](images/bench-pacing.png)\n"]
    if budget := results.get("budget"):
        body += [f"\n## {SECTIONS['budget']}\n", *_budget(budget)]
    body.append(notes)
    target = docs / "benchmarks.md"
    target.write_text("\n".join(body) + "\n")
    return target
