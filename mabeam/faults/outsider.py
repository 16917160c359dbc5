"""The spoofing outsider: it knows the session and the member names; at most it holds one member's certificate.

Why these attempts: they are what an attacker on the same host can do. For
each target node it connects (1) in plain TCP and (2) over TLS with a
certificate for a member's name from a CA of its own, each time sending a
hello that claims to be a member and frames carrying that member's first
messages, signed with keys derived from a public string (wrong signatures):
the node must refuse both during the TLS handshake and count it, and no such
connection may get through. (3) With one member's real certificate (a
compromised member, say) it sends frames whose messages claim to come from
another member: the node must drop each one as ``spoofed-sender`` and count it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.protocol import Protocol
from ..runtime.framing import encode_carry, encode_hello
from ..runtime.keygen import ClusterKeys, generate_cluster


class _Outbox:
    """An effect sink that keeps only the messages a step sends (the one interpreter dispatches)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, to: AgentId, message: Message) -> None:
        self.messages.append(message)

    def broadcast(self, message: Message, include_self: bool) -> None:
        self.messages.append(message)

    def set_timer(self, name: str, delay: float) -> None: ...

    def cancel_timer(self, name: str) -> None: ...

    def decide(self, value: Any, instance: Any) -> None: ...

    def evidence(self, evidence: Evidence) -> None: ...

    def reject(self, reason: str, message: Message | None) -> None: ...

    def defer(self, message: Message) -> None: ...


def forged_frames(forger: Protocol, as_agent: AgentId, to: AgentId) -> bytes:
    """``as_agent``'s first messages as ``forger`` (built with publicly derived keys) signs them, framed to ``to``."""
    outbox = _Outbox()
    interpret(forger.start(as_agent).effects, outbox)
    return b"".join(encode_carry(to, 0, m, forger.codec) for m in outbox.messages)


def impersonation(forger: Protocol, holder: AgentId, to: AgentId) -> tuple[int, bytes]:
    """Frames of the first member (not ``holder``) whose first step sends anything, and how many there are."""
    for agent in forger.agents:
        if agent == holder:
            continue
        outbox = _Outbox()
        interpret(forger.start(agent).effects, outbox)
        if outbox.messages:
            return len(outbox.messages), b"".join(encode_carry(to, 0, m, forger.codec) for m in outbox.messages)
    return 0, b""


@dataclass
class OutsiderReport:
    #: connections without the cluster's credentials (plain TCP, a foreign CA)
    attempts: int = 0
    #: such connections on which the node accepted the outsider's handshake (must stay 0)
    got_through: int = 0
    #: frames sent with a member's real certificate, claiming another member as sender
    impersonated_frames: int = 0
    targets: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "got_through": self.got_through,
                "impersonated_frames": self.impersonated_frames, "targets": self.targets}


async def _attempt(port: int, context: ssl.SSLContext | None, data: bytes, report: OutsiderReport) -> None:
    report.attempts += 1
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 3.0)
    except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
        return  # refused during the handshake (TLS), or the node is not listening
    try:
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            answer = await asyncio.wait_for(reader.read(1), 1.0)
            if context is not None and answer:
                report.got_through += 1  # the node answered on an authenticated channel
    except (ssl.SSLError, ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


async def _impersonate(port: int, context: ssl.SSLContext, data: bytes) -> None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 3.0)
    except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
        return
    try:
        writer.write(data)
        await writer.drain()
        writer.close()  # an orderly close: the node reads every frame before the end of the stream
        await asyncio.wait_for(writer.wait_closed(), 3.0)
    except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
        pass
    finally:
        writer.transport.abort()


async def spoof(forger: Protocol, session: str, targets: dict[int, tuple[int, AgentId, AgentId]],
                report: OutsiderReport, member_keys: ClusterKeys | None = None) -> None:
    """For each target node (index -> (real port, a member to impersonate, a member it hosts)): every attempt.

    ``member_keys`` holds the one member certificate the third attempt uses (``as_agent``'s own).
    """
    stranger = generate_cluster(forger.agents)  # the members' names under a CA nobody trusts
    for node, (port, as_agent, to) in sorted(targets.items()):
        data = encode_hello(session, (as_agent,)) + forged_frames(forger, as_agent, to)
        await _attempt(port, None, data, report)
        await _attempt(port, stranger.tls_credentials((as_agent,)).client_context(as_agent), data, report)
        if member_keys is not None:
            count, frames = impersonation(forger, as_agent, to)
            context = member_keys.tls_credentials((as_agent,)).client_context(as_agent)
            await _impersonate(port, context, encode_hello(session, (as_agent,)) + frames)
            report.impersonated_frames += count
        report.targets.append(node)
