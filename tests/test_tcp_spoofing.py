"""Spoofing over TCP: an outsider who knows the session and the member names, and a member posing as others.

Each attack runs against nodes on localhost before their runtimes start, so
its forged votes would be the first ones counted. Over plain TCP (the control:
``insecure=True``, the hello believed) the same attack splits a majority vote
and makes a weighted vote decide the minority value, which shows the tests
can fail; over TLS the outcome is the honest one and every attempt is counted.
The attacker uses its own sockets only: the nodes cannot tell it from another
process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from tcp_helpers import (
    CLIENT,
    carry,
    cluster,
    impostor_context,
    majority,
    pbft,
    run_clean,
    send_as,
    stranger_context,
    vote,
    weighted,
)

from mabeam.core import Message, Protocol
from mabeam.protocols.pbft.messages import Commit, Prepare, PrePrepare, Request, request_digest
from mabeam.protocols.weighted.messages import Vote as WeightedVote
from mabeam.runtime import TcpTransport, address_book, split
from mabeam.runtime.cluster import node_runtime

#: (how the attacker connects, as whom its hello speaks, the frames it sends) to one node
Attack = Callable[[TcpTransport], Sequence[tuple[Any, tuple[str, ...], bytes]]]


async def attacked_run(protocol: Protocol, groups: list[tuple[str, ...]], attack: Attack, *, tls: bool,
                       timeout: float = 10.0) -> tuple[list[Any], list[TcpTransport]]:
    keys = cluster(protocol.n)
    transports = [TcpTransport(protocol, g, tls=keys.tls_credentials(g)) if tls else
                  TcpTransport(protocol, g, insecure=True) for g in groups]
    book = address_book(groups, [await t.start() for t in transports])
    for transport in transports:
        transport.connect(book)
    for transport in transports:  # the attacker strikes first
        for context, hello, frames in attack(transport):
            await send_as(transport.address, context, hello, frames, session=protocol.session)
    results = await asyncio.gather(*(node_runtime(protocol, t, timeout=timeout).run() for t in transports))
    return list(results), transports


def remote(protocol: Protocol, transport: TcpTransport) -> tuple[str, ...]:
    return tuple(a for a in protocol.agents if a not in transport.local)


def forged(transport: TcpTransport, senders: Sequence[str], make: Callable[[str, str], Message]) -> bytes:
    return b"".join(carry(to, make(sender, to)) for sender in senders for to in sorted(transport.local))


def decided_values(results: list[Any]) -> set[Any]:
    return {d.value for r in results for ds in r.decisions.values() for d in ds}


def rejected(transports: list[TcpTransport], reason: str) -> int:
    return sum(t.rejections().get(reason, 0) for t in transports)


# ------------------------------------------------------------------ majority
def split_majority(protocol: Protocol, contexts: Sequence[Any]) -> Attack:
    """Tell the node hosting a0 that every other member votes y, the other node that they vote x."""
    def attack(transport: TcpTransport) -> list[tuple[Any, tuple[str, ...], bytes]]:
        value = "y" if "a0" in transport.local else "x"
        others = remote(protocol, transport)
        frames = forged(transport, others, lambda sender, _to: vote(sender, value))
        return [(context, others, frames) for context in contexts]
    return attack


@pytest.mark.timeout(60)
def test_an_outsider_who_knows_the_names_cannot_split_a_majority_vote() -> None:
    protocol = majority(8)
    groups = split(protocol.agents, 2)
    # the control: over plain TCP the forged hello is believed and the vote splits
    results, _ = run_clean(lambda: attacked_run(protocol, groups, split_majority(protocol, [None]), tls=False))
    assert decided_values(results) == {"x", "y"}
    # over TLS: no certificate, another CA's certificate, or not TLS at all -- refused at the handshake
    results, transports = run_clean(lambda: attacked_run(
        protocol, groups, split_majority(protocol, [None, stranger_context()]), tls=True))
    assert decided_values(results) == {"y"} and all(r.status == "decided" for r in results)
    assert set().union(*(r.decisions for r in results)) == set(protocol.agents)
    assert rejected(transports, "handshake-failed") == 4  # two attempts per node, each counted
    assert all(set(r.rejected) == {"handshake-failed"} for r in results)  # in each node's result


@pytest.mark.timeout(60)
def test_a_member_cannot_vote_for_other_members() -> None:
    protocol = majority(8)
    groups = split(protocol.agents, 2)
    keys = cluster(8)

    def attack(transport: TcpTransport) -> list[tuple[Any, tuple[str, ...], bytes]]:
        value = "y" if "a0" in transport.local else "x"
        me = next(a for a in remote(protocol, transport))  # a real member, with its own certificate
        others = remote(protocol, transport)
        frames = forged(transport, [a for a in others if a != me], lambda sender, _to: vote(sender, value))
        return [(impostor_context(keys, me), (me,), frames),  # speaks for itself, votes for others
                (impostor_context(keys, me), others, b"")]  # claims in its hello to host the others

    results, transports = run_clean(lambda: attacked_run(protocol, groups, attack, tls=True))
    assert decided_values(results) == {"y"} and all(r.status == "decided" for r in results)
    assert rejected(transports, "spoofed-sender") == 2 * 3 * 4  # per node: 3 impersonated senders x 4 recipients
    assert rejected(transports, "unauthenticated-hello") == 2


# ------------------------------------------------------------------ weighted
def minority_weighted(protocol: Protocol, contexts: Sequence[Any]) -> Attack:
    """Every other member 'votes' x (the value of weight 2 of 7)."""
    def attack(transport: TcpTransport) -> list[tuple[Any, tuple[str, ...], bytes]]:
        others = remote(protocol, transport)
        frames = forged(transport, others, lambda sender, _to: WeightedVote(session="s0", sender=sender, value="x"))
        return [(context, others, frames) for context in contexts]
    return attack


@pytest.mark.timeout(60)
def test_an_outsider_cannot_make_a_weighted_vote_decide_the_minority_value() -> None:
    protocol = weighted()
    groups = split(protocol.agents, 2)
    results, _ = run_clean(lambda: attacked_run(protocol, groups, minority_weighted(protocol, [None]), tls=False,
                                                timeout=3))
    assert "x" in decided_values(results)  # the control: weight 2 of 7 decided
    results, transports = run_clean(lambda: attacked_run(
        protocol, groups, minority_weighted(protocol, [None, stranger_context()]), tls=True))
    assert decided_values(results) == {"y"} and all(r.status == "decided" for r in results)
    assert rejected(transports, "handshake-failed") == 4


@pytest.mark.timeout(60)
def test_a_weighted_member_cannot_vote_with_others_weight() -> None:
    protocol = weighted()
    groups = split(protocol.agents, 2)
    keys = cluster(7)

    def attack(transport: TcpTransport) -> list[tuple[Any, tuple[str, ...], bytes]]:
        me = "a5" if "a5" not in transport.local else "a6"  # a member whose own input is x
        others = [a for a in remote(protocol, transport) if a != me]
        frames = forged(transport, others, lambda sender, _to: WeightedVote(session="s0", sender=sender, value="x"))
        return [(impostor_context(keys, me), (me,), frames)]

    results, transports = run_clean(lambda: attacked_run(protocol, groups, attack, tls=True))
    assert decided_values(results) == {"y"} and all(r.status == "decided" for r in results)
    assert rejected(transports, "spoofed-sender") > 0


# ------------------------------------------------------------------ PBFT
@pytest.mark.timeout(60)
def test_pbft_over_tls_ignores_outsiders_and_members_posing_as_others() -> None:
    protocol = pbft(4)
    groups = split(protocol.agents, 2)
    keys = cluster(4)
    request = Request(session="s0", sender=CLIENT, timestamp=1, operation="attacker-value", signature=b"\x01" * 64)
    digest = request_digest(request)

    def attack(transport: TcpTransport) -> list[tuple[Any, tuple[str, ...], bytes]]:
        others = remote(protocol, transport)
        me = others[-1]
        # a member may sign only as itself: these claim other senders, with signatures it cannot make
        posing = b"".join(carry(to, m) for to in sorted(transport.local) for m in (
            PrePrepare(session="s0", sender="a0", view=0, seq=1, digest=digest, request=request,
                       signature=b"\x02" * 64),
            *(Prepare(session="s0", sender=s, view=0, seq=1, digest=digest, signature=b"\x03" * 64)
              for s in others if s != me),
            *(Commit(session="s0", sender=s, view=0, seq=1, digest=digest, signature=b"\x04" * 64)
              for s in others if s != me),
            request))
        outsider = b"".join(carry(to, Commit(session="s0", sender=s, view=0, seq=1, digest=digest,
                                             signature=b"\x05" * 64)) for to in transport.local for s in others)
        return [(None, others, outsider), (stranger_context(), others, outsider),
                (impostor_context(keys, me), (me,), posing)]

    results, transports = run_clean(lambda: attacked_run(protocol, groups, attack, tls=True))
    assert decided_values(results) == {"block-7"} and all(r.status == "decided" for r in results)
    assert set().union(*(r.decisions for r in results)) == set(protocol.agents)
    assert not any(r.evidence for r in results)
    assert rejected(transports, "handshake-failed") == 4
    assert rejected(transports, "spoofed-sender") > 0 and rejected(transports, "unknown-sender") > 0
