"""The sans-I/O node interface every protocol implements and every driver runs.

A :class:`Protocol` object holds one instance's immutable configuration
(membership, inputs, thresholds). Node state is a separate immutable value.
Drivers call :meth:`Protocol.start`, :meth:`Protocol.receive` and
:meth:`Protocol.fire`; each returns a :class:`Step` (new state, effects). The
protocol never awaits, sleeps, reads the clock, draws global randomness or does
I/O, which is what lets one definition be model-checked and run live.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from .adversary import SILENT, Adversary
from .agreement import exactly_equal
from .auth import Authenticator
from .choice import parse_choice
from .effects import CancelTimer, Effect, Reject, Send
from .identity import AgentId, Membership
from .interpret import SentMessages, interpret
from .messages import Envelope, Message, MessageCodec
from .properties import Property

__all__ = ["UNFAIR", "Envelope", "Protocol", "Step"]

#: the fairness class of an action nothing obliges (see :meth:`Protocol.fairness_class`)
UNFAIR = "unfair"


class Step(NamedTuple):
    """The result of one protocol step: the node's new state and what to do."""

    state: Any
    effects: tuple[Effect, ...] = ()


class Protocol(ABC):
    """One protocol instance: configuration plus pure transition functions."""

    #: registry name, e.g. ``"majority"``
    name: ClassVar[str]
    #: every message type this protocol sends or accepts
    message_types: ClassVar[tuple[type[Message], ...]]
    #: the safety, reachability and liveness properties every driver judges this protocol by
    properties: ClassVar[tuple[Property, ...]] = ()
    #: what a Byzantine member or an outsider may inject in the model checker (``adversary.py``)
    adversary: ClassVar[Adversary] = SILENT
    #: node-state and message types whose named fields are tuples indexed by member (membership order),
    #: which renaming agents (symmetry reduction) must reorder rather than rename entry by entry
    per_member_fields: ClassVar[Mapping[type, tuple[str, ...]]] = {}
    #: the type of :meth:`durable`'s values, for stores that decode them (``None``: nothing is durable)
    durable_type: ClassVar[Any] = None

    def __init__(self, membership: Membership, session: str = "s0") -> None:
        if not isinstance(membership, Membership):
            membership = Membership(membership)
        if not isinstance(session, str) or not session:
            from .errors import ConfigurationError

            raise ConfigurationError("session must be a non-empty string")
        self.membership = membership
        self.session = session
        self._codec: MessageCodec | None = None

    # ----------------------------------------------------------------- drivers
    def start(self, agent: AgentId) -> Step:
        """The agent's initial state and first effects."""
        self.membership.require(agent)
        return self.on_start(agent)

    def receive(self, agent: AgentId, state: Any, message: Message) -> Step:
        """Handle an incoming message after screening it.

        Messages of a foreign type, for another session or from a non-member are
        rejected (a :class:`Reject` effect the driver counts); the state is unchanged.
        """
        reason = self.screen(agent, message)
        if reason is not None:
            return Step(state, (Reject(reason, message),))
        return self.on_message(agent, state, message)

    def fire(self, agent: AgentId, state: Any, timer: str) -> Step:
        """Handle the expiry of a timer the agent armed earlier.

        A timer that stands for an option of a choice (offered with
        :func:`mabeam.core.choice.choose`) goes to :meth:`on_choice` instead,
        after the options not taken are withdrawn.
        """
        choice = parse_choice(timer)
        if choice is None:
            return self.on_timer(agent, state, timer)
        step = self.on_choice(agent, state, choice.label, choice.option)
        withdrawn = tuple(CancelTimer(other.timer) for other in choice.siblings())
        return Step(step.state, withdrawn + tuple(step.effects))

    # ------------------------------------------------------------- crash-recover
    def durable(self, agent: AgentId, state: Any) -> Any:
        """The part of ``agent``'s state that survives a crash: what it signed and what it must not forget.

        A driver with stable storage writes this value (an instance of
        :attr:`durable_type`, encodable as MessagePack) after every step that
        changes it and *before* the step's messages leave, so a restarted node
        never contradicts a message it sent. Everything else (votes collected,
        timers, deferred messages) is volatile and lost in a crash. The default,
        ``None``, keeps nothing: right for protocols whose restart cannot
        contradict what they sent (a vote recomputed from a fixed input).
        """
        return None

    def recover(self, agent: AgentId, durable: Any) -> Step:
        """``agent`` restarting after a crash with only ``durable`` (a value :meth:`durable` returned).

        Returns the restarted node's state and first effects (re-armed timers,
        messages that help it catch up). The model checker's crash-recover fault
        and the runtime's restart from a store both call this. The default starts
        afresh (:meth:`start`), which is what ``durable() is None`` means.
        """
        return self.start(agent)

    # ---------------------------------------------------------- protocol hooks
    @abstractmethod
    def on_start(self, agent: AgentId) -> Step: ...

    @abstractmethod
    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step: ...

    def on_timer(self, agent: AgentId, state: Any, timer: str) -> Step:
        return Step(state)

    def on_choice(self, agent: AgentId, state: Any, label: str, option: str) -> Step:
        """The node took ``option`` of the choice ``label`` it offered (see :mod:`mabeam.core.choice`)."""
        return Step(state)

    def screen(self, agent: AgentId, message: Message) -> str | None:
        """Why ``message`` must be refused before the protocol looks at it, or ``None``."""
        types = self.message_types
        if type(message) not in types and not isinstance(message, types):  # the exact type first: cheaper
            return "foreign-message-type"
        if message.session != self.session:
            return "wrong-session"
        if message.sender not in self.membership:
            return "unknown-sender"
        if message.sender == agent:
            return "own-message"
        return None

    # ------------------------------------------------------------------ helpers
    @property
    def agents(self) -> tuple[AgentId, ...]:
        return self.membership.agents

    @property
    def n(self) -> int:
        return len(self.membership)

    def members(self, role: str) -> tuple[AgentId, ...]:
        """The agents holding ``role`` in this instance's membership, in membership order."""
        return self.membership.role(role)

    def send_to_role(self, role: str, message: Message, *, include_self: bool = False) -> tuple[Send, ...]:
        """One :class:`~mabeam.core.effects.Send` of ``message`` to every member of ``role``
        (the sender left out unless ``include_self``)."""
        return tuple(Send(to, message) for to in self.membership.role(role)
                     if include_self or to != message.sender)

    @property
    def codec(self) -> MessageCodec:
        if self._codec is None:
            self._codec = MessageCodec(self.message_types)
        return self._codec

    def decision_of(self, state: Any) -> Any:
        """The value this node has decided, or ``None`` (used by reports and monitors)."""
        return getattr(state, "decided", None)

    def phase_of(self, state: Any) -> str | None:
        """The name of the phase a node state is in (observers report phase changes), or ``None``."""
        phase = getattr(state, "phase", None)
        return phase if isinstance(phase, str) else None

    def decisions_agree(self, values: Sequence[Any]) -> bool:
        """Whether honest decisions for one instance agree; exact equality unless a protocol
        promises less (approximate agreement overrides this with its epsilon)."""
        return exactly_equal(values)

    #: whether honest decisions must agree (:meth:`decisions_agree`); a protocol that promises no
    #: agreement (categorical refinement under crashes) still reports it, but disagreement is no violation
    promises_agreement: bool = True

    def fairness_class(self, kind: str, agent: AgentId, detail: Any) -> Hashable | None:
        """The weak-fairness class of a fair action (``kind`` deliver or timer, at ``agent``).

        The checker's fairness: an action class that stays enabled is eventually
        taken. The default (``None``) makes each delivery to, and each timer of, a
        correct agent its own class (weak fairness per action); a protocol may return
        a coarser class, e.g. ``("agent", agent)`` for "the agent keeps taking steps",
        or :data:`UNFAIR` for a choice nothing obliges (an optional action).
        """
        return None

    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """Classes of agents that are interchangeable in this configuration (default: none).

        Agents are interchangeable when swapping their names everywhere (node states,
        inputs, messages, decisions) maps every behaviour of the configuration to another
        behaviour of it: honest members with equal roles and inputs, Byzantine members
        among themselves. The checker's symmetry reduction relies on it, and on every
        checked property being symmetric too; its soundness tests compare reduced and
        unreduced searches.
        """
        return ()

    def sends_no_more(self, state: Any) -> bool:
        """Whether a node in ``state`` will never send another message, whatever it receives or
        whichever of its timers fires (default: ``False``, it may).

        The checker's partial-order reduction relies on it (another agent's future
        messages are what would make reordering unsound); a wrong ``True`` makes that
        reduction unsound, so declare it only where the machine's code guarantees it.
        """
        return False

    def rename_signature(self, original: Message, renamed: Message) -> Message:
        """``renamed`` (``original`` with agents renamed) signed as its new sender would sign it.

        Needed by symmetry reduction for signed messages. A protocol whose messages
        carry a ``signature`` overrides this (re-signing when ``original`` verified,
        keeping an invalid signature invalid); the default refuses signed messages.
        """
        if getattr(renamed, "signature", b""):
            from .errors import ConfigurationError

            raise ConfigurationError(f"{self.name} signs its messages: it must define rename_signature() "
                                     "to be checked with symmetry reduction")
        return renamed

    def describe_state(self, state: Any) -> str:
        """A one-line rendering of a node state for traces."""
        return repr(state)

    # ------------------------------------------------------------ deployment
    def authenticator(self) -> Authenticator | None:
        """The authenticator this instance signs and verifies with, or ``None`` if it signs nothing.

        Network runtimes ask so they can refuse keys derived from a public string
        (:attr:`~mabeam.core.auth.Authenticator.publicly_derived`). The default is
        the instance's ``auth`` attribute when it is an authenticator.
        """
        auth = getattr(self, "auth", None)
        return auth if isinstance(auth, Authenticator) else None

    def largest_message_bytes(self, agents: Iterable[AgentId] | None = None) -> int:
        """The canonical size of the largest message ``agents`` (default: all) are known to send, before running.

        A network runtime asks for the agents it hosts and compares the answer
        with its frame size when a session is set up, so a value too large fails
        then rather than as a silent drop later. The default measures the
        messages those agents send at start (which is where protocols put their
        inputs); a protocol whose later messages carry more (forwarded requests,
        certificates) overrides it with a bound on those.
        """
        sent = SentMessages()
        for agent in self.agents if agents is None else agents:
            interpret(self.start(agent).effects, sent)
        return max((len(m.canonical()) for m in sent.messages), default=0)
