"""The checked hierarchies: small layouts where every property bites (data for :func:`.config.build`).

A few fixed layouts (groups, inputs and where the Byzantine agents sit),
chosen so the standard check covers a Byzantine representative, redundant
forwarding, trivial groups and a group with more than ``f_g`` faults, and stays
small enough to explore exhaustively. Kept apart from :mod:`.config` because
it is a table of test configurations, not the rules that validate one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core import AgentId, ConfigurationError


@dataclass(frozen=True)
class Layout:
    description: str
    #: (name, members, f, forwarders)
    groups: tuple[tuple[str, tuple[AgentId, ...], int, tuple[AgentId, ...]], ...]
    judges: tuple[AgentId, ...]
    inputs: dict[AgentId, str]
    byzantine: frozenset[AgentId]


def _names(prefix: str, start: int, count: int) -> tuple[AgentId, ...]:
    return tuple(f"{prefix}{i}" for i in range(start, start + count))


LAYOUTS: dict[tuple[int, int], Layout] = {
    # the standard check: 4 groups (G = 3F + 1 with F = 1), T = 3, two judges
    (12, 3): Layout(
        "g0: 4 members, f=1, Byzantine representative a3, honest deputy a0; g1, g2: single agents; "
        "g3: 4 members with 2 Byzantine, one its representative (over its bound: one faulty vote above)",
        (("g0", _names("a", 0, 4), 1, ("a3", "a0")), ("g1", ("a4",), 0, ("a4",)),
         ("g2", ("a5",), 0, ("a5",)), ("g3", _names("a", 6, 4), 1, ("a6",))),
        ("j0", "j1"),
        {"a0": "x", "a1": "x", "a2": "x", "a3": "x", "a4": "x", "a5": "x",
         "a6": "y", "a7": "x", "a8": "x", "a9": "y"},
        frozenset({"a3", "a6", "a7"})),
    # no faults: two groups of 4 and one single agent, T = 2
    (11, 0): Layout(
        "g0, g1: 4 honest members each (inputs split 3:1); g2: a single agent; no Byzantine agent",
        (("g0", _names("a", 0, 4), 1, ("a0",)), ("g1", _names("a", 4, 4), 1, ("a4",)),
         ("g2", ("a8",), 0, ("a8",))),
        ("j0", "j1"),
        {"a0": "x", "a1": "x", "a2": "x", "a3": "y", "a4": "y", "a5": "x", "a6": "x", "a7": "x", "a8": "y"},
        frozenset()),
    # a group over its bound with only 3 groups: the upper level is out of its bound (refused)
    (8, 2): Layout(
        "g0, g1: single agents voting x and y; g2: 4 members with 2 Byzantine; 3 groups cannot "
        "tolerate a faulty group, so a correct hierarchy refuses this layout",
        (("g0", ("a0",), 0, ("a0",)), ("g1", ("a1",), 0, ("a1",)), ("g2", _names("a", 2, 4), 1, ("a2",))),
        ("j0", "j1"),
        {"a0": "x", "a1": "y", "a2": "x", "a3": "y", "a4": "x", "a5": "y"},
        frozenset({"a4", "a5"})),
    # small layouts the mutants are checked on (a finite, small space even when the mutant misbehaves)
    (6, 1): Layout(
        "g0: 4 members, f=1, Byzantine representative a3, honest deputy a0; g1: a single agent; one judge",
        (("g0", _names("a", 0, 4), 1, ("a3", "a0")), ("g1", ("a4",), 0, ("a4",))),
        ("j0",),
        {"a0": "x", "a1": "x", "a2": "x", "a3": "y", "a4": "x"},
        frozenset({"a3"})),
    (9, 2): Layout(
        "g0, g1, g2: single agents; g3: 4 members with 2 Byzantine, one its representative; two judges",
        (("g0", ("a0",), 0, ("a0",)), ("g1", ("a1",), 0, ("a1",)), ("g2", ("a2",), 0, ("a2",)),
         ("g3", _names("a", 3, 4), 1, ("a3",))),
        ("j0", "j1"),
        {"a0": "x", "a1": "x", "a2": "y", "a3": "y", "a4": "x", "a5": "x", "a6": "y"},
        frozenset({"a3", "a4"})),
    # an undersized Byzantine group (n = 3, f = 1): refused by the size bound
    (7, 1): Layout(
        "g0: 3 members claiming f=1 (n < 3f+1); g1, g2: single agents",
        (("g0", _names("a", 0, 3), 1, ("a0",)), ("g1", ("a3",), 0, ("a3",)), ("g2", ("a4",), 0, ("a4",))),
        ("j0", "j1"),
        {"a0": "x", "a1": "x", "a2": "x", "a3": "x", "a4": "y"},
        frozenset({"a2"})),
}


def layout(agents: int, faulty: int) -> Layout:
    """The layout of that size; ``faulty=0`` also takes any layout of ``agents`` with nobody Byzantine."""
    if (agents, faulty) in LAYOUTS:
        return LAYOUTS[(agents, faulty)]
    same_size = [lay for (a, _f), lay in LAYOUTS.items() if a == agents]
    if faulty == 0 and same_size:
        chosen = same_size[0]
        return Layout(chosen.description + " (everyone honest)", chosen.groups, chosen.judges, chosen.inputs,
                      frozenset())
    try:
        return LAYOUTS[(agents, faulty)]
    except KeyError:
        known = ", ".join(f"--agents {a} --faulty {f}" for a, f in LAYOUTS)
        raise ConfigurationError(f"no checked hierarchy with {agents} agents and {faulty} faulty; "
                                 f"known layouts: {known}") from None
