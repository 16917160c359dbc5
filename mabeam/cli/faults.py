"""``mabeam faults``: one fault-injection run across OS processes on loopback, judged by replaying the logs."""

from __future__ import annotations

import argparse
import json

from ..core.errors import ConfigurationError
from ..faults import FaultPlan, FaultReport, default_plan, run_faults
from ..faults.builds import BUILDERS, agents_of, default_agents, machine_class
from ..faults.harness import MAX_PROCESSES
from .checking import HOLDS, VIOLATED


def _nodes(text: str, count: int) -> list[int]:
    if not text:
        return list(range(count))
    try:
        nodes = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigurationError(f"--mutant-nodes takes node indices like 0,2, got {text!r}") from None
    if any(not 0 <= i < count for i in nodes):
        raise ConfigurationError(f"--mutant-nodes: this run has nodes 0..{count - 1}")
    return nodes


def _tuples(value: object) -> object:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _plan_changes(text: str | None) -> dict[str, object]:
    """``--plan``: a JSON object of :class:`FaultPlan` fields replacing the default plan's."""
    if not text:
        return {}
    try:
        changes = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--plan must be a JSON object: {exc}") from None
    fields = {"delay", "partition", "kills", "spoof_at"}
    if not isinstance(changes, dict) or not set(changes) <= fields:
        raise ConfigurationError(f"--plan takes an object with some of {sorted(fields)}, got {text!r}")
    return {k: _tuples(v) for k, v in changes.items()}


def faults(args: argparse.Namespace) -> int:
    if args.protocol not in BUILDERS:
        raise ConfigurationError(f"mabeam faults runs {', '.join(BUILDERS)}; got {args.protocol!r}")
    n = args.agents or default_agents(args.protocol)
    count = min(len(agents_of(args.protocol, n)), MAX_PROCESSES)
    if args.mutant is not None:
        machine_class(args.protocol, args.mutant)  # an unknown mutant is a usage error, before any process starts
    mutants = {i: args.mutant for i in _nodes(args.mutant_nodes, count)} if args.mutant else {}
    base = default_plan(args.protocol, count, machine_class(args.protocol, None).durable_type is not None)
    plan = FaultPlan(**{**base.to_json(), "duration": args.seconds, **_plan_changes(args.plan)})
    report = run_faults(args.protocol, n, plan=plan, mutants=mutants, inputs=args.inputs, work=args.keep)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(render(report))
    return HOLDS if report.ok else VIOLATED


def render(report: FaultReport) -> str:
    replay = report.replay
    lines = [f"{report.protocol}: {report.agents} agents in {len(report.nodes)} processes "
             f"({report.wall_seconds:.1f} s); mutants: {report.mutants or 'none'}",
             f"plan: {report.plan}",
             f"logs: {replay.records} records, {replay.states} states, {replay.sent} sends, "
             f"{len(replay.decisions)} agents decided {sorted({v for vs in replay.decisions.values() for v in vs})}; "
             f"{replay.signatures_valid} of {replay.signed} signed messages verify",
             f"outsider: {report.outsider.attempts} attempts, {report.outsider.got_through} got through; "
             f"nodes refused {replay.rejected}",
             f"exits per node and incarnation: {report.exits}"]
    for verdict in replay.verdicts.values():
        where = f"  after {verdict.at}" if verdict.at else ""
        lines.append(f"  {verdict.id:<10} {verdict.status:<9} {verdict.name} (judged on {verdict.checks} cuts){where}")
    if replay.not_judged:
        lines.append(f"  not judged on logs (liveness, reachability, steps): {', '.join(replay.not_judged)}")
    lines += [f"error: {e}" for e in report.errors]
    lines.append("SAFE" if report.safe else f"VIOLATED: {', '.join(replay.violations())}")
    if not report.spoofing_refused:
        lines.append("FAILED: an outsider's connection got through or was not counted")
    if not report.signatures_ok:
        lines.append(f"FAILED: {replay.signed - replay.signatures_valid} logged signed messages do not verify")
    return "\n".join(lines)
