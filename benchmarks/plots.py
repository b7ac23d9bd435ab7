"""PNG plots of the latest results, for docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _by_peer(scale: list[dict[str, Any]], metric: str) -> dict[str, dict[int, float]]:
    series: dict[str, dict[int, float]] = {}
    for row in scale:
        if row.get(metric) is not None:
            series.setdefault(row["peer"], {})[row["n"]] = float(row[metric])
    return series


def scale_plot(scale: list[dict[str, Any]], metric: str, label: str, path: Path, log: bool = False) -> None:
    """One line per peer over N."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for peer, points in _by_peer(scale, metric).items():
        ns = sorted(points)
        style = "-o" if peer.startswith(("runflow", "limit")) else "--."
        ax.plot(ns, [points[n] for n in ns], style, label=peer, linewidth=2.5 if peer.startswith("runflow") else 1.2)
    ax.set_xscale("log")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("concurrent triggers (N)")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def collection_plot(collection: list[dict[str, Any]], path: Path) -> None:
    """Time and tracemalloc peak per case, at each size."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    sizes = sorted({row["items"] for row in collection})
    cases = list(dict.fromkeys(row["case"] for row in collection))
    width = 0.8 / len(cases)
    for i, case in enumerate(cases):
        rows = {row["items"]: row for row in collection if row["case"] == case}
        xs = [j + i * width for j in range(len(sizes))]
        left.bar(xs, [rows[s]["seconds"] for s in sizes], width, label=case)
        right.bar(xs, [rows[s]["peak_mib"] for s in sizes], width, label=case)
    for ax, title in ((left, "seconds"), (right, "tracemalloc peak (MiB)")):
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))], [f"{s:,} items" for s in sizes])
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pacing_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Polls per batch and worst detection delay over batch duration, one line per poll interval (steady model)."""
    steady = [row for row in rows if row["model"] == rows[0]["model"]]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for interval in dict.fromkeys(row["interval"] for row in steady):
        points = [row for row in steady if row["interval"] == interval]
        durations = [row["duration_s"] for row in points]
        label = interval if isinstance(interval, str) else f"fixed {interval:g} s"
        axes[0].plot(durations, [row["polls_median"] for row in points], "-o", label=label)
        axes[1].plot(durations, [row["delay_max_s"] for row in points], "-o", label=label)
    goal = [row for row in steady if row["interval"] == steady[0]["interval"]]
    axes[1].plot([r["duration_s"] for r in goal], [r["goal_delay_s"] for r in goal], "k:", label="goal")
    axes[0].axhline(20, color="k", linestyle=":", label="goal")
    for ax, label in ((axes[0], "polls per batch (median)"), (axes[1], "detection delay, worst (s)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch duration (s)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def media_plot(media: dict[str, Any], path: Path) -> None:
    """Throughput of each copier per (link, workload) beside the link's limit; ours over the link by concurrency."""
    rows, cases = media["rows"], list(dict.fromkeys(row["case"] for row in media["rows"]))
    groups = list(dict.fromkeys((row["link"], row["storage"], row["workload"]) for row in rows))
    fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / (len(cases) + 1)
    speeds = {(r["link"], r["storage"], r["workload"], r["case"]): r["mib_per_s"] for r in rows}
    for k, case in enumerate(cases):
        values = [speeds.get((*g, case), 0) for g in groups]
        axes[0].bar([i + (k - len(cases) / 2) * width for i in range(len(groups))], values, width=width, label=case)
    limited = {
        (r["link"], r["storage"], r["workload"]): r["bytes"] / 1024**2 / r["limit_s"]
        for r in rows
        if r["case"] == "ours" and r["limit_s"]
    }
    limits = [limited.get(g, 0) for g in groups]
    axes[0].bar([i + len(cases) / 2 * width for i in range(len(groups))], limits, width=width, label="the link's limit")
    axes[0].set_xticks(
        range(len(groups)), [f"{w.split(' (')[0]}\n{link}\n{storage}" for link, storage, w in groups], fontsize=7
    )
    axes[0].set_ylabel("MiB/s")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    swept = [r for r in rows + media["sweep"] if r["case"] == "ours" and r["limit_s"]]
    for workload in dict.fromkeys(r["workload"] for r in swept):
        points = sorted((r["concurrency"], r["seconds"], r["limit_s"]) for r in swept if r["workload"] == workload)
        line = axes[1].plot([p[0] for p in points], [p[1] for p in points], "-o", label=f"ours, {workload}")
        axes[1].plot([p[0] for p in points], [p[2] for p in points], "--", color=line[0].get_color(), label="its limit")
    axes[1].set_xscale("log", base=2)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("downloads at once (over the modelled link)")
    axes[1].set_ylabel("seconds")
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def storm_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """429s received and time to see every batch finished, per design, from the 429 storm."""
    names = [row["case"].replace(" (", "\n(").replace(" + ", "\n+ ") for row in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    metrics = (("429s", "429 answers (log)"), ("all_seen_after_end_s", "all seen finished, s after the end"))
    for ax, (metric, label) in zip(axes, metrics, strict=True):
        ax.bar(range(len(rows)), [max(row[metric], 0.5) for row in rows])
        ax.set_xticks(range(len(rows)), names, fontsize=6)
        ax.set_ylabel(label)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def capacity_plot(rows: list[dict[str, Any]], round_: int, path: Path) -> None:
    """One round of the capacity benchmark over its window: polls answered per second against the intended, and
    the event loop's worst lag of each second, one line per poller."""
    fig, (polls, lag) = plt.subplots(1, 2, figsize=(11, 4))
    for row in (r for r in rows if r["round"] == round_):
        series, name = row["series"], "ours" if row["peer"].startswith("runflow") else "limit: bare aiohttp"
        width = 2.0 if name == "ours" else 1.2
        polls.plot(*zip(*series["polls_per_s"], strict=True), label=f"{name}: answered", linewidth=width)
        polls.plot(range(len(series["intended_per_s"])), series["intended_per_s"], ":", label=f"{name}: intended")
        lag.plot(*zip(*series["lag_ms"], strict=True), label=name, linewidth=width)
    lag.axhline(50, color="k", linestyle=":", label="p99 goal")
    for ax, label in ((polls, "polls per second"), (lag, "worst event-loop lag of each second (ms)")):
        ax.set_xlabel("seconds into the window")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    lag.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
