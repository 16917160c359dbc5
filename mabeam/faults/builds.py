"""The protocol instance every node process of a fault run builds: same members, inputs and public keys.

Why a builder per protocol: the registry's factories make the model checker's
instances, signed with keys derived from a public string, which the TCP
runtime refuses. Here the signed protocols (PBFT, adaptive, hierarchical) get
the deployer's keys (:mod:`mabeam.runtime.keygen`), each node holding only its
own signing keys, and the machine class is either the protocol's or one of its
registered mutants (a deliberately broken build, chosen per node).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..core.auth import Authenticator
from ..core.errors import ConfigurationError
from ..core.identity import Membership
from ..core.messages import Message
from ..core.protocol import Protocol

#: the client whose signed request PBFT orders (not a replica)
CLIENT = "client"
#: what PBFT's client asks for in every fault run
REQUEST_VALUE = "block-faults"
#: input layouts: a clear winner (the run should decide), or a split the model can only decide by a bug
INPUTS = ("clear", "split")


def _majority(n: int, machine: type, auth: Authenticator | None, request: Message | None, inputs: str) -> Protocol:
    membership = Membership.of_size(n)
    half = n // 2
    ballots = {a: ("x" if (i < half if inputs == "split" else i < n - 1) else "y")
               for i, a in enumerate(membership)}
    return machine(membership, ballots)


def _weighted(n: int, machine: type, auth: Authenticator | None, request: Message | None, inputs: str) -> Protocol:
    membership = Membership.of_size(n)
    half = n // 2
    ballots = {a: ("x" if (i < half or inputs == "clear") else "y") for i, a in enumerate(membership)}
    weights = {a: 1 for a in membership}
    return machine(membership, ballots, weights, mode="byzantine",
                   max_faulty_weight=(n - 1) // 3)


def _pbft(n: int, machine: type, auth: Authenticator | None, request: Message | None, inputs: str) -> Protocol:
    from ..protocols.pbft import PBFTConfig

    if auth is None or request is None:
        raise ConfigurationError("a PBFT fault run needs the deployer's keys and the client's signed request")
    membership = Membership.of_size(n)
    config = PBFTConfig(membership=membership, f=(n - 1) // 3, auth=auth, requesters=(CLIENT,),
                        requests=(request,), max_seq=1, max_view=3, base_timeout=1.0)  # type: ignore[arg-type]
    return machine(config)


def _iterative(n: int, machine: type, auth: Authenticator | None, request: Message | None, inputs: str) -> Protocol:
    from ..protocols.iterative.config import build

    return build(n, (n - 1) // 3, machine, grace=0.2)


def _categorical(n: int, machine: type, auth: Authenticator | None, request: Message | None,
                 inputs: str) -> Protocol:
    from ..protocols.iterative_categorical.config import build

    return build(n, (n - 1) // 2, machine)


def _adaptive(n: int, machine: type, auth: Authenticator | None, request: Message | None, inputs: str) -> Protocol:
    from ..protocols.adaptive.config import build

    return build(n, 0, functools.partial(machine, auth=auth), kinds="bwm")


def _hierarchical(n: int, machine: type, auth: Authenticator | None, request: Message | None,
                  inputs: str) -> Protocol:
    from ..protocols.hierarchical.config import build

    return build(n, 0, functools.partial(machine, auth=auth))


Builder = Callable[[int, type, "Authenticator | None", "Message | None", str], Protocol]
#: protocol -> (builder, default agents, whether its messages are signed)
BUILDERS: dict[str, tuple[Builder, int, bool]] = {
    "majority": (_majority, 5, False),
    "weighted": (_weighted, 4, False),
    "pbft": (_pbft, 4, True),
    "iterative": (_iterative, 4, False),
    "iterative-categorical": (_categorical, 3, False),
    "adaptive": (_adaptive, 4, True),
    "hierarchical": (_hierarchical, 12, True),
}


def machine_class(protocol: str, mutant: str | None) -> type[Protocol]:
    """The honest machine of ``protocol``, or the class of its registered mutant ``mutant``."""
    from ..api.registry import get

    entry = get(protocol)
    if mutant is None:
        return type(entry.factory(*_size(protocol)))
    found = entry.mutant(mutant)
    if found.machine is None:
        raise ConfigurationError(f"mutant {protocol}/{mutant} does not say which class it is")
    return found.machine


def _size(protocol: str) -> tuple[int, int]:
    from ..api.registry import get

    entry = get(protocol)
    return entry.default_agents, entry.default_faulty


def build(protocol: str, n: int, *, auth: Authenticator | None = None, request: Message | None = None,
          mutant: str | None = None, inputs: str = "clear") -> Protocol:
    """``protocol`` among ``n`` agents, as a fault run's nodes build it (``mutant``: that broken class)."""
    if protocol not in BUILDERS:
        raise ConfigurationError(f"no fault-run build for {protocol!r} (known: {', '.join(BUILDERS)})")
    if inputs not in INPUTS:
        raise ConfigurationError(f"inputs must be one of {INPUTS}, got {inputs!r}")
    builder, _, _ = BUILDERS[protocol]
    return builder(n, machine_class(protocol, mutant), auth, request, inputs)


def signed(protocol: str) -> bool:
    return BUILDERS[protocol][2]


def default_agents(protocol: str) -> int:
    return BUILDERS[protocol][1]


def agents_of(protocol: str, n: int) -> tuple[str, ...]:
    """The member names of ``protocol`` at size ``n`` (a hierarchy names its own), built with symbolic keys."""
    probe: Any = build(protocol, n, auth=None, request=None) if not signed(protocol) else None
    if probe is not None:
        return tuple(probe.agents)
    if protocol == "pbft":
        return Membership.of_size(n).agents
    from ..api.registry import get

    return tuple(get(protocol).factory(n, 0).agents)
