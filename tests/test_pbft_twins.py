"""Twins (two honest copies under one identity) against PBFT: agreement still holds."""

from __future__ import annotations

import pytest

from mabeam.checker import ActorModel, CheckConfig, check, random_walks
from mabeam.checker.twins import Twins
from mabeam.core import UnknownAgentError
from mabeam.protocols.pbft import ENTRY, build_checked
from mabeam.protocols.pbft.properties import faulty

#: PBFT-A2 reads a history these configurations do not keep (it is reported not-checked here)
SAFETY = [p for p in ENTRY.properties if p.kind.value == "always" and p.id != "PBFT-A2"]


def _twins_model(identity: str, max_view: int, **config: object) -> ActorModel:
    return ActorModel(Twins(build_checked(4, 1, max_view=max_view), identity),
                      CheckConfig(network="duplicating", **config))


def test_twinned_identity_is_two_agents_and_counts_as_faulty() -> None:
    model = _twins_model("a1", 1)
    assert model.protocol.agents == ("a0", "a1", "a2", "a3", "a1.twin")
    snap = model.snapshot(model.initial())
    assert faulty(snap) == {"a1", "a1.twin"}
    with pytest.raises(UnknownAgentError):
        Twins(build_checked(4, 1), "zz")


@pytest.mark.parametrize("identity, max_view", [("a0", 0), ("a1", 1)])
def test_agreement_holds_with_a_twinned_replica(identity: str, max_view: int) -> None:
    """Random runs: the twinned primary or next primary may equivocate; honest replicas still agree."""
    result = random_walks(_twins_model(identity, max_view), ENTRY.properties, seed=7, walks=60, max_steps=80)
    statuses = {r.property.id: r.status for r in result.results}
    assert all(statuses[p.id] == "incomplete" for p in SAFETY)  # bounded: no violation found so far
    assert statuses["PBFT-R1"] == "reached"


def test_bounded_search_with_a_twinned_next_primary_finds_no_violation() -> None:
    """Bounded BFS: the twinned view-1 primary's copies may diverge (one times out, one does not)."""
    result = check(_twins_model("a1", 1, max_depth=6), ENTRY.properties)
    statuses = {r.property.id: r.status for r in result.results}
    assert all(statuses[p.id] == "incomplete" for p in SAFETY)  # bounded: no violation found so far
    plain = check(ActorModel(build_checked(4, 1, max_view=1), CheckConfig(network="duplicating", max_depth=6)),
                  ENTRY.properties)
    assert result.stats.distinct_states > plain.stats.distinct_states  # the twin copy adds behaviours
