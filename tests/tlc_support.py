"""Running TLC on the companion specs in ``tla/`` and reading what it says.

Used by ``tests/test_tlc.py``; also runnable by hand::

    python tests/tlc_support.py Majority             # the checked configuration
    python tests/tlc_support.py Pbft.liveness        # tla/Pbft.liveness.cfg
    python tests/tlc_support.py Majority MAJ_R1_NoDecision   # one reachability goal

Each run copies every ``tla/*.tla`` (a spec may EXTEND or INSTANCE another) and the
one configuration into a fresh temporary directory, so parallel runs never share
TLC's ``states/`` directory.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# where the jar and java are, and TLC's success line: the same lookup `mabeam tla validate` uses
from mabeam.tla.run import OK_MESSAGE, find_jar, find_java, tlc_command

ROOT = Path(__file__).resolve().parent.parent
TLA_DIR = ROOT / "tla"


@dataclasses.dataclass(frozen=True)
class TlcResult:
    """What one TLC run reported."""

    module: str
    exit_code: int
    output: str
    seconds: float
    #: "ok", "invariant", "property", "deadlock", "error" (parse, semantic, config or runtime)
    verdict: str
    violated: tuple[str, ...]  # invariants TLC reported violated
    distinct_states: int | None
    errors: tuple[str, ...]  # TLC's error lines, for the failure message

    def summary(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-40:])
        return (f"TLC on {self.module}: verdict {self.verdict}, exit code {self.exit_code}, "
                f"violated {list(self.violated)}, distinct states {self.distinct_states}, "
                f"{self.seconds:.1f} s\nerrors: {list(self.errors)}\n--- last lines of TLC's output ---\n{tail}")


_ERROR_PATTERNS = (
    r"^\*\*\* Parse Error \*\*\*",
    r"Semantic errors?:",
    r"^Error: .*",
    r"^TLC threw an unexpected exception",
    r"Was expecting",
    r"Encountered \"",
    r"The configuration file .* error",
    r"^Attempted to .*",
    r"^The error occurred when TLC was evaluating",
    r"Unknown operator",
    r"not defined",
    r"^Fatal errors? while parsing",
    r"Temporal formula is a tautology",
    r"^In evaluation, the identifier .*",
    r"^TLC encountered a non-enumerable",
    r"^Assumption .* is false",
)


def parse_output(module: str, exit_code: int, output: str, seconds: float) -> TlcResult:
    """Classify TLC's output. Anything but a clean completion is a failure verdict."""
    violated = tuple(dict.fromkeys(re.findall(r"Invariant (\w+) is violated", output)))
    counts = re.findall(r"(\d[\d,]*) distinct states found", output)
    distinct = int(counts[-1].replace(",", "")) if counts else None
    errors = tuple(line.strip() for line in output.splitlines()
                   if any(re.search(p, line.strip()) for p in _ERROR_PATTERNS))
    if violated:
        verdict = "invariant"
    elif "Temporal properties were violated" in output:
        verdict = "property"
    elif "Deadlock reached" in output:
        verdict = "deadlock"
    elif exit_code == 0 and OK_MESSAGE in output and not errors:
        verdict = "ok"
    else:
        verdict = "error"
    return TlcResult(module, exit_code, output, seconds, verdict, violated, distinct, errors)


def run_tlc(module: str, config_text: str | None = None, *, workers: int = 2,
            timeout: float = 900.0, extra_files: dict[str, str] | None = None) -> TlcResult:
    """Run TLC on ``tla/<module>.tla`` with ``tla/<module>.cfg`` (or ``config_text``).

    ``extra_files`` (name -> text) are written next to the copies, e.g. a mutant module.
    """
    jar = find_jar()
    java = find_java()
    if jar is None or java is None:
        raise FileNotFoundError("TLC needs java and tla2tools.jar")
    with tempfile.TemporaryDirectory(prefix=f"tlc-{module}-") as tmp:
        work = Path(tmp)
        for spec in TLA_DIR.glob("*.tla"):
            shutil.copy(spec, work / spec.name)
        for name, text in (extra_files or {}).items():
            (work / name).write_text(text)
        cfg = work / f"{module}.cfg"
        if config_text is not None:
            cfg.write_text(config_text)
        elif not cfg.exists():
            shutil.copy(TLA_DIR / f"{module}.cfg", cfg)
        command = tlc_command(java, jar, work, "-workers", str(workers), "-metadir", str(work / "states"),
                              "-config", cfg.name, module)
        start = time.monotonic()
        try:
            done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            out = expired.stdout or ""
            out = out.decode() if isinstance(out, bytes) else out
            return TlcResult(module, -1, out, time.monotonic() - start, "error", (), None,
                             (f"TLC did not finish within {timeout:.0f} s",))
        seconds = time.monotonic() - start
    return parse_output(module, done.returncode, done.stdout + done.stderr, seconds)


# ------------------------------------------------------------------ configurations
_SECTION = re.compile(r"^(INVARIANTS?|PROPERTY|PROPERTIES)\b")
_KEYWORD = re.compile(r"^(CONSTANTS?|INIT|NEXT|SPECIFICATION|INVARIANTS?|PROPERTY|PROPERTIES|SYMMETRY|VIEW"
                      r"|CONSTRAINTS?|ACTION_CONSTRAINTS?|CHECK_DEADLOCK|POSTCONDITION|ALIAS)\b")


def config_sections(text: str) -> dict[str, list[str]]:
    """Names listed under INVARIANT(S) and PROPERTY(IES) (comments dropped, one keyword per line)."""
    found: dict[str, list[str]] = {"INVARIANT": [], "PROPERTY": []}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.split("\\*", 1)[0].strip()
        if not line:
            continue
        keyword = _KEYWORD.match(line)
        if keyword:
            word = keyword.group(1)
            current = ("INVARIANT" if word.startswith("INVARIANT") else
                       "PROPERTY" if word.startswith("PROPERT") else None)
            line = line[len(word):].strip()
        if current is not None:
            found[current].extend(line.split())
    return found


def reachability_config(text: str, goal: str) -> str:
    """The checked configuration with its invariants and properties replaced by ``goal`` alone.

    ``goal`` is the negation of a reachability property ("nobody decides"): TLC must report
    it violated. Everything else (constants, specification, deadlock setting) is kept.
    """
    kept: list[str] = []
    skipping = False
    for raw in text.splitlines():
        line = raw.split("\\*", 1)[0].strip()
        keyword = _KEYWORD.match(line)
        if keyword:
            skipping = bool(_SECTION.match(line))
        if not skipping:
            kept.append(raw)
    return "\n".join(kept) + f"\n\nINVARIANT {goal}\n"


def main(argv: list[str]) -> int:
    config_name = argv[0]  # a cfg name: Majority, or Pbft.liveness for tla/Pbft.liveness.cfg
    text = (TLA_DIR / f"{config_name}.cfg").read_text()
    config = reachability_config(text, argv[1]) if len(argv) > 1 else text
    result = run_tlc(config_name.split(".")[0], config)
    print(result.summary())
    return 0 if result.verdict == ("invariant" if len(argv) > 1 else "ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
