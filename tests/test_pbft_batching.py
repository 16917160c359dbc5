"""PBFT request batching (spec/pbft.md, "Batching"): correctness, not speed."""

from __future__ import annotations

import asyncio

import pytest

from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.core import Broadcast, ConfigurationError, Membership, SetTimer
from mabeam.core.auth import SymbolicAuthenticator
from mabeam.protocols.pbft import ENTRY, PBFTReplica, PrePrepare, build_checked
from mabeam.protocols.pbft.batching import BATCH_TIMER, SEPARATOR, batch_digest, operations
from mabeam.protocols.pbft.config import PBFTConfig, signed_requests
from mabeam.protocols.pbft.messages import request_digest
from mabeam.runtime.runtime import AsyncRuntime


def _replica(requests: int, batch_size: int, batch_timeout: float = 0.0, window: int = 4) -> PBFTReplica:
    membership = Membership.of_size(4)
    auth = SymbolicAuthenticator((*membership.agents, "client"))
    reqs = signed_requests(auth, "s0", [("client", f"op{i}") for i in range(requests)])
    seqs = -(-requests // max(batch_size, 1))
    return PBFTReplica(PBFTConfig(membership=membership, f=1, auth=auth, requesters=("client",), requests=reqs,
                                  max_view=0, max_seq=seqs, watermark_window=window, checkpoint_interval=2,
                                  base_timeout=60.0, batch_size=batch_size, batch_timeout=batch_timeout))


def test_a_batch_of_one_is_the_unbatched_proposal() -> None:
    replica = _replica(3, 1)
    request = replica.config.requests[0]
    assert batch_digest((request,)) == request_digest(request) and batch_digest(()) == request_digest(None)
    assert operations("x") == ["x"] and operations("(null)") == []


@pytest.mark.parametrize("batch_size", [1, 2])
def test_the_standard_check_is_unchanged_by_batching(batch_size: int) -> None:
    """Two requests, one sequence number: batch size 2 orders both in one pre-prepare and the
    state count is the unbatched one (the batch replaces the single request)."""
    model = build_model(ENTRY, 4, 1, factory=lambda n, f: build_checked(n, f, batch_size=batch_size))
    result = check(model, ENTRY.properties)
    assert result.ok and result.stats.complete and result.stats.distinct_states == 22_849


def test_the_primary_proposes_full_batches_and_times_a_partial_one() -> None:
    replica = _replica(5, 2, batch_timeout=0.5)
    step = replica.start("a0")
    proposals = [e.message for e in step.effects if isinstance(e, Broadcast) and isinstance(e.message, PrePrepare)]
    assert [(pp.seq, len(pp.more) + 1) for pp in proposals] == [(1, 2), (2, 2)]
    assert SetTimer(BATCH_TIMER, 0.5) in step.effects  # the fifth request waits (seq 3)
    fired = replica.fire("a0", step.state, BATCH_TIMER)
    [partial] = [e.message for e in fired.effects if isinstance(e, Broadcast)]
    assert isinstance(partial, PrePrepare) and (partial.seq, partial.request, partial.more) == (
        3, replica.config.requests[4], ())


def test_a_batch_with_a_foreign_or_repeated_request_is_refused() -> None:
    replica = _replica(4, 2)
    q0, q1 = replica.config.requests[:2]
    sign = replica.signer("a0").sign
    state = replica.start("a1").state
    repeated = sign(PrePrepare(session="s0", sender="a0", view=0, seq=1, digest=batch_digest((q0, q0)),
                               request=q0, more=(q0,)))
    assert [e.reason for e in replica.receive("a1", state, repeated).effects] == ["bad-request"]  # type: ignore[attr-defined]
    wrong = sign(PrePrepare(session="s0", sender="a0", view=0, seq=1, digest=request_digest(q0),
                            request=q0, more=(q1,)))
    assert [type(e).__name__ for e in replica.receive("a1", state, wrong).effects] == ["Reject"]


def test_a_live_run_executes_every_request_once_in_order_across_checkpoints() -> None:
    replica = _replica(40, 8)
    result = asyncio.run(AsyncRuntime(replica, timeout=30, monitor="end").run())
    assert not result.violations()
    for agent in replica.agents:
        values = [d.value for d in sorted(result.decisions[agent], key=lambda d: d.instance)]
        assert [op for v in values for op in v.split(SEPARATOR)] == [f"op{i}" for i in range(40)]
        assert len(values) == 5


def test_batch_settings_are_validated() -> None:
    with pytest.raises(ConfigurationError):
        _replica(2, 0)
    with pytest.raises(ConfigurationError):
        _replica(2, 2, batch_timeout=float("nan"))
