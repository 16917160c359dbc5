"""``mabeam keygen``: a cluster's key material for TLS between nodes and signed protocols."""

from __future__ import annotations

import argparse


def keygen(args: argparse.Namespace) -> int:
    """Write the material (see :mod:`mabeam.runtime.keygen`) and say what goes where."""
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
