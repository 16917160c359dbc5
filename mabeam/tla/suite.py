"""The runs and mutants trace validation is held to (``tests/test_tla_trace.py`` asserts the verdicts,
``benchmarks/tla_trace.py`` measures them): one list each, so the figures are of the tested traces."""

from __future__ import annotations

#: (seed, faults) of the validated simulator runs of every protocol
RUNS = [(1, False), (2, False), (2, True), (3, True)]

#: mutants whose checker counterexample TLC must reject: (protocol, mutant, event of the first unmatched step
#: ("init": the initial state already is not one of the spec's))
MUTANTS = [
    ("majority", "quorum-off-by-one", "init"),
    ("majority", "accept-unknown-sender", "receives Vote(value='forged') from intruder"),
    ("majority", "forget-decision", "receives Vote"),
    ("weighted", "threshold-inclusive", "receives Vote(value='x') from a3"),
    ("weighted", "trust-self-reported-weight", "receives ClaimedWeightVote"),
    ("iterative", "no-trimming", "timer 'grace' fires"),
    ("iterative", "keep-own-value", "receives RoundValue"),
    ("iterative-categorical", "invent-answer", "receives Proposal"),
    ("adaptive", "smaller-switch-quorum", "timer 'stage-0' fires"),
    ("adaptive", "fallback-after-byzantine-decision", "timer 'stage-0' fires"),
]


#: (seed, faults) of the validated asyncio runtime runs of every protocol (real time: not reproducible)
RUNTIME_RUNS = [(1, False), (2, True), (3, True)]

#: mutants whose runtime run (at the cfg's instance) TLC must reject: (protocol, mutant, faults, event of the
#: first unmatched step); the runs of the honest code with the same seeds are accepted (RUNTIME_RUNS)
RUNTIME_MUTANTS = [
    ("majority", "quorum-off-by-one", False, "init"),
    ("majority", "forget-decision", False, "deliver Vote"),
    ("weighted", "threshold-inclusive", True, "deliver Vote"),
    ("iterative", "keep-own-value", False, "timer grace"),
    ("iterative", "no-trimming", True, "deliver RoundValue"),
    ("iterative-categorical", "invent-answer", False, "deliver Proposal"),
]

#: mutants whose seeded simulator run, at the cfg's instance (:meth:`~.mapping.Mapping.mutant_instance`), TLC must
#: reject: (protocol, mutant, seed, faults, event of the first unmatched step); the honest code's runs with the
#: same (seed, faults) are in RUNS, accepted. PBFT and Hierarchical, whose registry checks the mutants at bounds
#: or layouts the cfgs do not model, are validated this way.
SIMULATED_MUTANTS = [
    ("pbft", "quorum-2f", 1, False, "deliver PrePrepare"),
    ("pbft", "commit-without-prepared", 1, False, "deliver PrePrepare"),
    ("pbft", "unchecked-request", 2, True, "deliver PrePrepare"),
    ("pbft", "certificate-unverified", 2, True, "deliver Decided"),
    ("pbft", "checkpoint-f-plus-1", 3, True, "redeliver Checkpoint"),
    ("hierarchical", "decide-below-threshold", 1, False, "deliver GroupCertificate"),
    ("hierarchical", "consume-uncertified-output", 3, True, "deliver GroupVote"),
]
