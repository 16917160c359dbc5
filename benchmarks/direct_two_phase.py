"""Lamport's TwoPhase.tla as a plain breadth-first search over tuples: the checker's baseline.

No project code: states are ``(rm_states, tm_state, tm_prepared, msgs)`` with
strings, tuples and frozensets; the visited set is a dict from state to parent.
Like the checker it judges TCConsistent and TypeOK on every state and records
whether a state where every RM committed is reached, so both do the same work.
This is the "straightforward BFS a user could write in an afternoon".
"""

from __future__ import annotations

import time

#: TLC's distinct-state counts of TwoPhase.tla by number of RMs
TLC_DISTINCT_STATES: dict[int, int] = {3: 288, 5: 8_832, 6: 50_816, 7: 296_448, 8: 1_745_408}

WORKING, PREPARED, COMMITTED, ABORTED = "working", "prepared", "committed", "aborted"
RM_STATES = frozenset({WORKING, PREPARED, COMMITTED, ABORTED})
TM_STATES = frozenset({"init", COMMITTED, ABORTED})
COMMIT, ABORT = ("Commit",), ("Abort",)


def successors(state: tuple, rms: range) -> list[tuple]:
    rm, tm, prepared, msgs = state
    out = []
    if tm == "init":
        for r in rms:
            if ("Prepared", r) in msgs:
                out.append((rm, tm, prepared | {r}, msgs))  # TMRcvPrepared (a stutter if r is known)
        if len(prepared) == len(rms):
            out.append((rm, COMMITTED, prepared, msgs | {COMMIT}))  # TMCommit
        out.append((rm, ABORTED, prepared, msgs | {ABORT}))  # TMAbort
    for r in rms:
        here = rm[r]
        if here == WORKING:
            out.append((rm[:r] + (PREPARED,) + rm[r + 1:], tm, prepared, msgs | {("Prepared", r)}))  # RMPrepare
            out.append((rm[:r] + (ABORTED,) + rm[r + 1:], tm, prepared, msgs))  # RMChooseToAbort
        if COMMIT in msgs:
            out.append((rm[:r] + (COMMITTED,) + rm[r + 1:], tm, prepared, msgs))  # RMRcvCommitMsg
        if ABORT in msgs:
            out.append((rm[:r] + (ABORTED,) + rm[r + 1:], tm, prepared, msgs))  # RMRcvAbortMsg
    return out


def consistent(state: tuple) -> bool:
    """TCConsistent: no RM committed while another aborted."""
    rm = state[0]
    return not (COMMITTED in rm and ABORTED in rm)


def type_ok(state: tuple, n: int) -> bool:
    rm, tm, prepared, msgs = state
    return (all(s in RM_STATES for s in rm) and tm in TM_STATES and all(0 <= r < n for r in prepared)
            and all(m in (COMMIT, ABORT) or (m[0] == "Prepared" and 0 <= m[1] < n) for m in msgs))


def bfs(n: int) -> dict[str, object]:
    """Every reachable state of TwoPhase with ``n`` RMs; invariants judged on each."""
    started = time.perf_counter()
    rms = range(n)
    init = ((WORKING,) * n, "init", frozenset(), frozenset())
    parent: dict[tuple, tuple | None] = {init: None}
    frontier = [init]
    generated, depth, violations, all_committed = 1, 0, 0, False
    while frontier:
        for state in frontier:
            if not (consistent(state) and type_ok(state, n)):
                violations += 1
            all_committed = all_committed or all(s == COMMITTED for s in state[0])
        nxt = []
        for state in frontier:
            for succ in successors(state, rms):
                generated += 1
                if succ not in parent:
                    parent[succ] = state
                    nxt.append(succ)
        frontier = nxt
        depth += 1 if frontier else 0
    return {"distinct_states": len(parent), "states_generated": generated, "depth": depth,
            "violations": violations, "all_committed_reached": all_committed,
            "seconds": time.perf_counter() - started}
