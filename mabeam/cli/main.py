"""The ``mabeam`` command line: list, check, prove, replay and simulate protocols.

Exit codes: 0 every property holds (or every proof succeeds), 1 a property
fails (the counterexample is printed), 2 bad arguments or configuration.
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


# ------------------------------------------------------------------ rendering
def _progress_printer(enabled: bool) -> Any:
    last = [time.perf_counter()]

    def show(info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - last[0] >= 2.0:
            last[0] = now
            print(f"  … depth {info['depth']}, {info['distinct_states']:,} distinct states, "
                  f"{info['seconds']:.1f}s", file=sys.stderr, flush=True)

    return show if enabled else None


def check_to_json(result: CheckResult, model_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model_info,
        "mode": result.mode,
        "ok": result.ok,
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
    scope = "full state space" if s.complete else f"bounded by {s.bound}"
    lines.append(f"  explored: {s.distinct_states:,} distinct states ({s.states_generated:,} generated), "
                 f"depth {s.depth}, {scope}")
    lines.append(f"  speed: {s.seconds:.2f}s, {s.states_per_second:,.0f} states/s; "
                 f"store {s.bytes_per_state:.0f} B/state; peak RSS {s.peak_rss_bytes / 2**20:.0f} MiB")
    symbol = {"holds": "✓", "reached": "✓", "violated": "✗", "unreached": "✗", "not-checked": "·"}
    for r in result.results:
        extra = f"  ({r.note})" if r.note else ""
        kind = {Kind.ALWAYS: "always", Kind.SOMETIMES: "sometimes", Kind.EVENTUALLY: "eventually"}[r.property.kind]
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
    from ..checker import check, random_walks

    entry = get(args.protocol)
    overrides: dict[str, Any] = {}
    if args.network:
        overrides["network"] = args.network
    if args.drops is not None:
        overrides["drops"] = args.drops
    if args.dups is not None:
        overrides["duplicates"] = args.dups
    model = build_model(entry, args.agents, args.faulty, mutant=args.mutant, depth=args.depth,
                        max_states=args.max_states, **overrides)
    info = {"protocol": entry.name, "agents": model.protocol.n,
            "faulty": args.faulty if args.faulty is not None else entry.default_faulty,
            "mutant": args.mutant, "depth": args.depth, "max_states": args.max_states, **overrides}
    if args.walks:
        result = random_walks(model, entry.properties, seed=args.seed, walks=args.walks,
                              max_steps=args.steps)
    else:
        if not args.json:
            print(f"checking {entry.name}: {info['agents']} agents, faulty={info['faulty']} "
                  f"({entry.fault_model}), network={model.config.network}"
                  + (f", mutant {args.mutant}" if args.mutant else ""), flush=True)
        result = check(model, entry.properties, progress=_progress_printer(True))
    if args.trace_out:
        Path(args.trace_out).write_text(json.dumps(check_to_json(result, info), indent=2))
    if args.json:
        print(json.dumps(check_to_json(result, info)))
    else:
        verdict = "every property holds" if result.ok else f"{len(result.failures())} property(ies) FAIL"
        print(render_check(result, f"{entry.name}: {verdict}", model.protocol.agents))
    return 0 if result.ok else 1


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


def cmd_keygen(args: argparse.Namespace) -> int:
    """A cluster's key material for TLS between nodes and signed protocols (see mabeam.runtime.keygen)."""
    from ..runtime.keygen import generate_cluster, write_cluster

    agents = [a for a in args.agents.split(",") if a]
    clients = [c for c in (args.clients or "").split(",") if c]
    keys = generate_cluster(agents, clients, cluster=args.cluster, days=args.days)
    written = write_cluster(keys, args.out)
    print(f"wrote key material for {len(agents)} agents and {len(clients)} clients to {args.out}:")
    for path in written:
        print(f"  {path.stat().st_mode & 0o777:04o} {path}")
    print("ship ca.crt and public/ to every node, private/<id>/ to <id> only; keep ca.key offline")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mabeam", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("protocols", help="list the protocols").set_defaults(func=cmd_protocols)

    p = sub.add_parser("mutants", help="list the deliberately broken variants the checkers must catch")
    p.add_argument("protocol", nargs="?")
    p.set_defaults(func=cmd_mutants)

    p = sub.add_parser("check", help="model-check a protocol exhaustively (or by random walks)")
    p.add_argument("protocol")
    p.add_argument("--agents", type=_positive)
    p.add_argument("--faulty", type=_nonneg, help="crashes (crash model) or Byzantine agents")
    p.add_argument("--depth", type=_positive, help="stop after this many steps")
    p.add_argument("--max-states", type=_positive)
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

    p = sub.add_parser("keygen", help="create a cluster's CA, TLS certificates and signing keys")
    p.add_argument("--agents", required=True, help="comma-separated agent names, e.g. a0,a1,a2,a3")
    p.add_argument("--clients", default="", help="comma-separated client names that sign requests (e.g. client)")
    p.add_argument("--out", required=True, help="directory to create the material in (must not hold any)")
    p.add_argument("--cluster", default="mabeam", help="a name for the cluster, written into the certificates")
    p.add_argument("--days", type=_positive, default=365, help="how long the certificates are valid")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("demo", help="model-check and then run protocols live, with a readable report")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MabeamError as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"mabeam: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
