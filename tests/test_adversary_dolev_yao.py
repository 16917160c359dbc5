"""The protocols' Dolev-Yao adversaries (``adversary.derived``): what they build from learned signed
messages, that they never forge an honest signature, and what they cost the checker.

A derived message of another agent is either one it learned (forwarded as is, a valid signature)
or a relabeling that keeps the signature, which must fail verification or screening.
"""

from __future__ import annotations

from typing import Any

import pytest

from mabeam.api.registry import get
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.core import Message
from mabeam.protocols.adaptive import AdaptiveCoordination, evidence_configuration
from mabeam.protocols.adaptive.messages import Switch
from mabeam.protocols.adaptive.messages import Vote as AdaptiveVote
from mabeam.protocols.hierarchical.messages import GroupCertificate, certificate_fault
from mabeam.protocols.pbft import PBFTReplica, build_checked
from mabeam.protocols.pbft.messages import Commit, Decided, Prepare, PrePrepare, request_digest


def _no_forgery(protocol: Any, faulty: str, knowledge: frozenset[Message], derived: list[Message]) -> None:
    """Every derived message signed by another agent is learned, or does not verify in this session."""
    learned = set(knowledge)
    for m in derived:
        if m.sender == faulty or "signature" not in type(m).__struct_fields__:
            continue
        valid = m.session == protocol.session and protocol.auth.verify(m)
        assert not valid or m in learned or _nested_in(m, knowledge), m


def _nested_in(m: Message, knowledge: frozenset[Message]) -> bool:
    return any(m in _parts(k) for k in knowledge)


def _parts(m: Any) -> set[Any]:
    out = {m}
    for name in getattr(type(m), "__struct_fields__", ()):
        value = getattr(m, name)
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if hasattr(type(v), "__struct_fields__"):
                out |= _parts(v)
    return out


# ------------------------------------------------------------------ PBFT
def _pbft_slot() -> tuple[PBFTReplica, frozenset[Message]]:
    r = build_checked(4, 1, PBFTReplica, adversary="relay")
    request = r.config.requests[0]
    pp = r.signer("a0").sign(PrePrepare(session=r.session, sender="a0", view=0, seq=1,
                                        digest=request_digest(request), request=request))
    votes = [r.signer(a).sign(Commit(session=r.session, sender=a, view=0, seq=1, digest=pp.digest))
             for a in ("a1", "a2")]
    prepare = r.signer("a1").sign(Prepare(session=r.session, sender="a1", view=0, seq=1, digest=pp.digest,
                                          pre_prepare=pp))
    return r, frozenset([pp, prepare, *votes])


def test_pbft_relay_adversary_assembles_a_valid_certificate_and_forges_nothing() -> None:
    r, knowledge = _pbft_slot()
    assert list(r.adversary.messages(r, "a3")) == []  # "relay": nothing signed up front
    derived = [e.message for e in r.adversary.derived(r, "a3", knowledge)]
    decided = [m for m in derived if isinstance(m, Decided)]
    assert any(r.certificate_problem(m.certificate) is None for m in decided)  # a3's commit + a1's + a2's
    short = frozenset(k for k in knowledge if not (isinstance(k, Commit) and k.sender == "a2"))
    padded = [e.message for e in r.adversary.derived(r, "a3", short) if isinstance(e.message, Decided)]
    assert padded and all(r.certificate_problem(m.certificate) == "bad-certificate-senders" for m in padded)
    relabeled = [m for m in derived if isinstance(m, Commit) and m.sender == "a1"
                 and m.signature == next(k for k in knowledge if isinstance(k, Prepare)).signature]
    assert relabeled and not any(r.auth.verify(m) for m in relabeled)  # the kind is bound
    _no_forgery(r, "a3", knowledge, derived)


def test_pbft_static_adversary_is_unchanged_by_the_derived_one() -> None:
    """The static default's space: the figure of tests/test_pbft_mutants.py's standard check."""
    entry = get("pbft")
    result = check(build_model(entry), entry.properties)
    assert result.stats.complete and result.stats.distinct_states == 22_849


# ------------------------------------------------------------------ adaptive
def test_adaptive_adversary_assembles_locks_and_forges_nothing() -> None:
    p = evidence_configuration(AdaptiveCoordination)
    faulty = p.agents[-1]
    honest = [a for a in p.agents if a != faulty]
    knowledge = frozenset(p.signer(a).sign(AdaptiveVote(session=p.session, sender=a, stage=0, value="x"))
                          for a in honest)
    derived = [e.message for e in p.adversary.derived(p, faulty, knowledge)]
    locks = [m.lock for m in derived if isinstance(m, Switch) and m.lock is not None and m.sender == faulty]
    assert any(p.valid_lock(lock) for lock in locks) and any(not p.valid_lock(lock) for lock in locks)
    _no_forgery(p, faulty, knowledge, derived)


def test_adaptive_dolev_yao_explores_more_than_the_static_adversary() -> None:
    """The evidence configuration (n = 3, one Byzantine member): the static space, and the larger one of a
    coalition that also assembles and relabels what it learns; both complete."""
    entry = get("adaptive")
    counts = {}
    for adversary in ("static", "dolev-yao"):
        model = build_model(entry, 3, 1, factory=lambda n, f: evidence_configuration(AdaptiveCoordination),
                            adversary=adversary)
        result = check(model, entry.properties)
        assert result.stats.complete
        assert not [r for r in result.failures() if r.property.kind.value == "always"]
        counts[adversary] = result.stats.distinct_states
    assert counts == {"static": 16_445, "dolev-yao": 19_253}


# ------------------------------------------------------------------ hierarchical
def test_hierarchical_adversary_certifies_learned_votes_and_forges_nothing() -> None:
    entry = get("hierarchical")
    model = build_model(entry, adversary="dolev-yao")
    p: Any = model.protocol
    faulty = sorted(model.config.byzantine)[0]
    group = p.group_of(faulty)
    knowledge = frozenset(p.signed_vote(a, p.inputs[a]) for a in group.members if a not in model.config.byzantine)
    derived = [e.message for e in p.adversary.derived(p, faulty, knowledge)]
    certs = [m for m in derived if isinstance(m, GroupCertificate)]

    def fault(cert: GroupCertificate) -> str | None:
        return certificate_fault(cert, session=p.session, level=0, members=group.members,
                                 quorum=p.quorum(group), auth=p.auth)

    assert any(fault(c) is None for c in certs) and any(fault(c) is not None for c in certs)
    _no_forgery(p, faulty, knowledge, derived)


@pytest.mark.slow
def test_hierarchical_dolev_yao_adds_only_messages_the_judges_refuse() -> None:
    """At the default layout the derived messages change no state: every one is refused or already known."""
    entry = get("hierarchical")
    counts = {}
    for adversary in ("static", "dolev-yao"):
        result = check(build_model(entry, adversary=adversary), entry.properties)
        assert result.stats.complete and result.ok
        counts[adversary] = result.stats.distinct_states
    assert counts == {"static": 32_760, "dolev-yao": 32_760}
