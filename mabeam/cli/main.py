"""The ``mabeam`` command line: list, check, prove, replay and simulate protocols.

Exit codes: 0 every property holds (or every proof succeeds), 1 a property
fails (the counterexample is printed), 2 bad arguments or configuration,
3 incomplete: a bound (depth, states, memory, an interrupt) stopped the
search before it found any violation, so nothing is proven.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..api.registry import entries, get
from ..checker import CheckResult, replay_actions
from ..core.errors import MabeamError
from ..core.properties import Kind


class UsageError(MabeamError):
    """Arguments that parse but make no sense together."""


#: exit codes of ``mabeam check`` (and the other verbs)
HOLDS, VIOLATED, BAD_ARGUMENTS, INCOMPLETE = 0, 1, 2, 3
EXIT_CODES = {"holds": HOLDS, "violated": VIOLATED, "incomplete": INCOMPLETE}


# ------------------------------------------------------------------ rendering
def _progress_printer(enabled: bool) -> Any:
    last = [time.perf_counter()]

    def show(info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - last[0] >= 2.0:
            last[0] = now
            rate = info["distinct_states"] / info["seconds"] if info["seconds"] else 0.0
            per_worker = info.get("worker_rss_bytes")
            workers = f" (workers {' / '.join(f'{b / 2**20:,.0f}' for b in per_worker)} MiB)" if per_worker else ""
            print(f"  … depth {info['depth']}, {info['distinct_states']:,} distinct states "
                  f"({rate:,.0f}/s), {info['seconds']:.1f}s, RSS {info.get('rss_bytes', 0) / 2**20:,.0f} MiB{workers}",
                  file=sys.stderr, flush=True)

    return show if enabled else None


def check_to_json(result: CheckResult, model_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model_info,
        "mode": result.mode,
        "ok": result.ok,
        "verdict": result.verdict,
        "complete": result.complete,
        "exit_code": EXIT_CODES[result.verdict],
        "notes": list(result.notes),
        "stats": result.stats.to_json(),
        "properties": [
            {"id": r.property.id, "name": r.property.name, "kind": r.property.kind.value,
             "status": r.status, "note": r.note,
             **({"trace": r.trace.to_json()} if r.trace is not None and r.status == "violated" else {}),
             **({"trace_length": len(r.trace)} if r.trace is not None else {})}
            for r in result.results
        ],
    }


def render_check(result: CheckResult, title: str, agents: tuple[str, ...]) -> str:
    s = result.stats
    lines = [title]
    scope = "full state space" if s.complete else f"INCOMPLETE, stopped by {s.bound}"
    lines.append(f"  explored: {s.distinct_states:,} distinct states ({s.states_generated:,} generated), "
                 f"depth {s.depth}, {scope}")
    lines.append(f"  speed: {s.seconds:.2f}s, {s.states_per_second:,.0f} states/s; peak RSS "
                 f"{s.peak_rss_bytes / 2**20:.0f} MiB ({s.rss_per_state:,.0f} B/state; store {s.bytes_per_state:.0f})")
    lines += [f"  note: {note}" for note in result.notes]
    symbol = {"holds": "✓", "reached": "✓", "violated": "✗", "unreached": "✗", "not-checked": "·",
              "incomplete": "?"}
    for r in result.results:
        extra = f"  ({r.note})" if r.note else ""
        kind = r.property.kind.value
        lines.append(f"  {symbol[r.status]} {r.property.id:<8} {r.property.name:<34} {kind:<10} {r.status}{extra}")
    for r in result.failures():
        if r.trace is not None and r.status == "violated":
            what = "lasso" if r.trace.loop_start is not None else "shortest trace"
            steps = f"{len(r.trace)} step{'s' if len(r.trace) != 1 else ''}"
            lines.append(f"\n  counterexample to {r.property.id} {r.property.name} ({what}, {steps}):")
            lines.append(r.trace.render(agents))
    return "\n".join(lines)


# ------------------------------------------------------------------ commands
def cmd_protocols(args: argparse.Namespace) -> int:
    for entry in entries().values():
        kinds = {k: sum(1 for p in entry.properties if p.kind is k) for k in Kind}
        print(f"{entry.name:<12} {entry.fault_model:<10} {entry.summary}  "
              f"[{kinds[Kind.ALWAYS]} safety, {kinds[Kind.EVENTUALLY]} liveness, "
              f"{kinds[Kind.SOMETIMES]} reachability; {len(entry.mutants)} mutants; spec {entry.spec}]")
    return 0


def cmd_mutants(args: argparse.Namespace) -> int:
    for entry in entries().values():
        if args.protocol and entry.name != args.protocol:
            continue
        for m in entry.mutants:
            print(f"{entry.name} {m.name} {m.description}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..api.verify import build_model
    from ..checker.memory import parse_size

    entry = get(args.protocol)
    overrides: dict[str, Any] = {}
    if args.network:
        overrides["network"] = args.network
    if args.drops is not None:
        overrides["drops"] = args.drops
    if args.dups is not None:
        overrides["duplicates"] = args.dups
    if args.max_memory is not None:
        overrides["max_memory"] = parse_size(args.max_memory)
    if args.max_seconds is not None:
        overrides["max_seconds"] = args.max_seconds
    if args.adversary:
        overrides["adversary"] = args.adversary
    if args.sweep:
        return _sweep(entry, args, overrides)
    for flag in ("symmetry", "por", "stop_on_violation"):
        if getattr(args, flag):
            overrides[flag] = True
    model = build_model(entry, args.agents, args.faulty, mutant=args.mutant, depth=args.depth,
                        max_states=args.max_states, **overrides)
    info = {"protocol": entry.name, "agents": model.protocol.n,
            "faulty": args.faulty if args.faulty is not None else entry.default_faulty,
            "mutant": args.mutant, "depth": args.depth, "max_states": args.max_states, **overrides}
    result = _search(args, entry, model, info)
    if args.trace_out:
        Path(args.trace_out).write_text(json.dumps(check_to_json(result, info), indent=2))
    if args.json:
        print(json.dumps(check_to_json(result, info)))
    else:
        print(render_check(result, f"{entry.name}: {_headline(result)}", model.protocol.agents))
    return EXIT_CODES[result.verdict]


def _search(args: argparse.Namespace, entry: Any, model: Any, info: dict[str, Any]) -> CheckResult:
    """The search ``check`` asked for: exhaustive (in one process, partitioned, on Ray), walks or a swarm."""
    from ..checker import check, random_walks

    workers = _workers(args)
    if args.walks and args.swarm:
        raise UsageError("choose --walks or --swarm")
    if args.walks:
        result = random_walks(model, entry.properties, seed=args.seed, walks=args.walks,
                              max_steps=args.steps)
    elif args.swarm:
        from ..checker.swarm import swarm_check

        if args.budget is None:
            raise UsageError("--swarm needs --budget SECONDS (the wall time the whole swarm may take)")
        if not args.json:
            print(f"swarm over {entry.name}: {info['agents']} agents, faulty={info['faulty']}, {args.swarm} searches "
                  f"on {workers} {'Ray CPUs' if args.ray else 'processes'}, {args.budget:g} s", flush=True)
        result = swarm_check(model, entry.properties, searches=args.swarm, budget=args.budget, workers=workers,
                             ray=args.ray, seed=args.seed)
    else:
        if not args.json:
            print(f"checking {entry.name}: {info['agents']} agents, faulty={info['faulty']} "
                  f"({entry.fault_model}), network={model.config.network}"
                  + (f", mutant {args.mutant}" if args.mutant else ""), flush=True)
        result = check(model, entry.properties, progress=_progress_printer(not args.json), workers=workers,
                       ray=args.ray)
    return result


def _workers(args: argparse.Namespace) -> int:
    """``--workers``; by default 1, or every CPU: of this machine for a local Ray or a swarm, of the
    cluster for ``--ray ADDRESS``."""
    from ..checker.parallel import cpu_count

    if args.budget is not None and not args.swarm:
        raise UsageError("--budget is the swarm's time budget: use it with --swarm (or --max-seconds for a search)")
    if args.workers is not None:
        return int(args.workers)
    if args.ray is not None and args.ray != "local":
        from ..checker.ray_search import ray_module

        ray = ray_module()
        if not ray.is_initialized():
            ray.init(address=args.ray, log_to_driver=False, configure_logging=False)
        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    return cpu_count() if args.ray is not None or args.swarm else 1


def _sweep(entry: Any, args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """``check --sweep``: every declared size and bound, exhaustive where it finishes."""
    from ..api.verify import sweep_protocol

    if any(getattr(args, flag) is not None for flag in ("agents", "faulty", "mutant", "depth", "max_states")):
        raise UsageError("--sweep checks the protocol's declared points: drop --agents/--faulty/--mutant/--depth/"
                         "--max-states (or run one point without --sweep)")
    rows = sweep_protocol(entry.name, seed=args.seed, **overrides)
    table = [row.to_json() for row in rows]
    violated = any(r["violated"] for r in table)
    incomplete = any(r["mode"] != "exhaustive" for r in table)
    verdict = "violated" if violated else "incomplete" if incomplete else "holds"
    if args.json:
        print(json.dumps({"protocol": entry.name, "sweep": table, "verdict": verdict,
                          "exit_code": EXIT_CODES[verdict]}))
    else:
        print(f"{entry.name} sweep: {len(table)} points")
        print(f"  {'point':<34} {'n':>3} {'f':>2}  {'mode':<14} {'states':>11} {'depth':>5} {'seconds':>8}  verdict")
        for r in table:
            states = f"{r['states']:,}" + ("" if r["walk_states"] is None else f" (+{r['walk_states']:,} walked)")
            status = ("VIOLATED " + ", ".join(r["violated"])) if r["violated"] else \
                ("holds" if r["mode"] == "exhaustive" else "no violation found (not exhaustive)")
            print(f"  {r['label']:<34} {r['agents']:>3} {r['faulty']:>2}  {r['mode']:<14} {states:>11} "
                  f"{r['depth']:>5} {r['seconds']:>8.2f}  {status}")
    return EXIT_CODES[verdict]


def _headline(result: CheckResult) -> str:
    if result.verdict == "violated":
        return f"{len(result.failures())} property(ies) FAIL"
    if result.verdict == "incomplete":
        return f"INCOMPLETE: no violation found so far ({result.stats.bound or 'bounded'}); nothing is proven"
    return "every property holds"


def cmd_replay(args: argparse.Namespace) -> int:
    from ..api.verify import build_model

    data = json.loads(Path(args.file).read_text())
    info = data["model"]
    overrides = {k: v for k, v in info.items()
                 if k in ("network", "drops", "duplicates") and v is not None}
    model = build_model(info["protocol"], info["agents"], info["faulty"], mutant=info.get("mutant"),
                        **overrides)
    entry = get(info["protocol"])
    replayed = 0
    for prop in data["properties"]:
        if "trace" not in prop or (args.property and prop["id"] != args.property):
            continue
        trace = replay_actions(model, [s["action"] for s in prop["trace"]["steps"]])
        prop_obj = next(p for p in entry.properties if p.id == prop["id"])
        final = model.snapshot(trace.steps[-1].world)
        reproduced = prop_obj.kind is not Kind.ALWAYS or not prop_obj.holds(final)
        trace.loop_start = prop["trace"].get("loop_start")
        print(f"{prop['id']} {prop['name']}: replayed {len(trace)} steps; "
              + ("violation reproduced" if reproduced else "violation NOT reproduced"))
        print(trace.render(model.protocol.agents))
        replayed += 1
        if not reproduced:
            return 1
    if not replayed:
        raise UsageError("the file holds no counterexample trace to replay")
    return 0


def cmd_prove(args: argparse.Namespace) -> int:
    from ..api.proofs import run_proofs

    names = [args.protocol] if args.protocol else [e.name for e in entries().values() if e.proofs]
    everything: list[dict[str, Any]] = []
    ok = True
    for name in names:
        results = run_proofs(name)
        for r in results:
            ok &= r.ok
            everything.append({"protocol": name, **r.to_json()})
            if not args.json:
                mark = "✓" if r.ok else "✗"
                print(f"  {mark} {name:<10} {r.id:<8} {r.name:<60} {r.status} ({r.seconds:.2f}s)"
                      + (f"\n      {r.detail}" if r.detail and not r.ok else ""))
    if args.json:
        print(json.dumps({"ok": ok, "proofs": everything}))
    elif ok:
        print(f"all {len(everything)} Z3 checks proved")
    return 0 if ok else 1


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import simulate

    if not 0.0 <= args.loss < 1.0:
        raise UsageError(f"--loss must be in [0, 1), got {args.loss}")
    return simulate(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(quick=args.quick)


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


def _add_check(sub: Any) -> None:
    """``mabeam check``: its many options, kept apart from the other verbs'."""
    p = sub.add_parser("check", help="model-check a protocol exhaustively (or by random walks)")
    p.add_argument("protocol")
    p.add_argument("--agents", type=_positive)
    p.add_argument("--faulty", type=_nonneg, help="crashes (crash model) or Byzantine agents")
    p.add_argument("--depth", type=_positive, help="stop after this many steps")
    p.add_argument("--max-states", type=_positive, help="stop after this many distinct states (incomplete)")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="stop cleanly at this much resident memory, e.g. 2G or 512M (default: 70%% of the "
                        "memory available at start)")
    p.add_argument("--symmetry", action="store_true",
                   help="symmetry reduction over the agents the protocol declares interchangeable")
    p.add_argument("--por", action="store_true", help="partial-order reduction (ample sets)")
    p.add_argument("--stop-on-violation", action="store_true",
                   help="stop at the first level with a safety violation (its trace is still shortest)")
    p.add_argument("--max-seconds", type=float, help="stop after this many seconds of search (incomplete)")
    p.add_argument("--adversary", choices=["static", "dolev-yao"],
                   help="Byzantine agents: static (all they can sign, in flight from the start; default) or "
                        "dolev-yao (also everything they can build from what they learn)")
    p.add_argument("--sweep", action="store_true",
                   help="check every size and bound the protocol declares (exhaustive where it finishes)")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="partition the search over N local processes (same counts and verdicts; default 1; "
                        "with --ray or --swarm: every CPU)")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run the workers as Ray actors: a local Ray instance, or the cluster at ADDRESS "
                        "(needs the [ray] extra)")
    p.add_argument("--swarm", type=_positive, metavar="K",
                   help="K independent diversified searches (random walks, bounded BFS from random prefixes) "
                        "instead of one exhaustive search; never 'holds'")
    p.add_argument("--budget", type=float, metavar="SECONDS", help="wall time the whole --swarm may take")
    p.add_argument("--mutant")
    p.add_argument("--network", choices=["multiset", "duplicating"])
    p.add_argument("--drops", type=_nonneg, help="message-loss budget (multiset network)")
    p.add_argument("--dups", type=_nonneg, help="message-duplication budget (multiset network)")
    p.add_argument("--walks", type=_positive, help="seeded random walks instead of exhaustive search")
    p.add_argument("--steps", type=_positive, default=500, help="steps per random walk")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trace-out", help="write the result (with replayable traces) as JSON to this file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mabeam", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("protocols", help="list the protocols").set_defaults(func=cmd_protocols)

    p = sub.add_parser("mutants", help="list the deliberately broken variants the checkers must catch")
    p.add_argument("protocol", nargs="?")
    p.set_defaults(func=cmd_mutants)

    _add_check(sub)

    p = sub.add_parser("replay", help="replay a counterexample written by check --trace-out")
    p.add_argument("file")
    p.add_argument("--property")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("prove", help="run the Z3 checks of a protocol (all protocols if omitted)")
    p.add_argument("protocol", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("simulate", help="run a protocol in the seeded discrete-event simulator")
    p.add_argument("protocol")
    p.add_argument("--agents", type=_positive, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--faulty", type=_nonneg, default=0)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--runtime", action="store_true", help="use the live asyncio runtime instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="model-check and then run protocols live, with a readable report")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_demo)

    __import__("mabeam.cli.tla", fromlist=["add_tla"]).add_tla(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MabeamError as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return BAD_ARGUMENTS
    except KeyboardInterrupt:  # outside a search (which reports itself incomplete): stop quietly
        print("mabeam: interrupted", file=sys.stderr)
        return INCOMPLETE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
