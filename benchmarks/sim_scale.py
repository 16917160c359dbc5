"""How the discrete-event simulator scales: majority voting at 200 and 500 agents.

    python -m benchmarks.sim_scale [--agents 200 500] [--runs 3] [--network ideal|jittery]

Prints JSON: per agent count, the median wall-clock seconds over ``--runs`` runs,
events processed and messages sent/delivered. Every agent broadcasts once, so the
message count is n(n-1). A second row per size, ``counter``, runs a protocol whose
handler is O(1) (count a message, decide at a majority) through the same path,
which separates the simulator's own cost from the protocol's (majority's handler
scans its tally, so it costs O(n) per message).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from mabeam.core import AgentId, Broadcast, Decide, Membership, Message, Protocol, Step
from mabeam.live.network import Latency, NetworkModel
from mabeam.protocols.majority import MajorityVoting
from mabeam.sim import simulate

NETWORKS = {
    "ideal": NetworkModel(),
    "jittery": NetworkModel(latency=Latency.uniform(0.001, 0.01), loss=0.05, duplication=0.05,
                            retransmit_timeout=0.05),
}


class Hello(Message, frozen=True, tag="bench.hello"):
    pass


class Counter(Protocol):
    """Broadcast once; decide on hearing from a majority. Constant work per message."""

    name = "bench-counter"
    message_types = (Hello,)

    def on_start(self, agent: AgentId) -> Step:
        return Step(1, (Broadcast(Hello(session=self.session, sender=agent)),))

    def on_message(self, agent: AgentId, state: int, message: Message) -> Step:
        heard = state + 1
        return Step(heard, (Decide("quorum"),) if heard == self.n // 2 + 1 else ())


def measure(make: Any, network: NetworkModel, runs: int) -> dict[str, Any]:
    seconds, result = [], None
    for seed in range(runs):
        started = time.perf_counter()
        result = simulate(make(), network, seed=seed)
        seconds.append(time.perf_counter() - started)
        if result.status != "decided":
            raise SystemExit(f"benchmark run did not decide: {result.status}")
    assert result is not None
    return {"seconds_median": round(statistics.median(seconds), 3),
            "seconds": [round(s, 3) for s in seconds], "events": result.events,
            "messages_sent": result.messages.sent, "messages_delivered": result.messages.delivered,
            "property_checks": max((v["checks"] for v in result.properties.values()), default=0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="ideal")
    args = parser.parse_args(argv)
    network = NETWORKS[args.network]
    rows = []
    for n in args.agents:
        members = Membership.of_size(n)
        inputs = {a: ("x" if i % 3 == 0 else "y") for i, a in enumerate(members)}
        rows.append({"protocol": "majority", "agents": n, "network": args.network,
                     **measure(lambda m=members, i=inputs: MajorityVoting(m, i), network, args.runs)})
        print(f"majority n={n}: {rows[-1]['seconds_median']}s", file=sys.stderr, flush=True)
        rows.append({"protocol": "counter", "agents": n, "network": args.network,
                     **measure(lambda m=members: Counter(m), network, args.runs)})
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
