"""The core additions for user protocols: roles and quorums in a membership, sends to a role, and a
node's own nondeterministic choice, in the checker and in the live drivers."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from mabeam import CheckConfig, Decide, Membership, Message, Protocol, Step, check, choose, run_protocol, withdraw
from mabeam.checker import ActorModel
from mabeam.core import ConfigurationError, Send, UnknownRoleError
from mabeam.core.choice import LATER, Choice, parse_choice
from mabeam.core.properties import Kind, Property


# ------------------------------------------------------------------ roles
def test_with_roles_names_agents_by_role_in_order() -> None:
    m = Membership.with_roles(coordinator=1, participant=3)
    assert m.agents == ("coordinator0", "participant0", "participant1", "participant2")
    assert m.role("participant") == ("participant0", "participant1", "participant2")
    assert m.roles_of("coordinator0") == {"coordinator"} and m.has_role("participant1", "participant")


def test_roles_may_overlap_and_keep_membership_order() -> None:
    m = Membership(["a", "b", "c"], roles={"acceptor": ["c", "a"], "proposer": ["a"]})
    assert m.role("acceptor") == ("a", "c") and m.roles_of("a") == {"acceptor", "proposer"}
    assert m.roles_of("b") == frozenset()


@pytest.mark.parametrize("roles, message", [
    ({"acceptor": ["z"]}, "non-members"),
    ({"Acceptor": ["a"]}, "invalid role name"),
    ({"acceptor": []}, "no members"),
    ({"acceptor": "ab"}, "not the string"),
])
def test_bad_roles_are_typed_errors(roles: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Membership(["a", "b"], roles=roles)


def test_unknown_role_names_the_known_ones() -> None:
    with pytest.raises(UnknownRoleError, match="roles: voter"):
        Membership(["a"], roles={"voter": ["a"]}).role("leader")


def test_quorum_helpers_count_distinct_members_of_the_role_only() -> None:
    m = Membership.with_roles(proposer=1, acceptor=5)
    assert m.majority("acceptor") == 3 and m.majority() == 4
    assert m.is_majority(["acceptor0", "acceptor1", "acceptor2"], role="acceptor")
    # the proposer, an outsider and a repeat do not count towards the acceptors' majority
    assert not m.is_majority(["acceptor0", "acceptor1", "acceptor1", "proposer0", "x"], role="acceptor")
    assert m.count_in(["acceptor0", "acceptor0", "nobody"], "acceptor") == 1
    assert m.is_quorum(["acceptor0", "acceptor4"], 2, role="acceptor")


def test_byzantine_quorum_is_2f_plus_1_at_3f_plus_1_and_refuses_too_many_faults() -> None:
    assert Membership.of_size(4).byzantine_quorum(1) == 3
    assert Membership.of_size(7).byzantine_quorum(2) == 5
    assert Membership.of_size(6).byzantine_quorum(1) == 4  # more than (n + f) / 2
    with pytest.raises(ConfigurationError, match="f <= \\(n-1\\)/3"):
        Membership.of_size(6).byzantine_quorum(2)


def test_memberships_without_roles_compare_and_hash_as_before() -> None:
    assert Membership(["a", "b"]) == Membership(["a", "b"]) and hash(Membership(["a"])) == hash(("a",))
    assert Membership(["a", "b"]) != Membership(["a", "b"], roles={"x": ["a"]})


# ------------------------------------------------------------------ a protocol using both
class Hello(Message, frozen=True, tag="test.hello"):
    pick: str


class PickState(msgspec.Struct, frozen=True):
    picked: str | None = None


class Picker(Protocol):
    """The one leader picks red or blue and tells the followers, who decide what they hear."""

    name = "picker"
    message_types = (Hello,)

    def on_start(self, agent: str) -> Step:
        if agent in self.members("leader"):
            return Step(PickState(), choose("colour", ("red", "blue"), prefer="blue", after=0.5))
        return Step(PickState())

    def on_choice(self, agent: str, state: PickState, label: str, option: str) -> Step:
        hello = Hello(session=self.session, sender=agent, pick=option)
        return Step(PickState(option), (*self.send_to_role("follower", hello), Decide(option)))

    def on_message(self, agent: str, state: PickState, message: Message) -> Step:
        assert isinstance(message, Hello)
        return Step(PickState(message.pick), (Decide(message.pick),))


def _picker() -> Picker:
    return Picker(Membership.with_roles(leader=1, follower=2))


def test_send_to_role_sends_to_each_member_but_the_sender() -> None:
    p = _picker()
    hello = Hello(session="s0", sender="leader0", pick="red")
    assert p.send_to_role("follower", hello) == (Send("follower0", hello), Send("follower1", hello))
    assert [s.to for s in p.send_to_role("leader", hello)] == []
    assert [s.to for s in p.send_to_role("leader", hello, include_self=True)] == ["leader0"]


def test_choose_arms_one_timer_per_option_and_fire_withdraws_the_others() -> None:
    effects = choose("colour", ("red", "blue"), prefer="blue", after=0.5)
    names = {e.name: e.delay for e in effects}
    assert names == {Choice("colour", "blue", ("red", "blue")).timer: 0.5,
                     Choice("colour", "red", ("red", "blue")).timer: 0.5 + LATER}
    red = Choice("colour", "red", ("red", "blue"))
    assert parse_choice(red.timer) == red and parse_choice("view-timeout") is None
    step = _picker().fire("leader0", PickState(), red.timer)
    assert step.effects[0].name == Choice("colour", "blue", ("red", "blue")).timer  # the sibling, cancelled
    assert step.state == PickState("red") and Decide("red") in step.effects
    assert {e.name for e in withdraw("colour", ("red", "blue"))} == set(names)


@pytest.mark.parametrize("call, message", [
    (lambda: choose("colour", ()), "offers no option"),
    (lambda: choose("colour", ("red", "red")), "twice"),
    (lambda: choose("colour", ("red",), prefer="green"), "not among"),
    (lambda: choose("bad label", ("red",)), "label"),
    (lambda: choose("colour", "red"), "not the string"),
    (lambda: choose("colour", ("red",), after=-1), "after"),
])
def test_bad_choices_are_typed_errors(call: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call()


def _all_pick(pick: str) -> Property:
    return Property(f"P-{pick}", f"everyone decided {pick}", Kind.SOMETIMES,
                    lambda snap: {d.value for d in snap.decisions} == {pick} and len(snap.decisions) == 3)


def test_the_checker_explores_every_option_of_a_choice() -> None:
    result = check(ActorModel(_picker(), CheckConfig()), [_all_pick("red"), _all_pick("blue")])
    assert [r.status for r in result.results] == ["reached", "reached"] and result.complete


def test_a_fair_choice_is_eventually_taken() -> None:
    decides = Property("P-L", "everyone decides", Kind.EVENTUALLY, lambda snap: len(snap.decisions) == 3)
    result = check(ActorModel(_picker(), CheckConfig()), [decides])
    assert result.results[0].status == "holds"


def test_live_drivers_take_the_preferred_option_after_its_delay() -> None:
    sim = run_protocol(_picker(), "simulator", seed=3)
    assert sim.decided_value == "blue" and sim.status == "decided"
    assert min(d.at for ds in sim.decisions.values() for d in ds) == pytest.approx(0.5)
    live = run_protocol(_picker(), "runtime", seed=3, timeout=5.0)
    assert live.decided_value == "blue" and live.status == "decided"
