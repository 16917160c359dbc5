"""The CLI reference (``docs/cli.md``), generated from the parser so that it cannot drift from ``--help``.

    python -m mabeam.cli.reference > docs/cli.md   # regenerate; tests/test_cli_help.py compares
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .main import build_parser

INTRO = """# CLI reference

`mabeam` is installed with the package (`pip install -e .`; `python -m mabeam.cli` is the same).
Every verb takes `--json` (one JSON object on stdout) and, where work takes time, `-q/--quiet`
(no progress on stderr). Progress lines show the rate, the elapsed time and the resident memory.
A protocol is a registered name (`mabeam protocols`), or `pkg.module:ENTRY`, or
`path/to/file.py:ENTRY` (see the [tutorial](tutorial.md)); [concepts](concepts.md) explains what
`check` explores and what its verdicts mean.

Exit codes, for every verb: 0 holds / proved / decided / passed; 1 violated (a counterexample is
printed), a proof failed, a run did not decide, a mutant was missed, a validation criterion failed
or could not be measured; 2 bad arguments or configuration, an unknown protocol, a file that cannot
be read; 3 incomplete (a bound stopped the search before any violation was found: nothing is proven).

This page is generated from the parser (`python -m mabeam.cli.reference > docs/cli.md`).
"""


@contextmanager
def _width(columns: int) -> Iterator[None]:
    """argparse wraps help to $COLUMNS: fix it so the page is the same on every terminal."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def markdown() -> str:
    with _width(100):
        parser = build_parser()
        parts = [INTRO, "## mabeam", "", "```text", parser.format_help().rstrip(), "```", ""]
        parts += _sections(parser, "mabeam")
    return "\n".join(parts)


def _sections(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """A section per verb, and per verb of a command group (``mabeam tla validate``)."""
    parts: list[str] = []
    for name, sub in _subparsers(parser).items():
        text = sub.format_help()
        if text.split("\nexit codes:")[-1] in parser.format_help():  # the same as above: given once
            text = text.split("\nexit codes:")[0]
        parts += [f"## {prefix} {name}", "", "```text", text.rstrip(), "```", ""]
        parts += _sections(sub, f"{prefix} {name}")
    return parts


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
