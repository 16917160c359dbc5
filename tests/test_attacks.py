"""Attack strategies in isolation: what each sends, that it holds only its own key, determinism."""

from __future__ import annotations

import pytest

from mabeam.attacks import (
    ATTACKS,
    Delaying,
    Equivocating,
    Forging,
    MessageAdapter,
    Replaying,
    Silent,
    make_attack,
)
from mabeam.attacks.pbft import pbft_adapter
from mabeam.core import ConfigurationError, Membership, SeededRandom, Send, SetTimer, UnknownAgentError
from mabeam.live.network import Latency, NetworkModel
from mabeam.live.strategy import HonestStrategy, Strategy
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import Ed25519Authenticator, PBFTReplica, conflicting, make_config, verify_evidence
from mabeam.protocols.pbft.messages import Prepare, PrePrepare
from mabeam.sim import simulate


def pbft(n: int = 4) -> PBFTReplica:
    agents = Membership.of_size(n).agents
    auth = Ed25519Authenticator((*agents, "c0", "c1"))
    return PBFTReplica(make_config(n, auth=auth))


def attack(cls, agent: str = "a0", protocol: PBFTReplica | None = None, seed: int = 0, **options):  # type: ignore[no-untyped-def]
    protocol = protocol or pbft()
    strategy = cls(HonestStrategy(agent, protocol), pbft_adapter(protocol, agent), **options)
    strategy.attach(SeededRandom(seed).derive(f"strategy/{agent}"))
    return protocol, strategy


def sends(effects) -> list[Send]:  # type: ignore[no-untyped-def]
    return [e for e in effects if isinstance(e, Send)]


# ------------------------------------------------------------------ only its own key
def test_the_adapter_signs_only_as_the_attacker() -> None:
    protocol = pbft()
    adapter = pbft_adapter(protocol, "a0")
    own = Prepare(session="s0", sender="a0", view=0, seq=1, digest=b"d")
    assert protocol.auth.verify(adapter.resign(own))
    with pytest.raises(UnknownAgentError):
        adapter.resign(own.replace(sender="a1"))
    assert adapter.signer.identity == "a0"


# ------------------------------------------------------------------ silent
def test_silent_stops_after_its_message_budget_even_mid_broadcast() -> None:
    _, strategy = attack(Silent, after_messages=2)
    first = sends(strategy.on_start())
    assert len(first) == 2 and all(isinstance(s.message, PrePrepare) for s in first)
    assert strategy.quiet and strategy.on_message(first[0].message) == ()


def test_silent_after_a_time_uses_its_own_timer() -> None:
    _, strategy = attack(Silent, after_time=0.3)
    effects = strategy.on_start()
    assert SetTimer("attack:quiet", 0.3) in effects and len(sends(effects)) == 3
    assert strategy.on_timer("attack:quiet") == () and strategy.quiet
    assert Silent(HonestStrategy("a0", pbft())).quiet  # no budget, no timer: silent from the start


# ------------------------------------------------------------------ equivocating
def test_equivocating_primary_tells_peers_different_signed_values() -> None:
    protocol, strategy = attack(Equivocating, fraction=0.5, overlap=1)
    out = sends(strategy.on_start())
    by_peer: dict[str, list] = {}
    for s in out:
        by_peer.setdefault(s.to, []).append(s.message)
    assert set(by_peer) == {"a1", "a2", "a3"}
    honest = next(m for ms in by_peer.values() for m in ms if m.request == protocol.config.requests[0])
    twins = {m for ms in by_peer.values() for m in ms if m != honest}
    assert len(twins) == 1
    twin = twins.pop()
    assert protocol.auth.verify(twin) and conflicting(honest, twin)
    witnesses = [p for p, ms in by_peer.items() if len(ms) == 2]
    assert witnesses == sorted(strategy.witnesses) and by_peer[witnesses[0]] == [honest, twin]
    assert strategy.equivocations == 1


def test_equivocation_split_is_seeded() -> None:
    splits = {attack(Equivocating, seed=s)[1].truthful for s in range(8)}
    assert len(splits) > 1
    assert attack(Equivocating, seed=3)[1].truthful == attack(Equivocating, seed=3)[1].truthful


# ------------------------------------------------------------------ delaying
def test_delaying_sends_early_to_some_and_releases_late_on_its_own_timer() -> None:
    _, strategy = attack(Delaying, delay=0.7, early_fraction=0.34)
    effects = strategy.on_start()
    early = sends(effects)
    assert len(early) == 1 and early[0].to in strategy.early
    timers = [e for e in effects if isinstance(e, SetTimer) and e.name.startswith("attack:")]
    assert timers == [SetTimer("attack:release-0", 0.7)]
    late = sends(strategy.on_timer("attack:release-0"))
    assert {s.to for s in late} | {early[0].to} == {"a1", "a2", "a3"}
    assert strategy.on_timer("attack:release-0") == ()  # released once


# ------------------------------------------------------------------ forging
def test_forging_sends_unverifiable_and_impersonating_copies() -> None:
    protocol, strategy = attack(Forging, victim="a2", limit=1)
    out = sends(strategy.on_start())
    messages = {s.message for s in out}
    genuine = [m for m in messages if m.sender == "a0" and protocol.auth.verify(m)]
    bad = [m for m in messages if m.sender == "a0" and not protocol.auth.verify(m)]
    impostors = [s for s in out if s.message.sender == "a2"]
    assert len(genuine) == 1 and len(bad) == 1
    assert impostors and all(s.to != "a2" and not protocol.auth.verify(s.message) for s in impostors)
    assert strategy.forged == 1
    with pytest.raises(ConfigurationError):
        attack(Forging, victim="a0")  # it can only claim to be another member


def test_the_driver_refuses_impersonation_and_replicas_refuse_bad_signatures() -> None:
    protocol = pbft()
    forger = make_attack("forging", "a1", protocol, pbft_adapter(protocol, "a1"))
    result = simulate(protocol, seed=0, byzantine={"a1": forger})
    assert result.rejected["impersonation"] > 0 and result.rejected["bad-signature"] > 0
    assert result.status == "decided" and not result.violations()


# ------------------------------------------------------------------ replaying
def test_replaying_resends_its_history_and_old_session_copies() -> None:
    protocol, strategy = attack(Replaying, period=0.2, rounds=2, old_session="s-old")
    started = strategy.on_start()
    assert SetTimer("attack:replay", 0.2) in started
    first = strategy.on_timer("attack:replay")
    replayed = sends(first)
    old = [s.message for s in replayed if s.message.session == "s-old"]
    same = [s.message for s in replayed if s.message.session == "s0"]
    assert old and same and all(protocol.auth.verify(m) for m in old)  # genuine, for another session
    assert SetTimer("attack:replay", 0.2) in first
    assert SetTimer("attack:replay", 0.2) not in strategy.on_timer("attack:replay")  # bounded rounds


# ------------------------------------------------------------------ generic use
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_attack_runs_on_a_protocol_without_signatures(name: str) -> None:
    """Majority voting (crash model) with one attacker: nothing crashes, rejections are counted."""
    protocol = MajorityVoting(Membership.of_size(7), {f"a{i}": "y" for i in range(7)})
    options = {"delaying": {"delay": 0.05}, "replaying": {"period": 0.05}}.get(name, {})
    strategy = make_attack(name, "a0", protocol, MessageAdapter(), **options)
    result = simulate(protocol, NetworkModel(latency=Latency.uniform(0.001, 0.01)), seed=1,
                      byzantine={"a0": strategy})
    assert result.status == "decided" and result.decided_value == "y" and result.quiescent


def test_make_attack_validates_names_and_options() -> None:
    protocol = pbft()
    with pytest.raises(ConfigurationError):
        make_attack("teleporting", "a0", protocol)
    with pytest.raises(ConfigurationError):
        make_attack("silent", "a0", protocol, volume=3)
    with pytest.raises(UnknownAgentError):
        make_attack("silent", "zed", protocol)
    for bad in ({"after_messages": -1}, {"after_time": "soon"}):
        with pytest.raises(ConfigurationError):
            make_attack("silent", "a0", protocol, **bad)
    with pytest.raises(ConfigurationError):
        make_attack("equivocating", "a0", protocol, fraction=2)
    assert isinstance(make_attack("replaying", "a0", protocol), Strategy)


def test_honest_timers_pass_through_attack_wrappers() -> None:
    _protocol, strategy = attack(Delaying, agent="a1", delay=0.1)
    started = strategy.on_start()
    assert any(isinstance(e, SetTimer) and e.name == "view-change" for e in started)
    effects = strategy.on_timer("view-change")  # the honest node's timer: a view change
    assert any(type(s.message).__name__ == "ViewChange" for s in sends(effects))  # to the early peers
    assert any(isinstance(e, SetTimer) and e.name.startswith("attack:release") for e in effects)


def test_equivocation_evidence_verifies_with_the_public_keys_alone() -> None:
    protocol = pbft(7)
    liar = make_attack("equivocating", "a6", protocol, pbft_adapter(protocol, "a6"), overlap=2)
    result = simulate(protocol, NetworkModel(latency=Latency.uniform(0.001, 0.01)), seed=4,
                      byzantine={"a6": liar})
    assert result.status == "decided" and not result.violations()
    assert result.evidence and all(e.against == "a6" and e.kind == "equivocation" for e in result.evidence)
    verifier = Ed25519Authenticator((*protocol.agents, "c0", "c1"))  # same public keys, fresh cache
    assert all(verify_evidence(e.effect, verifier) for e in result.evidence)
    reported = result.evidence[0].effect
    blames_another = type(reported)(reported.kind, "a5", reported.proof)
    assert not verify_evidence(blames_another, verifier)
