"""Protocol state machines. Each module imports only :mod:`mabeam.core` (and this package)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from ..core import AgentId, Message
from ..core.auth import Authenticator


def classes_by(agents: Iterable[AgentId], key: Callable[[AgentId], Hashable]) -> tuple[frozenset[AgentId], ...]:
    """The agents grouped by ``key``, keeping only groups of two or more (for ``Protocol.symmetry``).

    Why one helper: every protocol states its symmetry the same way, as "agents whose
    configuration (role, input, weights...) is identical", and only the key differs.
    Agents are grouped in membership order, so the result does not depend on hashing.
    """
    groups: dict[Hashable, list[AgentId]] = {}
    for agent in agents:
        groups.setdefault(key(agent), []).append(agent)
    return tuple(frozenset(group) for group in groups.values() if len(group) > 1)


def resigned(auth: Authenticator, original: Message, renamed: Message) -> Message:
    """``renamed`` (``original`` with agents renamed) as its sender would have signed it (for
    ``Protocol.rename_signature``, which symmetry reduction calls on every renamed message).

    A validly signed original is signed afresh by the renamed message's sender: that is the
    message the permuted run carries. An invalid signature (empty, made up, or another's key)
    keeps its bytes, which do not sign the renamed content either, so it stays invalid. Kinds
    without a ``signature`` field (a certificate whose authority is the signed votes inside)
    are returned as they are; their inner messages were renamed, and re-signed, on their own.
    """
    if "signature" not in type(renamed).__struct_fields__ or not auth.verify(original):
        return renamed
    return auth.signer(renamed.sender).sign(renamed)
