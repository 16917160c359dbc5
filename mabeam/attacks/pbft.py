"""What attacks need to know about PBFT: how to re-value and re-sign one's own messages.

The adapter holds the attacker's own :class:`~mabeam.core.auth.Signer`
and the configured client requests (public: every replica holds them). Nothing
here can produce another replica's signature; a signer refuses to sign a
message whose sender is not its identity.
"""

from __future__ import annotations

import hashlib

from ..core.identity import AgentId
from ..core.messages import Message
from ..protocols.pbft import PBFTReplica, Signer
from ..protocols.pbft.messages import (
    Checkpoint,
    Commit,
    Prepare,
    PrePrepare,
    Request,
    ViewChange,
    request_digest,
)
from .base import MessageAdapter


class PBFTAdapter(MessageAdapter):
    """Re-signs, re-values and relocates the attacker's own PBFT messages."""

    def __init__(self, signer: Signer, requests: tuple[Request, ...]) -> None:
        self.signer = signer
        self.requests = requests

    def resign(self, message: Message) -> Message:
        return self.signer.sign(message.replace(signature=b""))

    def conflicting(self, message: Message) -> Message | None:
        if isinstance(message, PrePrepare):
            other = self._other_request(message.request)
            return self.resign(message.replace(request=other, digest=request_digest(other)))
        if isinstance(message, Prepare):  # the forwarded pre-prepare would give the lie away: leave it out
            return self.resign(message.replace(digest=self._other_digest(message.digest), pre_prepare=None))
        if isinstance(message, Commit):
            return self.resign(message.replace(digest=self._other_digest(message.digest)))
        if isinstance(message, Checkpoint):
            return self.resign(message.replace(digest=_scrambled(message.digest)))
        if isinstance(message, ViewChange) and message.prepared:
            return self.resign(message.replace(prepared=()))  # hides what it prepared from some
        return None

    def _other_request(self, current: Request | None) -> Request | None:
        """Another configured request (a value honest replicas accept), or the null request."""
        return next((q for q in self.requests if q != current), None)

    def _other_digest(self, digest: bytes) -> bytes:
        others = [request_digest(q) for q in self.requests if request_digest(q) != digest]
        return others[0] if others else request_digest(None) if digest != request_digest(None) else \
            _scrambled(digest)


def _scrambled(digest: bytes) -> bytes:
    return hashlib.blake2b(b"mabeam.attack/" + digest, digest_size=len(digest) or 16).digest()


def pbft_adapter(replica: PBFTReplica, agent: AgentId) -> PBFTAdapter:
    """The adapter for ``agent`` in ``replica``'s instance: its own key, the public requests."""
    return PBFTAdapter(replica.signer(agent), replica.config.requests)
