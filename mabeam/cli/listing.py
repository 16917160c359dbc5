"""``mabeam protocols`` and ``mabeam prove``: what is registered, and the Z3 checks of each."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from ..api.registry import entries, get, problems, source_of
from ..core.catalog import ProtocolEntry
from ..core.errors import UnknownProtocolError
from ..core.properties import Kind
from .output import print_json


def protocol_row(entry: ProtocolEntry) -> dict[str, Any]:
    kinds = {k: sum(1 for p in entry.properties if p.kind is k) for k in Kind}
    return {"name": entry.name, "fault_model": entry.fault_model, "summary": entry.summary,
            "safety": kinds[Kind.ALWAYS] + kinds[Kind.STEP], "liveness": kinds[Kind.EVENTUALLY],
            "reachability": kinds[Kind.SOMETIMES], "mutants": len(entry.mutants),
            "spec": entry.spec if source_of(entry) is None or entry.spec_path else "none",
            "source": source_of(entry) or "built in", "default_agents": entry.default_agents,
            "default_faulty": entry.default_faulty}


def cmd_protocols(args: argparse.Namespace) -> int:
    rows = [protocol_row(e) for e in entries().values()]
    if args.json:
        print_json({"protocols": rows, "problems": problems()})
        return 0
    name_w = max(len(r["name"]) for r in rows)
    fault_w = max(len(r["fault_model"]) for r in rows)
    for r in rows:
        extra = "" if r["source"] == "built in" else f"; from {r['source']}"
        print(f"{r['name']:<{name_w}}  {r['fault_model']:<{fault_w}}  {r['summary']}  "
              f"[{r['safety']} safety, {r['liveness']} liveness, {r['reachability']} reachability; "
              f"{r['mutants']} mutants; spec {r['spec']}{extra}]")
    for problem in problems():
        print(f"mabeam: warning: {problem}", file=sys.stderr)
    return 0


def has_proofs(entry: ProtocolEntry) -> bool:
    """Whether the protocol's Z3 module can be imported (a user protocol may have none)."""
    try:
        return entry.proofs in sys.modules or importlib.util.find_spec(entry.proofs) is not None
    except (ImportError, ValueError):
        return False


def cmd_prove(args: argparse.Namespace) -> int:
    from ..api.proofs import run_proofs

    if args.protocol:
        entry = get(args.protocol)
        if not has_proofs(entry):
            raise UnknownProtocolError(f"{entry.name} has no Z3 model (module {entry.proofs} not found; "
                                       "declare ProtocolEntry(proof_module=...))")
        chosen = [(args.protocol, entry)]
    else:
        chosen = [(e.name, e) for e in entries().values() if has_proofs(e)]
    everything: list[dict[str, Any]] = []
    ok = True
    for reference, entry in chosen:
        for r in run_proofs(reference):
            ok &= r.ok
            everything.append({"protocol": entry.name, **r.to_json()})
            if not args.json:
                mark = "✓" if r.ok else "✗"
                print(f"  {mark} {entry.name:<10} {r.id:<8} {r.name:<60} {r.status} ({r.seconds:.2f}s)"
                      + (f"\n      {r.detail}" if r.detail and not r.ok else ""))
    if args.json:
        print_json({"ok": ok, "proofs": everything})
    elif ok:
        print(f"all {len(everything)} Z3 checks proved")
    return 0 if ok else 1
