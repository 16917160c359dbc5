"""The report's figures (matplotlib, drawn off-screen to PNG files).

Three plots from the measurements: session latency percentiles against the
number of agents for each protocol, memory against the number of concurrent
sessions, and the model checker's distinct states against time for each
protocol's standard check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: the plots are files
    import matplotlib.pyplot as plt

    return plt


def latency(rows: list[dict[str, Any]], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        mine = sorted((r for r in rows if r["protocol"] == protocol), key=lambda r: r["agents"])
        xs = [r["agents"] for r in mine]
        line, = ax.plot(xs, [r["p50"] * 1000 for r in mine], marker="o", label=f"{protocol} p50")
        ax.fill_between(xs, [r["p50"] * 1000 for r in mine], [r["p99"] * 1000 for r in mine],
                        color=line.get_color(), alpha=0.15)
        ax.plot(xs, [r["p95"] * 1000 for r in mine], linestyle="--", color=line.get_color(), linewidth=1)
    ax.set(xscale="log", yscale="log", xlabel="agents", ylabel="wall ms per session",
           title="Session latency vs agents (p50 solid, p95 dashed, band to p99)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def memory(rows: list[dict[str, Any]], path: Path) -> Path:
    plt = _pyplot()
    good = [r for r in rows if "error" not in r]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    xs = [r["sessions"] for r in good]
    ax.plot(xs, [r["rss_peak_mib"] for r in good], marker="o", label="process peak RSS (MiB)")
    ax.plot(xs, [r["traced_peak_mib"] for r in good], marker="s", label="traced Python allocations, peak (MiB)")
    ax.axhline(1024, color="red", linestyle=":", label="1 GiB target")
    ax.set(xlabel="concurrent sessions (one asyncio loop)", ylabel="MiB", yscale="log",
           title="Memory vs concurrent sessions")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def checker(rows: list[dict[str, Any]], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for r in rows:
        if r["series"]:
            ax.plot([0.0] + [s for s, _ in r["series"]], [1] + [n for _, n in r["series"]], marker=".",
                    label=f"{r['protocol']} ({r['distinct_states']:,})")
    ax.set(xlabel="seconds", ylabel="distinct states", yscale="log",
           title="Model checker: distinct states vs time (standard checks)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw(figures: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Every plot whose measurements exist; empty when matplotlib is not installed (the report says so)."""
    try:
        _pyplot()
    except ImportError:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    if (figures.get("latency") or {}).get("rows"):
        out["latency"] = latency(figures["latency"]["rows"], folder / "latency_vs_agents.png")
    if (figures.get("memory") or {}).get("rows"):
        out["memory"] = memory(figures["memory"]["rows"], folder / "memory_vs_sessions.png")
    if (figures.get("checks") or {}).get("rows"):
        out["checker"] = checker(figures["checks"]["rows"], folder / "checker_states_vs_time.png")
    return out
