"""The TCP transport: framing, hostile bytes, reconnection, and protocols split across nodes and processes.

The framing tests speak plain TCP to an ``insecure=True`` node (loopback only);
everything that runs a protocol across nodes runs over TLS with generated keys.
Spoofing, TLS and resource-limit tests are in test_tcp_auth.py and test_tcp_limits.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tcp_helpers import cluster, exchange, free_port, majority, pbft, run_clean, tls_transport, vote

from mabeam.core import ConfigurationError, CredentialError, MalformedMessageError, Protocol
from mabeam.protocols.pbft.messages import PrePrepare, request_digest
from mabeam.runtime import TcpTransport, address_book, run_local_cluster, split
from mabeam.runtime.cluster import node_runtime
from mabeam.runtime.framing import (
    Carry,
    FrameError,
    Hello,
    decode_frame,
    decode_message,
    encode_carry,
    encode_hello,
    frame,
    read_frame,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ framing
@pytest.mark.timeout(10)
def test_frames_round_trip_with_the_canonical_message_bytes() -> None:
    protocol = pbft(4)
    request = protocol.config.requests[0]
    signer = protocol.config.auth.signer("a0")
    pre = signer.sign(PrePrepare(session="s0", sender="a0", view=0, seq=1, digest=request_digest(request),
                                 request=request))
    for proto, message in ((majority(3), vote("a0")), (protocol, pre)):
        data = encode_carry("a1", 3, message, proto.codec)
        assert int.from_bytes(data[:4], "big") == len(data) - 4
        carry = decode_frame(data[4:])
        assert carry == Carry("a1", 3, message.canonical())  # the signed bytes travel unchanged
        assert decode_message(proto.codec, carry.message) == message

    async def read_back() -> list[bytes | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(encode_hello("s0", ("a0", "a2")) + frame(b"xyz"))
        reader.feed_eof()
        return [await read_frame(reader, 64) for _ in range(3)]

    hello, body, end = asyncio.run(read_back())
    assert decode_frame(hello) == Hello("s0", ("a0", "a2")) and body == b"xyz" and end is None  # type: ignore[arg-type]


@pytest.mark.timeout(10)
def test_framing_errors_name_their_reason() -> None:
    async def error(data: bytes, limit: int = 64) -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        with pytest.raises(FrameError) as caught:
            await read_frame(reader, limit)
        return caught.value.reason

    async def all_errors() -> list[str]:
        return [await error(b"\xff\xff\xff\xff"), await error(b"\x00\x00\x00\x00"), await error(b"\x00\x00"),
                await error(b"\x00\x00\x00\x10abc"), await error(frame(b"a" * 65))]

    assert asyncio.run(all_errors()) == ["oversize-frame", "empty-frame", "truncated-frame", "truncated-frame",
                                         "oversize-frame"]
    for junk in (b"\xc1", msgspec.msgpack.encode(["carry", "a1", -1, b""]), msgspec.msgpack.encode({"x": 1})):
        with pytest.raises(FrameError, match="undecodable-frame"):
            decode_frame(junk)
    codec = majority(3).codec
    reasons = []
    for junk in (b"\xc1", msgspec.msgpack.encode({"type": "other.kind", "session": "s0", "sender": "a0"}),
                 msgspec.msgpack.encode({"type": "majority.vote", "session": "s0", "sender": "a0", "value": 7})):
        with pytest.raises(MalformedMessageError) as caught:
            decode_message(codec, junk)
        reasons.append(caught.value.reason)  # type: ignore[attr-defined]
    assert reasons == ["undecodable-message", "unknown-message-type", "invalid-message"]


# ------------------------------------------------------------------ a hostile peer
async def serving(protocol: Protocol, local: tuple[str, ...], **options: Any
                  ) -> tuple[TcpTransport, list[tuple[str, Any, int]]]:
    options.setdefault("insecure", True)
    transport = TcpTransport(protocol, local, **options)
    await transport.start()
    delivered: list[tuple[str, Any, int]] = []
    transport.bind(lambda to, message, depth: delivered.append((to, message, depth)), lambda: 0.0)
    return transport, delivered


@pytest.mark.timeout(20)
def test_malformed_frames_are_counted_and_the_server_keeps_serving() -> None:
    protocol = majority(3)
    hello = encode_hello("s0", ("a0",))
    carry = msgspec.msgpack.Encoder(order="deterministic").encode

    def wrapped(to: str, payload: bytes) -> bytes:
        return frame(carry(Carry(to, 0, payload)))

    async def main() -> tuple[TcpTransport, list[Any], list[bool], bool]:
        transport, delivered = await serving(protocol, ("a1",), max_frame=1024)
        truncated = await exchange(transport.address, b"\x00\x00\x00\x64" + b"x" * 10, eof=True)  # 10 of 100
        hang_ups = [await exchange(transport.address, data) for data in (
            b"\xde\xad\xbe\xef",  # a garbage length: far beyond max_frame
            b"\x00\x00\x00\x00",  # an empty frame
            b"\x00\x00\x08\x00" + b"x" * 2048,  # oversize: 2048 > 1024
            frame(b"\xc1\xc1"),  # not MessagePack
            frame(b"\x93\x01\x02\x03"),  # MessagePack, but no frame of ours
            wrapped("a1", vote("a0").canonical()),  # a message before any hello
            encode_hello("elsewhere", ("a0",)),
            encode_hello("s0", ("a1",)),  # claims to host the server's own agent
            encode_hello("s0", ("a0",)) + encode_hello("s0", ("a0",)),
        )]
        # message-level errors drop one message each and leave the connection open
        kept_open = not await exchange(transport.address, wait=0.5, data=hello + b"".join((
            wrapped("a1", b"\xc1"),
            wrapped("a1", msgspec.msgpack.encode({"type": "other.kind", "session": "s0", "sender": "a0"})),
            wrapped("a1", msgspec.msgpack.encode({"type": "majority.vote", "session": "s0", "sender": "a0",
                                                  "value": 1})),
            wrapped("a1", vote("zz").canonical()),
            wrapped("a1", vote("a2").canonical()),  # a0's link speaking for a2
            wrapped("a0", vote("a0").canonical()),  # a0 is not hosted here
            wrapped("a1", vote("a0", "x").canonical()),  # the one good message
        )))
        await transport.close()
        return transport, delivered, [truncated, *hang_ups], kept_open

    transport, delivered, hang_ups, kept_open = run_clean(main)
    assert all(hang_ups) and kept_open
    assert transport.rejected == {
        "oversize-frame": 2, "empty-frame": 1, "truncated-frame": 1, "undecodable-frame": 2, "missing-hello": 1,
        "wrong-session": 1, "unknown-peer": 1, "repeated-hello": 1, "undecodable-message": 1,
        "unknown-message-type": 1, "invalid-message": 1, "unknown-sender": 1, "spoofed-sender": 1,
        "unknown-recipient": 1}
    assert delivered == [("a1", vote("a0", "x"), 0)]


# ------------------------------------------------------------------ links
@pytest.mark.timeout(20)
def test_frames_queued_while_disconnected_are_sent_after_reconnecting() -> None:
    protocol = majority(3)
    port = free_port()

    async def main() -> tuple[TcpTransport, list[Any], list[Any]]:
        sender = TcpTransport(protocol, ("a0",), {"a1": ("127.0.0.1", port)}, insecure=True, backoff=(0.01, 0.05))
        sender.bind(lambda *_: None, lambda: 0.0)
        sender.send("a0", "a1", vote("a0", "x"), 1)
        await asyncio.sleep(0.1)  # nobody listens yet: the link backs off and retries
        assert sender.connect_failures >= 2 and sender.in_flight == 1
        first, got_first = await serving(protocol, ("a1",), port=port)
        for _ in range(200):
            if got_first:
                break
            await asyncio.sleep(0.01)
        await first.close()  # the peer goes away ...
        sender.send("a0", "a1", vote("a0", "y"), 2)
        await asyncio.sleep(0.05)
        second, got_second = await serving(protocol, ("a1",), port=port)  # ... and comes back
        for _ in range(300):
            if got_second:
                break
            await asyncio.sleep(0.01)
        await sender.close()
        await second.close()
        return sender, got_first, got_second

    sender, got_first, got_second = run_clean(main)
    assert got_first == [("a1", vote("a0", "x"), 1)]
    assert got_second == [("a1", vote("a0", "y"), 2)]
    assert sender.connects == 2 and sender.stats.sent == 2 and sender.stats.dropped == 0


@pytest.mark.timeout(10)
def test_the_outgoing_queue_is_bounded_and_overflow_is_counted() -> None:
    async def main() -> TcpTransport:
        transport = TcpTransport(majority(3), ("a0",), {"a1": ("127.0.0.1", free_port())}, insecure=True,
                                 max_queue=2, close_grace=0.05)
        transport.bind(lambda *_: None, lambda: 0.0)
        for _ in range(5):
            transport.send("a0", "a1", vote("a0"), 0)
        transport.send("a0", "a2", vote("a0"), 0)  # nobody said where a2 listens
        await transport.close()
        return transport

    transport = run_clean(main)
    assert transport.rejected == {"queue-overflow": 3, "no-address": 1}
    assert transport.stats.sent == 6 and transport.stats.dropped == 6  # 4 refused, 2 never delivered


def test_tcp_transport_rejects_bad_settings() -> None:
    protocol = majority(3)
    for bad in ({"local": ()}, {"local": ("zz",)}, {"port": True}, {"port": 70000}, {"max_frame": 0},
                {"max_queue": True}, {"backoff": (0.1,)}, {"backoff": (0.0, 1.0)}, {"backoff": (1.0, 0.5)},
                {"close_grace": -1}, {"read_timeout": float("inf")}, {"max_buffered_bytes": 10},
                {"max_connections_per_address": 1000}, {"no_such_limit": 1},
                {"addresses": {"a1": ("127.0.0.1", 0)}}, {"addresses": {"a1": "127.0.0.1:80"}},
                {"addresses": {"zz": ("127.0.0.1", 80)}}, {"insecure": 1},
                {"host": "0.0.0.0"}, {"addresses": {"a1": ("10.0.0.1", 80)}}):  # plain TCP: loopback only
        options = {"local": ("a0",), "insecure": True, **bad}
        with pytest.raises((ConfigurationError, KeyError)):
            TcpTransport(protocol, **options)
    with pytest.raises(CredentialError, match="needs TLS credentials"):
        TcpTransport(protocol, ("a0",))  # neither credentials nor an explicit insecure=True
    with pytest.raises(ConfigurationError, match="exclude each other"):
        TcpTransport(protocol, ("a0",), tls=cluster(3).tls_credentials(("a0",)), insecure=True)


# ------------------------------------------------------------------ runtimes over TCP
@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, build, nodes", [
    ("majority", lambda: majority(9), 3), ("pbft-4", lambda: pbft(4), 2), ("pbft-7", lambda: pbft(7), 3),
])
def test_runtimes_in_one_process_agree_over_localhost_tls(name: str, build: Any, nodes: int) -> None:
    protocol = build()
    run = run_clean(lambda: run_local_cluster(protocol, split(protocol.agents, nodes), timeout=20,
                                              keys=cluster(protocol.n)))
    assert run.agreement and run.decided_value == ("y" if name == "majority" else "block-7")
    assert set(run.decisions) == set(protocol.agents)  # every agent, on every node, decided
    assert all(r.status == "decided" and not r.timed_out for r in run.results)
    assert not run.violations() and any(v["status"] == "holds" for v in run.properties.values())
    assert all(t.frames_sent > 0 and t.frames_received > 0 and not t.rejections() for t in run.transports)
    for result, transport in zip(run.results, run.transports):
        assert set(result.decisions) == set(transport.local)


@pytest.mark.timeout(30)
def test_junk_sent_to_a_node_is_counted_in_its_result_and_the_run_still_decides() -> None:
    protocol = majority(5)
    groups = split(protocol.agents, 2)

    async def main() -> list[Any]:
        transports = [tls_transport(protocol, g) for g in groups]
        book = address_book(groups, [await t.start() for t in transports])
        for transport in transports:
            transport.connect(book)
        await exchange(transports[0].address, b"\xff\xff\xff\xff")  # not TLS at all
        await exchange(transports[0].address, encode_hello("s0", ("a1",)) + frame(b"\xc1"),
                       ssl_context=cluster(5).tls_credentials(("a1",)).client_context("a1"))
        return list(await asyncio.gather(*(node_runtime(protocol, t, timeout=10).run() for t in transports)))

    first, second = run_clean(main)
    assert first.rejected == {"handshake-failed": 1, "undecodable-frame": 1} and second.rejected == {}
    assert first.status == second.status == "decided" and first.decided_value == second.decided_value == "y"


# ------------------------------------------------------------------ OS processes
def run_example(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    return subprocess.run([sys.executable, str(ROOT / "examples" / "distributed_tcp.py"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.timeout(120)
def test_example_runs_majority_and_signed_pbft_across_os_processes() -> None:
    done = run_example("--processes", "2", "--voters", "5", "--replicas", "4", "--timeout", "20", timeout=110)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("agreement across processes: yes") == 2 and "all processes agreed" in out
    assert "value 'y'" in out and "value 'block-42'" in out and "undecided none" in out
    assert out.count("pid ") == 4  # two processes per scenario each reported
