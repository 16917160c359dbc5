"""``mabeam check``, ``mabeam replay`` and ``mabeam mutants --check``: model checks and their traces.

A check prints (or writes as JSON) one verdict per property, and for each
failure the counterexample with node states and an explanation
(:mod:`mabeam.checker.render`); ``--trace-out`` writes the replayable JSON,
``--mermaid`` a sequence diagram, ``--html`` a page that steps through it.
``replay`` re-executes such a file against the current code and says whether the
violation is reproduced; a file it cannot read is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..api.registry import get, source_of
from ..api.verify import build_model
from ..checker import CheckResult, PropertyResult, Trace, check, random_walks, replay_actions
from ..checker.lasso import lasso_fails
from ..checker.mermaid import mermaid
from ..checker.model import ActorModel
from ..checker.render import render_trace, trace_document
from ..core.catalog import Factory, ProtocolEntry
from ..core.errors import MabeamError
from ..core.properties import Kind
from .output import CheckProgress, print_json, task_progress
from .pages import trace_page

#: exit codes of ``mabeam check`` (and the other verbs)
HOLDS, VIOLATED, BAD_ARGUMENTS, INCOMPLETE = 0, 1, 2, 3
EXIT_CODES = {"holds": HOLDS, "violated": VIOLATED, "incomplete": INCOMPLETE}
#: what ``--trace-out`` files say they are
TRACE_FORMAT = "mabeam-check/1"


class TraceFileError(MabeamError):
    """A file given to ``mabeam replay`` is not a trace file ``mabeam check --trace-out`` wrote."""


# ------------------------------------------------------------------ check
def check_to_json(result: CheckResult, model_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": TRACE_FORMAT,
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


def headline(result: CheckResult) -> str:
    if result.verdict == "violated":
        return f"{len(result.failures())} property(ies) FAIL"
    if result.verdict == "incomplete":
        return f"INCOMPLETE: no violation found so far ({result.stats.bound or 'bounded'}); nothing is proven"
    return "every property holds"


def render_check(result: CheckResult, title: str) -> str:
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
    width = max((len(r.property.name) for r in result.results), default=10)
    for r in result.results:
        extra = f"  ({r.note})" if r.note else ""
        kind = r.property.kind.value
        lines.append(f"  {symbol[r.status]} {r.property.id:<8} {r.property.name:<{width}} {kind:<10} {r.status}{extra}")
    for r in result.failures():
        if r.trace is not None and r.status == "violated":
            what = "lasso" if r.trace.loop_start is not None else "shortest trace"
            steps = f"{len(r.trace)} step{'s' if len(r.trace) != 1 else ''}"
            lines.append(f"\n  counterexample to {r.property.id} {r.property.name} ({what}, {steps}):")
            lines.append(render_trace(r.trace, r))
    return "\n".join(lines)


def model_info(entry: ProtocolEntry, model: ActorModel, args: argparse.Namespace,
               overrides: dict[str, Any]) -> dict[str, Any]:
    """What a trace file records to rebuild the same model (the reference too, for a user protocol)."""
    chosen = entry.mutant(args.mutant) if args.mutant else None
    default_faulty = chosen.faulty if chosen and chosen.faulty is not None else entry.default_faulty
    return {"protocol": entry.name, "source": source_of(entry), "agents": model.protocol.n,
            "faulty": args.faulty if args.faulty is not None else default_faulty,  # what build_model used
            "mutant": args.mutant, "depth": args.depth, "max_states": args.max_states,
            **({"views": args.views} if args.views is not None else {}), **overrides}


def cmd_check(args: argparse.Namespace) -> int:
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
    factory = views_factory(entry, args.views, mutant=args.mutant, sweep=args.sweep)
    if args.sweep:
        return _sweep(entry, args, overrides)
    for flag in ("symmetry", "por", "stop_on_violation"):
        if getattr(args, flag):
            overrides[flag] = True
    model = build_model(entry, args.agents, args.faulty, mutant=args.mutant, depth=args.depth,
                        max_states=args.max_states, factory=factory, **overrides)
    info = model_info(entry, model, args, overrides)
    result = _search(args, entry, model, info)
    if args.trace_out:
        Path(args.trace_out).write_text(json.dumps(check_to_json(result, info), indent=2))
    write_pictures(args, result, f"{entry.name}: {headline(result)}")
    if args.json:
        print_json(check_to_json(result, info))
    else:
        print(render_check(result, f"{entry.name}: {headline(result)}"))
    return EXIT_CODES[result.verdict]


def views_factory(entry: ProtocolEntry, views: int | None, *, mutant: str | None = None,
                  sweep: bool = False) -> Factory | None:
    """``--views V``: the entry's standard instance with up to V view changes (protocols that declare one)."""
    if views is None:
        return None
    if entry.views is None:
        from ..api.registry import entries

        having = ", ".join(e.name for e in entries().values() if e.views is not None) or "none"
        raise UsageError(f"{entry.name} has no view changes: --views applies to protocols that declare a "
                         f"view bound ({having})")
    if sweep:
        raise UsageError("--views bounds one check: drop --sweep (the sweep declares its own view bounds)")
    if mutant:
        chosen = entry.mutant(mutant)
        if entry.view_option is None or chosen.build is None:
            raise UsageError(f"--views bounds {entry.name}'s standard instance: it cannot rebuild the mutant "
                             f"{mutant} at another view bound")
        return chosen.with_options(**{entry.view_option: views})
    return entry.views(views)


def _search(args: argparse.Namespace, entry: ProtocolEntry, model: ActorModel, info: dict[str, Any]) -> CheckResult:
    """The search asked for: exhaustive (in this process, over local workers, on Ray), walks or a swarm."""
    quiet = args.json or args.quiet
    workers = _workers(args)
    if args.walks and args.swarm:
        raise UsageError("choose --walks or --swarm")
    if args.walks:
        return random_walks(model, entry.properties, seed=args.seed, walks=args.walks, max_steps=args.steps)
    if args.swarm:
        from ..checker.swarm import swarm_check

        if args.budget is None:
            raise UsageError("--swarm needs --budget SECONDS (the wall time the whole swarm may take)")
        if not quiet:
            print(f"swarm over {entry.name}: {info['agents']} agents, faulty={info['faulty']}, {args.swarm} "
                  f"searches on {workers} {'Ray CPUs' if args.ray else 'processes'}, {args.budget:g} s", flush=True)
        return swarm_check(model, entry.properties, searches=args.swarm, budget=args.budget, workers=workers,
                           ray=args.ray, seed=args.seed)
    if not quiet:
        print(f"checking {entry.name}: {info['agents']} agents, faulty={info['faulty']} "
              f"({entry.fault_model}), network={model.config.network}"
              + (f", mutant {args.mutant}" if args.mutant else "")
              + (f", {workers} workers" if workers > 1 or args.ray else ""), flush=True)
    progress = CheckProgress(quiet=quiet, label=entry.name)
    result = check(model, entry.properties, progress=progress, workers=workers, ray=args.ray)
    progress.done()
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


def _sweep(entry: ProtocolEntry, args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """``check --sweep``: every declared size and bound, exhaustive where it finishes, else bounded and walked."""
    from ..api.verify import sweep_protocol

    if any(getattr(args, flag) is not None for flag in ("agents", "faulty", "mutant", "depth", "max_states")):
        raise UsageError("--sweep checks the protocol's declared points: drop --agents/--faulty/--mutant/--depth/"
                         "--max-states (or run one point without --sweep)")
    rows = sweep_protocol(entry.name, seed=args.seed, **overrides)
    table = [row.to_json() for row in rows]
    violated = any(r["violated"] for r in table)
    # a point searched exhaustively may still leave a verdict open (liveness over the memory budget)
    incomplete = any(r["mode"] != "exhaustive" or "incomplete" in r["verdicts"].values() for r in table)
    verdict = "violated" if violated else "incomplete" if incomplete else "holds"
    total = round(sum(r["seconds"] for r in table), 3)
    if args.json:
        print_json({"protocol": entry.name, "sweep": table, "seconds": total, "verdict": verdict,
                    "exit_code": EXIT_CODES[verdict]})
        return EXIT_CODES[verdict]
    print(f"{entry.name} sweep: {len(table)} points, {total:.1f} s")
    print(f"  {'point':<52} {'n':>3} {'f':>2}  {'mode':<13} {'states':>10} {'depth':>5} {'seconds':>8}  verdicts")
    for r in table:
        states = f"{r['states']:,}"
        print(f"  {r['label']:<52} {r['agents']:>3} {r['faulty']:>2}  {r['mode']:<13} {states:>10} "
              f"{r['depth']:>5} {r['seconds']:>8.1f}  {sweep_verdicts(r)}")
        if r["walk_states"] is not None:
            print(f"  {'':<52} {'':>3} {'':>2}  {'  + walks':<13} {r['walk_states']:>10,} {r['walk_depth']:>5} "
                  f"{r['walk_seconds']:>8.1f}  ({r['walks']['walks']} seeded walks x {r['walks']['steps']} steps; "
                  f"search stopped by {r['bound']})")
    return EXIT_CODES[verdict]


def sweep_verdicts(row: dict[str, Any]) -> str:
    """One sweep row's verdicts in a line: what failed, else how many hold and what was not judged."""
    if row["violated"]:
        return "VIOLATED " + ", ".join(row["violated"])
    counts: dict[str, list[str]] = {}
    for pid, status in row["verdicts"].items():
        counts.setdefault(status, []).append(pid)
    parts = [f"{len(ids)} {status}" for status, ids in counts.items() if status in ("holds", "reached")]
    parts += [f"{status}: {', '.join(ids)}" for status, ids in counts.items() if status not in ("holds", "reached")]
    lead = "" if row["mode"] == "exhaustive" else "no violation found (not exhaustive); "
    return lead + "; ".join(parts)


class UsageError(MabeamError):
    """Options that parse but make no sense together."""


def _drawn(result: CheckResult) -> PropertyResult | None:
    """The trace worth drawing: the first counterexample, else the first witness."""
    for r in result.failures():
        if r.trace is not None and r.status == "violated":
            return r
    return next((r for r in result.results if r.status == "reached" and r.trace is not None), None)


def write_pictures(args: argparse.Namespace, result: CheckResult, title: str) -> None:
    """``--mermaid FILE`` and ``--html FILE``: the first counterexample (or witness) drawn."""
    if not (args.mermaid or args.html):
        return
    chosen = _drawn(result)
    if chosen is None or chosen.trace is None:
        print("mabeam: note: no counterexample or witness trace to draw; --mermaid/--html not written",
              file=sys.stderr)
        return
    write_trace_files(args, chosen.trace, chosen, f"{title}: {chosen.property.id} {chosen.property.name}")


def write_trace_files(args: argparse.Namespace, trace: Trace, result: PropertyResult, title: str) -> None:
    if args.mermaid:
        Path(args.mermaid).write_text(mermaid(trace, result, title=title), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(trace_page(trace_document(trace, result, title=title)), encoding="utf-8")


# ------------------------------------------------------------------ replay
def read_trace_file(path: str) -> dict[str, Any]:
    """The JSON a trace file holds, checked for the shape ``check --trace-out`` writes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TraceFileError(f"{path}: not a text file (expected the JSON of `mabeam check --trace-out`)") from None
    except json.JSONDecodeError as exc:
        raise TraceFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); expected the file "
                             "`mabeam check --trace-out` writes") from None
    if not isinstance(data, dict):
        raise TraceFileError(f"{path}: expected a JSON object written by `mabeam check --trace-out`, "
                             f"got a JSON {type(data).__name__}")
    model, props = data.get("model"), data.get("properties")
    if not isinstance(model, dict):
        raise TraceFileError(f"{path}: no 'model' object (which protocol, agents, faulty)")
    if not isinstance(model.get("protocol"), str):
        raise TraceFileError(f"{path}: model.protocol must be a protocol name")
    for key in ("agents", "faulty"):
        if isinstance(model.get(key), bool) or not isinstance(model.get(key), int) or model[key] < 0:
            raise TraceFileError(f"{path}: model.{key} must be a non-negative integer")
    if not isinstance(props, list) or not all(isinstance(p, dict) and isinstance(p.get("id"), str) for p in props):
        raise TraceFileError(f"{path}: 'properties' must be a list of objects with an 'id'")
    for p in props:
        if "trace" in p:
            _check_trace(path, p["id"], p["trace"])
    return data


def _check_trace(path: str, pid: str, trace: Any) -> None:
    steps = trace.get("steps") if isinstance(trace, dict) else None
    if not isinstance(steps, list) or not steps:
        raise TraceFileError(f"{path}: the trace of {pid} has no 'steps' list")
    for i, step in enumerate(steps):
        action = step.get("action", ...) if isinstance(step, dict) else ...
        if action is not None and not (isinstance(action, list) and len(action) == 3
                                       and all(isinstance(x, str) for x in action)):
            raise TraceFileError(f"{path}: step {i} of the trace of {pid} has no valid 'action' "
                                 "(null or [kind, agent, detail])")
    loop = trace.get("loop_start")
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int) or not 0 <= loop < len(steps)):
        raise TraceFileError(f"{path}: the trace of {pid} has an invalid loop_start {loop!r}")


def reproduced(model: ActorModel, kind: Kind, prop: Any, trace: Trace) -> bool:
    """Whether the replayed trace still shows what the file says it shows."""
    last = model.snapshot(trace.steps[-1].world)
    if kind is Kind.ALWAYS:
        return not prop.holds(last)
    if kind is Kind.SOMETIMES:
        return bool(prop.holds(last))
    if kind is Kind.STEP:
        if len(trace.steps) < 2:
            return False
        before = model.snapshot(trace.steps[-2].world)
        return not prop.holds_on_step(before, trace.steps[-1].action, last)
    return lasso_fails(model, prop, trace, trace.loop_start)  # a weakly fair run on which it never holds


def cmd_replay(args: argparse.Namespace) -> int:
    data = read_trace_file(args.file)
    info = data["model"]
    entry = get(info.get("source") or info["protocol"])
    # the settings that change which actions exist (reductions and stop rules only change the search)
    overrides = {k: v for k, v in info.items()
                 if k in ("network", "drops", "duplicates", "adversary") and v is not None}
    views = info.get("views")
    factory = (views_factory(entry, views, mutant=info.get("mutant")) if isinstance(views, int)
               and not isinstance(views, bool) else None)
    model = build_model(entry, info["agents"], info["faulty"], mutant=info.get("mutant"), factory=factory,
                        **overrides)
    by_id = {p.id: p for p in entry.properties}
    chosen = [p for p in data["properties"] if "trace" in p and (not args.property or p["id"] == args.property)]
    if not chosen:
        raise TraceFileError(f"{args.file}: holds no counterexample trace"
                             + (f" for {args.property}" if args.property else "") + " to replay")
    outcomes, ok = [], True
    for prop in chosen:
        if prop["id"] not in by_id:
            raise TraceFileError(f"{args.file}: {entry.name} has no property {prop['id']}")
        prop_obj = by_id[prop["id"]]
        trace = replay_actions(model, [s.get("action") for s in prop["trace"]["steps"]])
        trace.loop_start = prop["trace"].get("loop_start")
        again = reproduced(model, prop_obj.kind, prop_obj, trace)
        ok &= again
        status = "violated" if prop_obj.kind is not Kind.SOMETIMES else "reached"
        result = PropertyResult(prop_obj, status, trace)
        outcomes.append({"id": prop_obj.id, "name": prop_obj.name, "steps": len(trace), "reproduced": again,
                         "trace": trace_document(trace, result)})
        if not args.json:
            print(f"{prop_obj.id} {prop_obj.name}: replayed {len(trace)} steps; "
                  + ("violation reproduced" if again else "violation NOT reproduced"))
            print(render_trace(trace, result))
        if args.mermaid or args.html:
            write_trace_files(args, trace, result, f"{entry.name} (replayed): {prop_obj.id} {prop_obj.name}")
    if args.json:
        print_json({"file": args.file, "protocol": entry.name, "ok": ok, "properties": outcomes})
    return HOLDS if ok else VIOLATED


# ------------------------------------------------------------------ mutants
def cmd_mutants(args: argparse.Namespace) -> int:
    from ..api.registry import entries

    chosen = {e.name: e for e in ([get(args.protocol)] if args.protocol else entries().values())}
    rows: list[dict[str, Any]] = [{"protocol": e.name, "name": m.name, "description": m.description,
                                   "breaks": list(m.breaks)} for e in chosen.values() for m in e.mutants]
    if args.check:
        with task_progress(len(rows), quiet=args.quiet or args.json, label="mutants ") as advance:
            for row in rows:
                row.update(catch_mutant(chosen[row["protocol"]], row["name"]))
                advance(f"{row['protocol']} {row['name']}")
    if args.json:
        print_json({"mutants": rows, "ok": all(r.get("caught", True) for r in rows)})
    else:
        for row in rows:
            line = f"{row['protocol']} {row['name']} {row['description']}"
            if args.check:
                line += (f"  [caught: {row['property']} in {row['seconds']:.2f}s]" if row["caught"]
                         else f"  [MISSED: {row['verdict']}]")
            print(line)
    return HOLDS if all(r.get("caught", True) for r in rows) else VIOLATED


def catch_mutant(entry: ProtocolEntry, name: str) -> dict[str, Any]:
    """Check one mutant at its declared size: caught when a property it claims to break is violated."""
    m = entry.mutant(name)
    result = check(build_model(entry, mutant=name), entry.properties)
    hits = [r for r in result.failures() if r.property.id in m.breaks]
    return {"caught": bool(hits), "property": hits[0].property.id if hits else None, "verdict": result.verdict,
            "trace_length": len(hits[0].trace) if hits and hits[0].trace is not None else None,
            "states": result.stats.distinct_states, "seconds": round(result.stats.seconds, 3)}
