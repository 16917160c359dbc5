------------------------------- MODULE Majority -------------------------------
(***************************************************************************)
(* Simple majority voting, crash-fault tolerant: the machine of             *)
(* mabeam/protocols/majority.py, seen from outside (spec/majority.md).      *)
(*                                                                         *)
(* Every agent broadcasts its input once. An agent counts at most one vote *)
(* per member and decides v as soon as it has counted votes for v from     *)
(* n \div 2 + 1 distinct members, its own included. Up to F agents crash   *)
(* (2F < n); a crash silences the agent and discards messages to it.       *)
(*                                                                         *)
(* What this abstracts from the code:                                      *)
(*  - the network is the checker's "multiset" network without loss or      *)
(*    duplication budgets: each vote is sent once to each other member and *)
(*    consumed on delivery, in any order;                                  *)
(*  - one instance (session) is modelled, so the session id, the           *)
(*    wrong-session and own-message screens are implicit;                  *)
(*  - MajorityState's votes and support are one tally of <<voter, value>>  *)
(*    pairs (support is the count of votes per value, MAJ-S4 in the code); *)
(*    phase is derived: "decided" iff decided[a] # None;                   *)
(*  - intruders (non-members) inject votes for any value, a superset of    *)
(*    the code's single forged vote;                                       *)
(*  - inputs: those of mabeam.protocols.majority.build(3, 1): a strict    *)
(*    minority, a0, proposes "x", the rest "y" (CheckedInput).             *)
(* Trace mapping (mabeam/tla/mappings/majority.py, checked by TLC in        *)
(* tests/test_tla_trace.py): tally[a] = {<<member, vote>>} of               *)
(* MajorityState.votes (support beyond the members' votes maps to           *)
(* <<"intruder", v>>), decided[a] = MajorityState.decided (None -> None),   *)
(* crashed = the run's crashed set, msgs \cap MemberVotes = the members'    *)
(* votes in flight to live agents (the forged votes are left to TLC),       *)
(* decisions = the decisions so far.                                        *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS
    Agents,      \* the members
    Values,      \* the values agents may propose
    Input,       \* Input[a]: the value agent a proposes
    F,           \* the most agents that may crash
    Intruders,   \* identities that are not members (may be empty)
    None         \* "not decided yet" (a model value in Majority.cfg)

ASSUME Input \in [Agents -> Values]
ASSUME F \in Nat /\ 2 * F < Cardinality(Agents)
ASSUME Intruders \cap Agents = {}
ASSUME None \notin Values

N == Cardinality(Agents)
Quorum == N \div 2 + 1

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [n |-> N, quorum |-> Quorum, input |-> Input]

VARIABLES
    tally,      \* tally[a]: set of <<voter, value>> pairs agent a has counted
    decided,    \* decided[a]: the value a decided, or None
    msgs,       \* votes in flight: records [to, sender, value]
    crashed,    \* agents that have crashed
    decisions   \* every <<agent, value>> decision ever taken (the global log)

vars == <<tally, decided, msgs, crashed, decisions>>

Vote(to, sender, value) == [to |-> to, sender |-> sender, value |-> value]
MemberVotes == {Vote(t, s, v) : t \in Agents, s \in Agents, v \in Values}
ForgedVotes == {Vote(t, i, v) : t \in Agents, i \in Intruders, v \in Values}

Supporters(t, v) == {b \in Agents : <<b, v>> \in t}
HasQuorum(t, v) == Cardinality(Supporters(t, v)) >= Quorum
\* the decide rule: at most one value can reach a quorum of one-vote-per-member tallies
DecisionOf(t) == IF \E v \in Values : HasQuorum(t, v)
                 THEN CHOOSE v \in Values : HasQuorum(t, v)
                 ELSE None
Phase(a) == IF decided[a] = None THEN "voting" ELSE "decided"
Voted(t, b) == \E v \in Values : <<b, v>> \in t

TypeOK ==
    /\ tally \in [Agents -> SUBSET ((Agents \cup Intruders) \X Values)]
    /\ decided \in [Agents -> Values \cup {None}]
    /\ msgs \subseteq MemberVotes \cup ForgedVotes
    /\ crashed \subseteq Agents
    /\ decisions \subseteq Agents \X Values

\* start: every agent counts its own vote, broadcasts it, and decides if that alone is a quorum
Init ==
    /\ tally = [a \in Agents |-> {<<a, Input[a]>>}]
    /\ decided = [a \in Agents |-> DecisionOf({<<a, Input[a]>>})]
    /\ msgs = {Vote(p[1], p[2], Input[p[2]]) : p \in {q \in Agents \X Agents : q[1] # q[2]}}
              \cup ForgedVotes
    /\ crashed = {}
    /\ decisions = {<<a, Input[a]>> : a \in {b \in Agents : DecisionOf({<<b, Input[b]>>}) # None}}

\* delivery to a correct agent. Screening drops votes from non-members; a decided agent,
\* a re-vote and an equivocating vote (reported as evidence in the code) change nothing.
Deliver(m) ==
    /\ m \in msgs
    /\ m.to \notin crashed
    /\ msgs' = msgs \ {m}
    /\ crashed' = crashed
    /\ IF m.sender \notin Agents \/ decided[m.to] # None \/ Voted(tally[m.to], m.sender)
       THEN UNCHANGED <<tally, decided, decisions>>
       ELSE LET counted == tally[m.to] \cup {<<m.sender, m.value>>}
                verdict == DecisionOf(counted)
            IN /\ tally' = [tally EXCEPT ![m.to] = counted]
               /\ decided' = [decided EXCEPT ![m.to] = verdict]
               /\ decisions' = IF verdict = None THEN decisions
                               ELSE decisions \cup {<<m.to, verdict>>}

\* a crash silences the agent for good and loses the messages addressed to it
Crash(a) ==
    /\ a \notin crashed
    /\ Cardinality(crashed) < F
    /\ crashed' = crashed \cup {a}
    /\ msgs' = {m \in msgs : m.to # a}
    /\ UNCHANGED <<tally, decided, decisions>>

\* the intended end: every vote consumed (or lost with a crashed receiver) and no crash
\* left; the protocol stops here. Any other state without a successor is a deadlock
\* TLC must report.
Finished == /\ \A m \in msgs : m.to \in crashed
            /\ Cardinality(crashed) = F
Stop == Finished /\ UNCHANGED vars

Next == (\E m \in msgs : Deliver(m)) \/ (\E a \in Agents : Crash(a)) \/ Stop

\* Fairness (the liveness assumption of spec/majority.md): a vote between members that
\* stays deliverable to a correct agent is eventually delivered. Crashes and intruder
\* messages carry no fairness.
Fairness == \A m \in MemberVotes : WF_vars(Deliver(m))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Properties, named after the IDs of spec/majority.md.                    *)

MAJ_S1_Agreement ==
    \A d1, d2 \in decisions : d1[2] = d2[2]

MAJ_S2_Validity ==
    \A d \in decisions : 2 * Cardinality({a \in Agents : Input[a] = d[2]}) > N

MAJ_S3_Integrity ==
    /\ \A d1, d2 \in decisions : d1[1] = d2[1] => d1[2] = d2[2]
    /\ \A d \in decisions : decided[d[1]] = d[2]

MAJ_S4_OneVotePerMember ==
    \A a \in Agents :
        /\ \A p \in tally[a] : p[1] \in Agents
        /\ \A p, q \in tally[a] : p[1] = q[1] => p[2] = q[2]

MAJ_S5_DecisionBacked ==
    \A a \in Agents :
        decided[a] # None => 2 * Cardinality(Supporters(tally[a], decided[a])) > N

\* MAJ-R1 (some agent decides) is a reachability goal, not an invariant: its negation
\* MAJ_R1_NoDecision is checked as an INVARIANT that TLC must report violated
\* (tests/test_tlc.py; it is not listed in Majority.cfg).
MAJ_R1_NoDecision == decisions = {}

\* MAJ-L1: if the correct agents hold a strict majority for one value, every correct
\* agent decides. Stable once true (decisions are final, crashes only shrink Correct).
TerminationGoal ==
    LET Correct == Agents \ crashed
    IN \/ ~\E v \in Values : 2 * Cardinality({a \in Correct : Input[a] = v}) > N
       \/ \A a \in Correct : decided[a] # None

MAJ_L1_Termination == <>TerminationGoal

THEOREM Spec => [](TypeOK /\ MAJ_S1_Agreement /\ MAJ_S2_Validity /\ MAJ_S3_Integrity
                   /\ MAJ_S4_OneVotePerMember /\ MAJ_S5_DecisionBacked)
THEOREM Spec => MAJ_L1_Termination

-----------------------------------------------------------------------------
\* The checked configuration: mabeam.protocols.majority.build(3, 1) (_split_inputs)
CheckedInput == [a \in Agents |-> IF a = "a0" THEN "x" ELSE "y"]
=============================================================================
