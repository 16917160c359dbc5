"""`python -m benchmarks.throughput` works as the README says: every row decides, and the report has
the shape the closing notes quote (rows, targets, machine with its crypto calibration).

A smoke run with one run per row, few requests and short TLS runs; the figures themselves are
measured by running the script, not asserted here.
"""

from __future__ import annotations

import pytest

from benchmarks.throughput import crypto_calibration, run_all

pytestmark = pytest.mark.slow


def test_a_small_run_fills_every_row_and_the_calibration() -> None:
    report = run_all(runs=1, requests=20, batch=4, tls_seconds=1.5)
    rows = {(r["benchmark"], r.get("transport"), r.get("batch"), r["agents"], r.get("communication"),
             r.get("verify_ahead")) for r in report["results"]}
    assert rows == {
        *{("pbft-requests", t, b, 4, None, None) for t in ("in-process", "tls") for b in (4, 1)},
        *{("weighted-latency", None, None, n, c, None) for n in (50, 200) for c in ("all-to-all", "linear")},
        *{("weighted-latency-helper", None, None, 200, "linear", on) for on in (True, False)},
        *{("pbft-latency", None, None, n, c, None) for n in (13, 100) for c in ("all-to-all", "linear")},
    }
    for row in report["results"]:
        if row["benchmark"] == "pbft-requests":
            assert row["requests_per_s"] > 0 and row["requests_per_cpu_s"] > 0
        else:
            assert row["median_ms"] > 0 and row["median_cpu_ms"] > 0
        if row["benchmark"].startswith("weighted-latency"):  # n(n-1) messages all-to-all, 2(n-1) linear
            n = row["agents"]
            assert row["messages"] == (n * (n - 1) if row["communication"] == "all-to-all" else 2 * (n - 1))
    pbft = {(r["agents"], r["communication"]): r["messages"] for r in report["results"]
            if r["benchmark"] == "pbft-latency"}
    assert all(pbft[n, "linear"] < pbft[n, "all-to-all"] for n in (13, 100))
    machine = report["machine"]
    for when in ("calibration_before", "calibration_after"):
        assert set(machine[when]) == {"ed25519_sign_us", "ed25519_verify_us"}
        assert all(us > 0 for us in machine[when].values())
    assert machine["helper_cpu_s"] is None or machine["helper_cpu_s"] >= 0
    assert set(report["targets"]) == {
        "pbft n=4 in-process requests/s", "pbft n=4 TLS requests/s", "weighted 200 agents median ms",
        "pbft 13 agents median ms", "pbft 100 agents median ms"}


def test_verification_costs_more_than_signing() -> None:
    """Ed25519 verification does about twice a signature's scalar work: a calibration that says
    otherwise timed something else."""
    calibration = crypto_calibration()
    assert calibration["ed25519_verify_us"] > calibration["ed25519_sign_us"] > 0
