"""Signatures checked ahead of time in a helper process: same verdicts, same runs, bounded, survivable."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from mabeam.attacks import make_attack
from mabeam.attacks.pbft import pbft_adapter
from mabeam.core import ConfigurationError, Membership, Protocol
from mabeam.core.auth import AHEAD_LIMIT, Ed25519Authenticator, SymbolicAuthenticator
from mabeam.protocols.pbft import PBFTReplica, make_config
from mabeam.protocols.pbft.messages import Prepare
from mabeam.protocols.weighted.linear import LinearWeightedVoting
from mabeam.runtime import AsyncRuntime, ahead
from mabeam.runtime.ahead import AheadVerifier


class CountingAuthenticator(Ed25519Authenticator):
    """Counts the checks made in this process (a changed ``_check``: its checks stay here)."""

    checks = 0

    def _check(self, identity: str, data: bytes, signature: bytes) -> bool:
        self.checks += 1
        return super()._check(identity, data, signature)


def prepare(auth: Ed25519Authenticator, sender: str = "a1", seq: int = 1) -> Prepare:
    return auth.signer(sender).sign(Prepare(session="s0", sender=sender, view=0, seq=seq, digest=b"d"))


def _ready_helper() -> ahead._Helper:
    """This process's helper, once it has said it is ready (read the way a run reads it)."""

    async def wait() -> ahead._Helper:
        verifier = AheadVerifier.wanted(Ed25519Authenticator(("a0",)), True, asyncio.get_running_loop())
        assert verifier is not None
        try:
            deadline = time.monotonic() + 30
            while not verifier._helper.ready:
                assert time.monotonic() < deadline, "the helper never said it was ready"
                await asyncio.sleep(0.01)
            return verifier._helper
        finally:
            verifier.close()

    return asyncio.run(wait())


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """(submitted, verdicts back) of every verifier closed while the test runs."""
    seen: list[tuple[int, int]] = []
    close = AheadVerifier.close

    def recording(self: AheadVerifier) -> None:
        seen.append((self.submitted, self.found))
        close(self)

    monkeypatch.setattr(AheadVerifier, "close", recording)
    yield seen


def test_a_verdict_found_elsewhere_is_claimed_once_and_not_recomputed() -> None:
    auth = CountingAuthenticator(("a0", "a1"), seed="t")
    good, forged = prepare(auth), prepare(auth).replace(signature=bytes(64))
    for message, valid in ((good, True), (forged, False)):
        request = auth.check_request(message)
        assert request is not None
        auth.record_check(message, valid, request[2])
    assert auth.check_request(good) is None  # known already: nothing to ask
    assert auth.verify(good) and not auth.verify(forged)
    assert auth.checks == 0 and not auth._ahead  # claimed, then cached as a verdict found here would be
    assert good in auth.verified and forged in auth.refused


def test_unsigned_or_unknown_senders_need_no_check() -> None:
    auth = Ed25519Authenticator(("a0", "a1"), seed="t")
    assert auth.check_request(Prepare(session="s0", sender="a1", view=0, seq=1, digest=b"d")) is None
    assert auth.check_request(prepare(auth).replace(sender="intruder")) is None


def test_unclaimed_verdicts_stay_bounded() -> None:
    auth = SymbolicAuthenticator(("a0", "a1"))
    for seq in range(AHEAD_LIMIT + 10):
        auth.record_check(prepare(auth, seq=seq), True, 1)  # type: ignore[arg-type]
    assert 0 < len(auth._ahead) <= AHEAD_LIMIT


def test_the_helper_is_wanted_for_plain_ed25519_checks_unless_turned_off() -> None:
    async def wanted() -> None:
        loop = asyncio.get_running_loop()
        assert AheadVerifier.wanted(SymbolicAuthenticator(("a0",)), True, loop) is None  # a keyed digest
        assert AheadVerifier.wanted(None, True, loop) is None
        assert AheadVerifier.wanted(Ed25519Authenticator(("a0",)), False, loop) is None
        assert AheadVerifier.wanted(CountingAuthenticator(("a0",)), True, loop) is None  # its own _check
        verifier = AheadVerifier.wanted(Ed25519Authenticator(("a0",)), True, loop)
        assert verifier is not None
        assert AheadVerifier.wanted(Ed25519Authenticator(("a0",)), True, loop) is None  # busy: one run at a time
        verifier.close()
        again = AheadVerifier.wanted(Ed25519Authenticator(("a0",)), True, loop)
        assert again is not None and again._helper is verifier._helper  # one helper per Python process
        again.close()

    asyncio.run(wanted())


def test_the_helper_reaches_the_verdicts_the_loop_would() -> None:
    _ready_helper()
    auth = Ed25519Authenticator(("a0", "a1", "a2"), seed="t")
    messages = [prepare(auth, "a1"), prepare(auth, "a2", seq=2),
                prepare(auth).replace(signature=bytes(64)),  # forged
                prepare(auth, "a1").replace(sender="a2"),  # a1's signature claimed by a2
                prepare(auth, "a1", seq=3).replace(seq=4),  # a field changed after signing
                prepare(auth, "a1").replace(signature=b"short")]  # not even a whole signature: never sent

    async def check() -> AheadVerifier:
        verifier = AheadVerifier.wanted(auth, True, asyncio.get_running_loop())
        assert verifier is not None
        for m in messages:
            verifier.submit(m)
        deadline = time.monotonic() + 30
        while verifier.found < verifier.submitted:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        verifier.close()
        return verifier

    verifier = asyncio.run(check())
    assert verifier.submitted == 5
    here = Ed25519Authenticator(("a0", "a1", "a2"), seed="t")
    for m in messages[:5]:
        assert auth._ahead[m][0] == here.verify(m), m
    assert [auth._ahead[m][0] for m in messages[:5]] == [True, True, False, False, False]


def test_a_flood_of_traffic_is_capped_not_queued_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    _ready_helper()
    monkeypatch.setattr(ahead, "PENDING_LIMIT", 8)
    auth = Ed25519Authenticator(("a0", "a1"), seed="t")

    async def flood() -> int:
        verifier = AheadVerifier.wanted(auth, True, asyncio.get_running_loop())
        assert verifier is not None
        for seq in range(100):  # the loop never runs in between: no verdict can come back
            verifier.submit(prepare(auth, seq=seq))
        submitted = verifier.submitted
        verifier.close()
        return submitted

    assert asyncio.run(flood()) == 8


def test_a_bad_setting_is_a_configuration_error() -> None:
    protocol = PBFTReplica(make_config(4))
    with pytest.raises(ConfigurationError, match="verify_ahead"):
        AsyncRuntime(protocol, verify_ahead="yes")  # type: ignore[arg-type]


def _weighted(n: int = 30) -> LinearWeightedVoting:
    agents = Membership.of_size(n).agents
    inputs = {a: ("x" if i % 3 else "y") for i, a in enumerate(agents)}
    return LinearWeightedVoting(Membership(agents), inputs, dict.fromkeys(agents, 1),
                                auth=Ed25519Authenticator(agents, seed="ahead"))


def _pbft_under_attack() -> tuple[PBFTReplica, dict[str, object]]:
    agents = Membership.of_size(4).agents
    protocol = PBFTReplica(make_config(4, auth=Ed25519Authenticator((*agents, "c0", "c1"), seed="ahead")))
    return protocol, {"a3": make_attack("forging", "a3", protocol, pbft_adapter(protocol, "a3"))}


def _outcome(case: str, verify_ahead: bool) -> tuple[object, ...]:
    protocol: Protocol
    if case == "weighted":
        protocol, options = _weighted(), {}
    else:
        protocol, attack = _pbft_under_attack()
        options = {"byzantine": attack}
    result = asyncio.run(AsyncRuntime(protocol, seed=3, timeout=30.0, verify_ahead=verify_ahead,
                                      **options).run())  # type: ignore[arg-type]
    assert not result.violations()
    # what was refused, by whom (counts and first times follow the wall clock's timers)
    return (result.status, {a: [d.value for d in ds] for a, ds in result.decisions.items()},
            sorted({(r.sender, r.reason) for r in result.rejections}))


@pytest.mark.parametrize("case", ["weighted", "pbft-forging"])
def test_runs_decide_and_reject_the_same_with_and_without_the_helper(case: str,
                                                                      counted: list[tuple[int, int]]) -> None:
    _ready_helper()
    counted.clear()
    outcomes = [_outcome(case, ahead_on) for ahead_on in (False, True, False, True)]
    assert all(o == outcomes[0] for o in outcomes), outcomes
    assert len(counted) == 2  # the two runs that asked for the helper had it
    if case == "weighted":  # the collector's backlog of votes is what the helper checks ahead
        assert all(submitted > 0 for submitted, _found in counted), counted
    else:
        assert outcomes[0][0] == "decided" and outcomes[0][2], "the forger's messages are refused in both settings"


def test_a_dead_helper_leaves_the_checks_to_the_receivers(counted: list[tuple[int, int]]) -> None:
    helper = _ready_helper()
    expected = _outcome("weighted", False)
    helper.process.kill()
    helper.process.wait()
    counted.clear()
    assert _outcome("weighted", True) == expected  # it finds the helper dead (or learns it on its first write)
    replacement = _ready_helper()  # the next run that wants one starts a new helper
    assert replacement is not helper and replacement.process.pid != helper.process.pid
    assert _outcome("weighted", True) == expected


def _child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-I", ahead._CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.read(5) == b"READY"
    return child


def test_the_helper_refuses_a_malformed_key_and_ends_on_a_broken_stream() -> None:
    auth = Ed25519Authenticator(("a1",), seed="t")
    request = auth.check_request(prepare(auth))
    assert request is not None
    data, signature, _cost = request
    child = _child()
    assert child.stdin is not None and child.stdout is not None
    for ident, key in ((7, b"\x00" * 32), (8, auth.keys_for_checks_elsewhere()["a1"])):  # type: ignore[index]
        child.stdin.write(struct.pack("<II", ident, 96 + len(data)) + key + signature + data)
    child.stdin.flush()
    assert child.stdout.read(10) == struct.pack("<IB", 7, 0) + struct.pack("<IB", 8, 1)
    child.stdin.write(struct.pack("<II", 9, 1 << 30))  # longer than any frame the parent sends
    child.stdin.flush()
    assert child.wait(timeout=30) == 0 and child.stdout.read() == b""


def test_the_helper_ends_with_its_input() -> None:
    child = _child()
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    assert os.path.basename(ahead._CHILD) == "verifier_child.py"


def test_a_helper_that_cannot_start_is_given_up_after_a_few_tries(tmp_path: object,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    broken = os.path.join(str(tmp_path), "broken_child.py")
    with open(broken, "w") as script:
        script.write("raise SystemExit(3)\n")  # as a helper without libsodium's binding would end
    monkeypatch.setattr(ahead, "_CHILD", broken)
    monkeypatch.setattr(ahead, "_shared", None)  # the real helper is left alone, and restored afterwards
    monkeypatch.setattr(ahead, "_failed_starts", 0)

    async def attempt() -> bool:
        verifier = AheadVerifier.wanted(Ed25519Authenticator(("a0",)), True, asyncio.get_running_loop())
        if verifier is None:
            return False
        deadline = time.monotonic() + 30
        while verifier._helper.alive:  # the run's reader learns it ended
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert not verifier._helper.ready
        verifier.close()
        return True

    assert [asyncio.run(attempt()) for _ in range(5)] == [True] * ahead.STARTS_WITHOUT_READY + [False, False]
