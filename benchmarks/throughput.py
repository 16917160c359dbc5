"""Throughput and scale benchmark (issue 15): batched PBFT requests/s, linear weighted voting, PBFT latency.

    python -m benchmarks.throughput            # one JSON object
    python -m benchmarks.throughput --quick    # fewer runs and requests (seconds)

Rows (medians over ``--runs`` runs, each with its own seed and keys):

- ``pbft-requests``: n = 4 replicas, ``--requests`` signed client requests ordered in batches of
  ``--batch`` (Ed25519), in-process (asyncio runtime) and over TLS on loopback (one node per replica,
  :func:`mabeam.runtime.run_local_cluster`). requests/s = requests / the last honest replica's
  last decision (wall); ``requests_per_cpu_s`` divides by the process CPU time of the whole run
  instead, which the machine's load distorts less. Unbatched (batch 1) rows are given for reference.
- ``weighted-latency``: the runtime's time to the last decision at 50 and 200 agents, all-to-all
  and linear mode (Ed25519-signed votes to a collector, which broadcasts a certificate), on the
  runtime's default network (1 ms one-way links). ``weighted-latency-helper``: linear at 200
  agents with the signature helper on and off (``verify_ahead``), alternating run by run.
- ``pbft-latency``: :func:`benchmarks.pbft.measure` at 13 and 100 agents (runtime driver, links
  without delay), all-to-all and linear communication (prepares and commits through the view's
  primary, relayed in bundles; spec/pbft.md), plus the median CPU ms of those runs. ``messages``
  counts every message of the run: a session orders one request and takes no checkpoint, so
  2n(n-1) all-to-all and 5(n-1) linear.

``machine`` also holds ``calibration_before`` and ``calibration_after``: Ed25519 sign and verify
microseconds measured just before and after the rows (:func:`crypto_calibration`).

Every run must decide with no violated property, or the benchmark stops with an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from nacl.signing import SigningKey

from benchmarks.pbft import one_run
from benchmarks.signatures import per_op_us
from mabeam.core import Membership
from mabeam.lab.workloads import agents_of, expertise, weighted_ballots
from mabeam.protocols.pbft import Ed25519Authenticator, PBFTConfig, PBFTReplica, signed_requests
from mabeam.protocols.weighted import LinearWeightedVoting, WeightedVoting
from mabeam.runtime import AsyncRuntime, ahead, generate_cluster, run_local_cluster, split

SEPARATOR = "\x1f"  # joins a batch's operations in its decided value (spec/pbft.md, "Batching")

CLIENT = "client"
WINDOW, CHECKPOINT = 10, 5  # sequence numbers in flight, and a checkpoint every 5
BIG_FRAMES = {"max_frame": 16 << 20, "max_buffered_bytes": 64 << 20, "max_connection_bytes": 32 << 20,
              "max_queue_bytes": 64 << 20}  # a batch of 100 requests makes the NEW-VIEW bound a few MB


def _pbft(auth: Any, session: str, requests: int, batch: int) -> PBFTReplica:
    membership = Membership.of_size(4)
    signed = signed_requests(auth, session, [(CLIENT, f"op{i}") for i in range(requests)])
    return PBFTReplica(PBFTConfig(membership=membership, f=1, auth=auth, requesters=(CLIENT,), requests=signed,
                                  session=session, max_view=0, max_seq=-(-requests // batch),
                                  watermark_window=WINDOW, checkpoint_interval=CHECKPOINT, base_timeout=60.0,
                                  batch_size=batch))


def _executed(decisions: Any) -> int:
    return sum(len(d.value.split(SEPARATOR)) for d in decisions)


def pbft_requests(transport: str, requests: int, batch: int, seed: int, tls_seconds: float) -> dict[str, float]:
    agents = Membership.of_size(4).agents
    session = f"t{seed}"
    cpu = time.process_time()
    if transport == "in-process":
        protocol = _pbft(Ed25519Authenticator((*agents, CLIENT), seed=session), session, requests, batch)
        cpu = time.process_time()  # keys and signed requests are setup
        result = asyncio.run(AsyncRuntime(protocol, seed=seed, timeout=120.0, monitor="end").run())
        results, violations = [result], result.violations()
    else:
        keys = generate_cluster(agents, (CLIENT,))
        protocol = _pbft(keys.authenticator((*agents, CLIENT)), session, requests, batch)
        cpu = time.process_time()
        run = asyncio.run(run_local_cluster(protocol, split(agents, 4), keys=keys, timeout=tls_seconds,
                                            stop_when_decided=False, monitor="end", transport_options=BIG_FRAMES))
        results, violations = run.results, run.violations()
    cpu = time.process_time() - cpu
    done = {a: _executed(ds) for r in results for a, ds in r.decisions.items()}
    if violations or sorted(done) != list(agents) or set(done.values()) != {requests}:
        raise RuntimeError(f"pbft {transport} batch={batch} seed={seed}: executed {done}, violated {violations}")
    last = max(d.at for r in results for ds in r.decisions.values() for d in ds)
    return {"requests_per_s": requests / last, "requests_per_cpu_s": requests / cpu, "last_decision_ms": last * 1000,
            "messages": sum(r.messages.sent for r in results)}


def weighted_latency(n: int, communication: str, seed: int, verify_ahead: bool | None = None) -> dict[str, float]:
    agents = agents_of(n)
    weights = expertise(agents)
    inputs = weighted_ballots(weights, seed)
    membership = Membership(agents)
    protocol = (WeightedVoting(membership, inputs, weights) if communication == "all-to-all" else
                LinearWeightedVoting(membership, inputs, weights, auth=Ed25519Authenticator(agents, seed=f"w{seed}")))
    cpu = time.process_time()
    result = asyncio.run(AsyncRuntime(protocol, seed=seed, timeout=120.0, stop_when_decided=True,
                                      monitor="end", verify_ahead=verify_ahead).run())
    cpu = time.process_time() - cpu
    if result.status != "decided" or result.violations():
        raise RuntimeError(f"weighted n={n} {communication} seed={seed}: {result.status} {result.violations()}")
    last = max(d.at for ds in result.decisions.values() for d in ds)
    return {"ms": last * 1000, "cpu_ms": cpu * 1000, "messages": result.messages.sent}


def pbft_latency(n: int, seed: int, communication: str = "all-to-all") -> dict[str, float]:
    cpu = time.process_time()
    row = one_run("runtime", n, 0, seed, communication)
    return {"ms": row["ms"], "cpu_ms": (time.process_time() - cpu) * 1000, "messages": row["messages"]}


def crypto_calibration(count: int = 400, rounds: int = 3) -> dict[str, float]:
    """This machine's Ed25519 cost right now, in microseconds per operation (libsodium, as the runs sign
    and verify): the floor under every latency row, so figures from different machines, or from one
    machine whose speed drifts, can be compared. Medians of ``rounds`` timings of ``count`` operations."""
    key = SigningKey(bytes(range(32)))
    message = bytes(160)  # about a vote's signed bytes
    signed, public = key.sign(message), key.verify_key

    signs, verifies = [], []
    for _ in range(rounds):
        signs.append(per_op_us(lambda: key.sign(message), count))
        verifies.append(per_op_us(lambda: public.verify(signed), count))
    return {"ed25519_sign_us": round(statistics.median(signs), 1),
            "ed25519_verify_us": round(statistics.median(verifies), 1)}


def helper_cpu_seconds() -> float | None:
    """CPU seconds the signature helper process has used so far (Linux /proc; ``None`` without one)."""
    pid = ahead.helper_pid()
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)  # utime + stime


def _median(samples: list[dict[str, float]], key: str, digits: int = 2) -> float:
    return round(statistics.median(s[key] for s in samples), digits)


def run_all(runs: int, requests: int, batch: int, tls_seconds: float) -> dict[str, Any]:
    calibration_before = crypto_calibration()
    rows: list[dict[str, Any]] = []
    for transport in ("in-process", "tls"):
        for size in (batch, 1):
            count = requests if size > 1 else max(20, requests // 20)  # unbatched: fewer, it is slow
            samples = [pbft_requests(transport, count, size, seed, tls_seconds) for seed in range(runs)]
            rows.append({"benchmark": "pbft-requests", "agents": 4, "transport": transport, "batch": size,
                         "requests": count, "runs": runs,
                         "requests_per_s": _median(samples, "requests_per_s", 0),
                         "requests_per_cpu_s": _median(samples, "requests_per_cpu_s", 0),
                         "messages": int(_median(samples, "messages"))})
    for n in (50, 200):
        for communication in ("all-to-all", "linear"):
            samples = [weighted_latency(n, communication, seed) for seed in range(runs)]
            rows.append({"benchmark": "weighted-latency", "agents": n, "communication": communication, "runs": runs,
                         "median_ms": _median(samples, "ms"), "median_cpu_ms": _median(samples, "cpu_ms"),
                         "messages": int(_median(samples, "messages"))})
    # the signature helper's effect, measured alternating run by run (the rows above use the default)
    pairs = [(weighted_latency(200, "linear", seed, True), weighted_latency(200, "linear", seed, False))
             for seed in range(runs)]
    for index, setting in ((0, True), (1, False)):
        samples = [pair[index] for pair in pairs]
        rows.append({"benchmark": "weighted-latency-helper", "agents": 200, "communication": "linear",
                     "verify_ahead": setting, "runs": runs, "median_ms": _median(samples, "ms"),
                     "median_cpu_ms": _median(samples, "cpu_ms"), "messages": int(_median(samples, "messages"))})
    for n in (13, 100):
        for communication in ("all-to-all", "linear"):
            samples = [pbft_latency(n, seed, communication) for seed in range(runs)]
            rows.append({"benchmark": "pbft-latency", "agents": n, "communication": communication, "runs": runs,
                         "median_ms": _median(samples, "ms"), "median_cpu_ms": _median(samples, "cpu_ms"),
                         "messages": int(_median(samples, "messages"))})
    return {
        "benchmark": "throughput", "results": rows,
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": sys.version.split()[0], "calibration_before": calibration_before,
                    "calibration_after": crypto_calibration(), "helper_cpu_s": helper_cpu_seconds()},
        "targets": {"pbft n=4 in-process requests/s": 5000, "pbft n=4 TLS requests/s": 1000,
                    "weighted 200 agents median ms": 20, "pbft 13 agents median ms": 5,
                    "pbft 100 agents median ms": 100},
        "notes": [
            "requests_per_s: wall clock; requests_per_cpu_s: process CPU of the run (setup excluded); on a shared "
            "machine the CPU figure is the closer one to an idle machine's wall clock.",
            "pbft-requests: requests verified once each per process (the authenticator's cache, shared by the "
            "replicas of one process, is warmed by the configuration's own check of every request).",
            f"TLS rows: one node per replica over loopback TLS; each run lasts --tls-seconds ({tls_seconds:g} s) since "
            "a node cannot see the others finish; the rate uses the last decision's time.",
            "weighted/pbft latency: wall ms from the run's start to the last honest decision; cpu_ms the process CPU "
            "of the run (the final property check included; for pbft-latency also the setup: keys, signed request).",
            "machine.calibration_before/after: Ed25519 sign and verify microseconds measured just before and after the "
            "rows (the crypto floor: e.g. linear weighted voting at 200 agents signs 200 votes and its collector "
            "verifies those up to the quorum); a gap between the two shows the machine's speed drifting.",
            "runtime rows run with the runtime's defaults, so with Ed25519 and a second core a helper process "
            "checks signatures ahead of time (mabeam.runtime.ahead); cpu_ms is this process's only, and "
            "machine.helper_cpu_s the helper's over the whole benchmark (it starts with the first run and serves "
            "the rest; a run that finds it not ready yet checks for itself).",
        ],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--tls-seconds", type=float, default=4.0)
    parser.add_argument("--quick", action="store_true", help="3 runs, 400 requests")
    args = parser.parse_args(argv)
    runs, requests = (3, 400) if args.quick else (args.runs, args.requests)
    if runs < 1 or requests < 1 or args.batch < 2:
        parser.error("--runs and --requests must be >= 1 and --batch >= 2")
    report = run_all(runs, requests, args.batch, args.tls_seconds)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
