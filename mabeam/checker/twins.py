"""Twins: Byzantine behaviour from honest code, by running two copies under one identity.

Bano et al. (2021): instead of writing an adversary, give one identity two
honest nodes with separate states. Each copy follows the protocol, but
together they may equivocate, forget what the other sent, or vote twice,
which is what a Byzantine node does. :class:`Twins` wraps any protocol: the
group gains one extra agent (``<identity>.twin``) that runs the protocol as
``identity`` and signs with its key. Broadcasts reach both copies; messages
sent to the identity reach the original only. Properties must treat both
names as faulty: they are listed in :attr:`Twins.twinned`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..core import AgentId, Envelope, Membership, Message, Protocol, Step
from ..core.adversary import Adversary
from ..core.errors import UnknownAgentError

TWIN_SUFFIX = ".twin"


class _TwinsAdversary(Adversary):
    """The wrapped protocol's adversary, acting under the real identities."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        assert isinstance(protocol, Twins)
        return protocol.inner.adversary.messages(protocol.inner, protocol.real(faulty))

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        assert isinstance(protocol, Twins)
        return protocol.inner.adversary.forged(protocol.inner)


class Twins(Protocol):
    """``inner`` with ``identity`` run twice: as itself and as ``identity + ".twin"``."""

    adversary = _TwinsAdversary()

    def __init__(self, inner: Protocol, identity: AgentId) -> None:
        if identity not in inner.membership:
            raise UnknownAgentError(f"{identity!r} is not a member of the wrapped group")
        self.inner = inner
        self.identity = identity
        self.twin = identity + TWIN_SUFFIX
        super().__init__(Membership((*inner.agents, self.twin)), inner.session)
        self.name = inner.name  # type: ignore[misc]
        self.message_types = inner.message_types  # type: ignore[misc]
        #: identities whose behaviour is not honest (both copies of the twinned one)
        self.twinned = frozenset({identity, self.twin})

    def real(self, agent: AgentId) -> AgentId:
        """The identity an agent of this group acts as."""
        return self.identity if agent == self.twin else agent

    # the wrapped protocol sees only real identities
    def on_start(self, agent: AgentId) -> Step:
        return self.inner.on_start(self.real(agent))

    def screen(self, agent: AgentId, message: Message) -> str | None:
        return self.inner.screen(self.real(agent), message)

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        return self.inner.on_message(self.real(agent), state, message)

    def on_timer(self, agent: AgentId, state: Any, timer: str) -> Step:
        return self.inner.on_timer(self.real(agent), state, timer)

    def decisions_agree(self, values: Sequence[Any]) -> bool:
        return self.inner.decisions_agree(values)

    @property
    def promises_agreement(self) -> bool:  # type: ignore[override]
        return self.inner.promises_agreement

    def phase_of(self, state: Any) -> str | None:
        return self.inner.phase_of(state)

    def decision_of(self, state: Any) -> Any:
        return self.inner.decision_of(state)

    def describe_state(self, state: Any) -> str:
        return self.inner.describe_state(state)
