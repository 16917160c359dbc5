"""Signatures checked ahead of time on a worker thread: same verdicts, same runs, bounded, stopped."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mabeam.attacks import make_attack
from mabeam.attacks.pbft import pbft_adapter
from mabeam.core import ConfigurationError, Membership
from mabeam.core.auth import AHEAD_LIMIT, Ed25519Authenticator, SymbolicAuthenticator
from mabeam.protocols.pbft import PBFTReplica, make_config
from mabeam.protocols.pbft.messages import Prepare
from mabeam.protocols.weighted.linear import LinearWeightedVoting
from mabeam.runtime import AsyncRuntime
from mabeam.runtime.ahead import QUEUE_LIMIT, SignatureWorker


class CountingAuthenticator(Ed25519Authenticator):
    """Counts the cryptographic checks it makes."""

    checks = 0
    ahead = 0

    def verify_ahead(self, message: object) -> None:
        self.ahead += 1
        super().verify_ahead(message)  # type: ignore[arg-type]

    def _check(self, identity: str, data: bytes, signature: bytes) -> bool:
        self.checks += 1
        return super()._check(identity, data, signature)


def prepare(auth: Ed25519Authenticator, sender: str = "a1", seq: int = 1) -> Prepare:
    return auth.signer(sender).sign(Prepare(session="s0", sender=sender, view=0, seq=seq, digest=b"d"))


def test_a_verdict_found_ahead_is_used_once_and_not_recomputed() -> None:
    auth = CountingAuthenticator(("a0", "a1"), seed="t")
    good, forged = prepare(auth), prepare(auth).replace(signature=bytes(64))
    auth.verify_ahead(good)
    auth.verify_ahead(forged)
    assert auth.checks == 2
    assert auth.verify(good) and not auth.verify(forged)
    assert auth.checks == 2 and not auth._ahead  # claimed, then cached as without the worker
    assert good in auth.verified and forged in auth.refused
    auth.verify_ahead(good)  # already cached: nothing to do
    assert auth.checks == 2 and not auth._ahead


def test_unsigned_or_unknown_senders_are_left_to_verify() -> None:
    auth = CountingAuthenticator(("a0", "a1"), seed="t")
    auth.verify_ahead(Prepare(session="s0", sender="a1", view=0, seq=1, digest=b"d"))
    auth.verify_ahead(prepare(auth).replace(sender="intruder"))
    assert auth.checks == 0 and not auth._ahead


def test_unclaimed_verdicts_stay_bounded() -> None:
    auth = SymbolicAuthenticator(("a0", "a1"))
    for seq in range(AHEAD_LIMIT + 10):
        auth.verify_ahead(auth.signer("a1").sign(Prepare(session="s0", sender="a1", view=0, seq=seq, digest=b"d")))
    assert 0 < len(auth._ahead) <= AHEAD_LIMIT


def test_the_worker_is_wanted_only_for_costly_checks_unless_asked() -> None:
    assert SignatureWorker.wanted(SymbolicAuthenticator(("a0",)), None) is None
    assert SignatureWorker.wanted(None, True) is None
    assert SignatureWorker.wanted(Ed25519Authenticator(("a0",)), False) is None
    worker = SignatureWorker.wanted(SymbolicAuthenticator(("a0",)), True)
    assert worker is not None
    worker.submit(object())  # type: ignore[arg-type]  # not a message: skipped, the worker lives on
    worker.close()
    assert not worker._thread.is_alive()


class StalledAuthenticator(SymbolicAuthenticator):
    """Its worker checks nothing until released: what queues up meanwhile stays queued."""

    release = threading.Event()

    def verify_ahead(self, message: object) -> None:
        self.release.wait(10)


def test_a_flood_of_traffic_is_capped_not_queued_whole() -> None:
    auth = StalledAuthenticator(("a0", "a1"))
    worker = SignatureWorker(auth)
    for seq in range(QUEUE_LIMIT * 2):
        worker.submit(auth.signer("a1").sign(Prepare(session="s0", sender="a1", view=0, seq=seq, digest=b"d")))
    assert QUEUE_LIMIT - 1 <= worker._queue.qsize() <= QUEUE_LIMIT
    auth.release.set()
    worker.close()  # drops the queued checks: returns after the one in hand
    assert not worker._thread.is_alive()


def test_a_bad_setting_is_a_configuration_error() -> None:
    protocol = PBFTReplica(make_config(4))
    with pytest.raises(ConfigurationError, match="verify_ahead"):
        AsyncRuntime(protocol, verify_ahead="yes")  # type: ignore[arg-type]


def _weighted(n: int = 30) -> LinearWeightedVoting:
    agents = Membership.of_size(n).agents
    inputs = {a: ("x" if i % 3 else "y") for i, a in enumerate(agents)}
    return LinearWeightedVoting(Membership(agents), inputs, dict.fromkeys(agents, 1),
                                auth=CountingAuthenticator(agents, seed="ahead"))


def _pbft_under_attack() -> tuple[PBFTReplica, dict[str, object]]:
    agents = Membership.of_size(4).agents
    protocol = PBFTReplica(make_config(4, auth=Ed25519Authenticator((*agents, "c0", "c1"), seed="ahead")))
    return protocol, {"a3": make_attack("forging", "a3", protocol, pbft_adapter(protocol, "a3"))}


@pytest.mark.parametrize("case", ["weighted", "pbft-forging"])
def test_runs_decide_and_reject_the_same_with_and_without_the_worker(case: str) -> None:
    outcomes = []
    for ahead in (False, True, False, True):
        if case == "weighted":
            protocol, options = _weighted(), {}
        else:
            protocol, options = _pbft_under_attack()
            options = {"byzantine": options}
        result = asyncio.run(AsyncRuntime(protocol, seed=3, timeout=30.0, verify_ahead=ahead, **options).run())
        assert not result.violations()
        if case == "weighted":  # the collector's backlog of votes is what the worker checks ahead
            assert (protocol.auth.ahead > 0) == ahead  # type: ignore[attr-defined]
        # what was refused, by whom (counts and first times follow the wall clock's timers)
        outcomes.append((result.status, {a: [d.value for d in ds] for a, ds in result.decisions.items()},
                         sorted({(r.sender, r.reason) for r in result.rejections})))
    assert all(o == outcomes[0] for o in outcomes), outcomes
    if case == "pbft-forging":
        assert outcomes[0][0] == "decided" and outcomes[0][2], "the forger's messages are refused in both settings"
    assert not any(t.name == "mabeam-verify-ahead" for t in threading.enumerate())
