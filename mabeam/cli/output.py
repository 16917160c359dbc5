"""What every verb of the CLI shares: help that shows defaults, JSON output, progress on stderr.

Progress goes to stderr (stdout stays the report, or one JSON object), through
``rich``: a live line on a terminal, a plain line every few seconds otherwise
(CI logs), nothing with ``--quiet``. Each update shows the rate, the elapsed
time and the resident memory, because a model check is bounded by all three.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and appends ``(default: X)`` to every option whose help does
    not already say what its default is (flags and options without a value say so in words)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.default is None or action.default is False:
            return text
        return f"{text} (default: %(default)s)"


def print_json(value: Any) -> None:
    """One JSON object on stdout (the contract of every ``--json``)."""
    print(json.dumps(value, default=str))


def rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class CheckProgress:
    """The checker's ``progress`` callback: depth, distinct states, rate, elapsed time, memory.

    It also keeps the (seconds, distinct states) series, which the validation
    report plots.
    """

    def __init__(self, quiet: bool = False, label: str = "checking") -> None:
        self.quiet, self.label = quiet, label
        self.series: list[tuple[float, int]] = []
        self._console = _console()
        self._live = self._console.is_terminal and not quiet
        self._last_print = time.monotonic()  # the first plain line after 5 s: quick checks print none

    def __call__(self, info: dict[str, Any]) -> None:
        seconds, states = float(info["seconds"]), int(info["distinct_states"])
        self.series.append((seconds, states))
        if self.quiet:
            return
        rate = states / seconds if seconds > 0 else 0.0
        rss = info.get("rss_bytes", 0) / 2**20 or rss_mib()
        line = (f"{self.label}: depth {info['depth']}, {states:,} distinct states, {rate:,.0f} states/s, "
                f"{seconds:,.1f}s elapsed, RSS {rss:,.0f} MiB")
        now = time.monotonic()
        if self._live:
            self._console.print(line, end="\r", overflow="crop")
        elif now - self._last_print >= 5.0:
            self._last_print = now
            self._console.print(line)

    def done(self) -> None:
        if self._live and self.series:
            self._console.print(" " * 100, end="\r")


@contextmanager
def task_progress(total: int, quiet: bool = False, label: str = "") -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` tasks; yields ``advance(description)``.

    On a terminal it is a ``rich`` bar with elapsed time, rate and memory; elsewhere one line
    per task (so a CI log shows where time goes); nothing with ``quiet``.
    """
    if quiet:
        yield lambda description: None
        return
    console = _console()
    started = time.monotonic()
    if not console.is_terminal:
        count = [0]

        def line(description: str) -> None:
            count[0] += 1
            elapsed = time.monotonic() - started
            console.print(f"{label}[{count[0]}/{total}] {description} ({elapsed:,.1f}s elapsed, "
                          f"{count[0] / elapsed if elapsed else 0:.2f} tasks/s, RSS {rss_mib():,.0f} MiB)")

        yield line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[rate]} · RSS {task.fields[rss]}"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label or "working", total=total, rate="-", rss="-")

        def advance(description: str) -> None:
            elapsed = time.monotonic() - started
            done = bar.tasks[0].completed + 1
            bar.update(task, advance=1, description=f"{label}{description}",
                       rate=f"{done / elapsed if elapsed else 0:.2f}/s", rss=f"{rss_mib():,.0f} MiB")

        yield advance
