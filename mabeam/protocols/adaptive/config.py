"""Stages of an adaptive chain and their quorum arithmetic (spec: ``spec/adaptive.md``).

A stage is a quorum system over the whole membership: integer weights per
member, a decision quorum ``q`` (units a value's commits must reach) and a
fault budget ``F`` (units a Byzantine set may hold while the stage's guarantee
holds). Leaving stage ``s`` needs SWITCH votes holding ``T - q + 1 + F'`` units,
where ``F'`` is ``F`` when the next stage tolerates Byzantine agents and 0 when
it is crash-only: every switch quorum then meets every decision quorum of
``s`` in at least one honest member under the next stage's fault assumption,
and that member's SWITCH reports the lock. ``models/adaptive.py`` proves it.

The builders at the end make the checked instances. They take the machine
class as an argument: ``machine.py`` imports this module, so the package root
binds :class:`~.machine.AdaptiveCoordination` as their default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from ...core import AgentId, ConfigurationError, InsufficientReplicasError, InvalidWeightError, Membership

StageKind = Literal["byzantine", "weighted", "majority"]
KINDS: tuple[str, ...] = ("byzantine", "weighted", "majority")

#: the guarantee a decision reached in (or after passing through) a stage of each kind keeps
GUARANTEES: dict[str, str] = {
    "byzantine": "byzantine-count",  # safe with at most f Byzantine members
    "weighted": "byzantine-weight",  # safe while Byzantine members hold at most F of the weight (< 1/3)
    "majority": "crash-only",  # safe only if no member is Byzantine
}
#: strength rank of each kind; a chain must never get stronger
RANK: dict[str, int] = {"byzantine": 0, "weighted": 1, "majority": 2}

#: what a Byzantine member may inject in exhaustive checks (see :class:`.adversary.AdaptiveAdversary`):
#: everything it can sign (``full``); the override attack (``override``: help the first candidate win
#: stage 0, equivocate there, then report and push the other candidate in every later stage); nothing
#: (``silent``)
ADVERSARIES = ("full", "override", "silent")


def validate_adversary(adversary: object) -> str:
    """``adversary`` if it names one of :data:`ADVERSARIES` (typed error otherwise)."""
    if adversary not in ADVERSARIES:
        raise ConfigurationError(f"adversary must be one of {', '.join(ADVERSARIES)}, got {adversary!r}")
    return str(adversary)


@dataclass(frozen=True)
class StageSpec:
    """What a caller asks for: a stage kind and its parameters.

    ``faulty`` is the Byzantine count bound for ``byzantine``; ``faulty_weight``
    the Byzantine weight bound for ``weighted``; ``crash_bound`` the crash count
    the caller assumes for ``majority`` (its precondition is ``crash_bound < n/2``).
    ``share`` is the fraction of the session deadline the stage may use.
    """

    kind: str
    faulty: int = 0
    weights: Mapping[AgentId, int] | None = None
    faulty_weight: int = 0
    crash_bound: int = 0
    share: float | None = None


@dataclass(frozen=True)
class Stage:
    """A validated stage: integer weights by membership position and quorum sizes in units."""

    index: int
    kind: str
    weights: tuple[int, ...]
    total: int
    quorum: int  # decision (and lock) quorum, in units
    fault_budget: int  # Byzantine units tolerated while the guarantee holds (0: crash-only)
    crash_bound: int
    budget: float  # stage timer delay (time units of the driver)

    @property
    def guarantee(self) -> str:
        return GUARANTEES[self.kind]

    @property
    def byzantine_tolerant(self) -> bool:
        return self.kind != "majority"

    def precondition_holds(self, n: int) -> bool:
        """Whether entering this stage is admissible by configuration (majority: crash bound < n/2)."""
        return self.kind != "majority" or 2 * self.crash_bound < n


def byzantine_quorum(n: int, f: int) -> int:
    """Decision quorum of a Byzantine count stage: any two such quorums share f+1 members."""
    return (n + f) // 2 + 1


def weighted_quorum(total: int) -> int:
    """Smallest integer weight strictly above 2/3 of ``total``."""
    return (2 * total) // 3 + 1


def majority_quorum(n: int) -> int:
    return n // 2 + 1


def switch_quorum(stage: Stage, target: Stage) -> int:
    """Units of SWITCH votes needed to leave ``stage`` for ``target`` (see the module docstring)."""
    carried = stage.fault_budget if target.byzantine_tolerant else 0
    return stage.total - stage.quorum + 1 + carried


def weakest(stages: Sequence[Stage]) -> str:
    """The guarantee of the weakest stage among ``stages`` (the chain's order is never stronger)."""
    return GUARANTEES[max((s.kind for s in stages), key=RANK.__getitem__)]


def build_stages(membership: Membership, specs: Sequence[StageSpec], deadline: float) -> tuple[Stage, ...]:
    """Validate a chain and compute each stage's quorum system and timer budget."""
    if not specs:
        raise ConfigurationError("an adaptive chain needs at least one stage")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not 0 < deadline < float("inf"):
        raise ConfigurationError(f"deadline must be a positive finite number, got {deadline!r}")
    n = len(membership)
    shares = [s.share for s in specs]
    given = sum(x for x in shares if x is not None)
    if any(x is not None and (isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x <= 1)
           for x in shares) or given > 1:
        raise ConfigurationError(f"stage shares must be in (0, 1] and sum to at most 1, got {shares}")
    open_slots = sum(x is None for x in shares)
    # the last stage runs until the deadline; the others get equal parts of what is left
    default_share = (1 - given) / open_slots if open_slots else 0.0
    stages = []
    rank = -1
    for i, spec in enumerate(specs):
        if not isinstance(spec, StageSpec) or spec.kind not in KINDS:
            raise ConfigurationError(f"stage {i}: kind must be one of {', '.join(KINDS)}, got {spec!r}")
        if RANK[spec.kind] < rank:
            raise ConfigurationError(f"stage {i} ({spec.kind}) is stronger than an earlier stage: "
                                     "a fallback chain only weakens")
        rank = RANK[spec.kind]
        weights = _weights(membership, spec)
        total = sum(weights)
        quorum, budget = _quorum(n, total, spec, i)
        share = spec.share if spec.share is not None else default_share
        stages.append(Stage(i, spec.kind, weights, total, quorum, budget, _crash_bound(n, spec),
                            float(deadline) * share))
    return tuple(stages)


def _weights(membership: Membership, spec: StageSpec) -> tuple[int, ...]:
    if spec.kind != "weighted":
        if spec.weights is not None:
            raise ConfigurationError(f"a {spec.kind} stage counts members; weights apply to weighted stages")
        return (1,) * len(membership)
    if spec.weights is None:
        raise InvalidWeightError("a weighted stage needs weights")
    unknown = set(spec.weights) - set(membership)
    if unknown:
        raise InvalidWeightError(f"weights for non-members {sorted(unknown)}")
    out = []
    for a in membership:
        w = spec.weights.get(a)
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise InvalidWeightError(f"weight of {a} must be a non-negative integer, got {w!r}")
        out.append(w)
    if sum(out) <= 0:
        raise InvalidWeightError("a weighted stage needs a positive total weight")
    return tuple(out)


def _quorum(n: int, total: int, spec: StageSpec, i: int) -> tuple[int, int]:
    if spec.kind == "byzantine":
        f = spec.faulty
        if isinstance(f, bool) or not isinstance(f, int) or f < 0:
            raise ConfigurationError(f"stage {i}: faulty must be a non-negative integer, got {f!r}")
        if n < 3 * f + 1:
            raise InsufficientReplicasError(f"stage {i}: tolerating f={f} Byzantine members needs n >= "
                                            f"{3 * f + 1}, got {n}")
        return byzantine_quorum(n, f), f
    if spec.kind == "weighted":
        fw = spec.faulty_weight
        if isinstance(fw, bool) or not isinstance(fw, int) or fw < 0 or 3 * fw >= total:
            raise InvalidWeightError(f"stage {i}: faulty_weight must be an integer below a third of "
                                     f"the total weight {total}, got {fw!r}")
        return weighted_quorum(total), fw
    return majority_quorum(n), 0


def _crash_bound(n: int, spec: StageSpec) -> int:
    c = spec.crash_bound
    if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= n:
        raise ConfigurationError(f"crash_bound must be an integer in 0..{n}, got {c!r}")
    return c


# ------------------------------------------------------------ checked instances
P = TypeVar("P")


def demo_chain(agents: int, faulty: int, kinds: str = "bwm") -> tuple[StageSpec, ...]:
    """A chain over ``kinds`` (b: Byzantine, w: weighted, m: majority) for ``agents`` members whose
    last ``faulty`` are Byzantine. In the weighted stage the last honest member is the expert:
    it weighs 2(n-1)+1 and everyone else 1, exactly the quorum, so it decides that stage alone."""
    n = agents
    expert = n - faulty - 1
    weights = {a: (2 * (n - 1) + 1 if i == expert else 1) for i, a in enumerate(Membership.of_size(n).agents)}
    specs = {"b": StageSpec("byzantine", faulty=faulty),
             "w": StageSpec("weighted", weights=weights, faulty_weight=faulty),
             "m": StageSpec("majority", crash_bound=min(faulty, (n - 1) // 2))}
    try:
        return tuple(specs[k] for k in kinds)
    except KeyError:
        raise ConfigurationError(f"chain letters must be b, w or m, got {kinds!r}") from None


def build(agents: int, faulty: int, cls: Callable[..., P], *, kinds: str = "bwm",
          allow_weaker_after_evidence: bool = False, adversary: str = "full") -> P:
    """The checked configuration: honest inputs x, ..., x, y (the last honest member dissents),
    so the first stage can decide x and a fallback can be pushed towards y."""
    if not isinstance(agents, int) or agents < 1 or not isinstance(faulty, int) or not 0 <= faulty < agents:
        raise ConfigurationError(f"need 0 <= faulty < agents, got agents={agents!r}, faulty={faulty!r}")
    names = Membership.of_size(agents).agents
    honest = agents - faulty
    inputs: dict[AgentId, str] = {a: ("x" if i < max(honest - 1, 1) else "y") for i, a in enumerate(names)}
    return cls(Membership(names), inputs, demo_chain(agents, faulty, kinds), deadline=10.0,
               allow_weaker_after_evidence=allow_weaker_after_evidence, adversary=adversary)


def checked(agents: int, faulty: int, cls: Callable[..., P]) -> P:
    """The standard check: Byzantine -> weighted, the override attack for any Byzantine member."""
    return build(agents, faulty, cls, kinds="bw", adversary="override")


def evidence_configuration(cls: Callable[..., P], *, allow_weaker_after_evidence: bool = False) -> P:
    """Two honest members and a Byzantine one (weights 2, 2, 1) on weighted -> majority: the
    Byzantine member equivocates, and an honest member alone holds the switch quorum to majority."""
    names = Membership.of_size(3).agents
    weights = dict(zip(names, (2, 2, 1)))
    chain = (StageSpec("weighted", weights=weights, faulty_weight=1), StageSpec("majority", crash_bound=0))
    return cls(Membership(names), dict(zip(names, ("x", "y", "y"))), chain, deadline=10.0,
               allow_weaker_after_evidence=allow_weaker_after_evidence, adversary="override")


def lock_order_configuration(cls: Callable[..., P]) -> P:
    """Three weighted stages over two honest members and a Byzantine one (weight 1 of 5 in each):
    weights 3, 1, 1, then 1, 3, 1, then 3, 1, 1, inputs x, y (a2 is Byzantine). The heavy member
    changes between stages, so a Byzantine member can assemble a lock on x in stage 0 from a0's
    vote and reveal it only after stage 1 has locked (and decided) y: the third stage's entrants
    then hold two locks on two values, and only the higher one is safe to carry."""
    names = Membership.of_size(3).agents
    chain = tuple(StageSpec("weighted", weights=dict(zip(names, w)), faulty_weight=1)
                  for w in ((3, 1, 1), (1, 3, 1), (3, 1, 1)))
    return cls(Membership(names), dict(zip(names, ("x", "y", "y"))), chain, deadline=10.0)


def crash_bound_configuration(cls: Callable[..., P]) -> P:
    """Two members, Byzantine -> majority with a declared crash bound of 1 = n/2: majority is barred."""
    names = Membership.of_size(2).agents
    chain = (StageSpec("byzantine"), StageSpec("majority", crash_bound=1))
    return cls(Membership(names), dict(zip(names, ("x", "y"))), chain, deadline=10.0)
