------------------------------ MODULE Adaptive ------------------------------
(***************************************************************************)
(* Adaptive coordination (spec/adaptive.md, mabeam.protocols.adaptive).    *)
(* Stages 0..Last of a fallback chain; each is a two-phase vote: a node   *)
(* votes, locks on a quorum of votes for v and commits v, and decides on  *)
(* a quorum of commits (the last stage decides on a quorum of votes).  A  *)
(* node leaves stage s only with SWITCH votes of a switch quorum; each    *)
(* SWITCH reports the sender's highest lock, and the next stage's vote is *)
(* forced to the highest reported lock.  A node that voted SWITCH never   *)
(* locks again in that stage.  A deadline ends every undecided node with  *)
(* NoDecision.  Messages are never lost from msgs: a message may be       *)
(* received any number of times, in any order, or never.  Byzantine       *)
(* members may put any vote, commit or lock-free SWITCH in msgs.          *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, Sequences

CONSTANTS Agents,      \* the membership
          Byzantine,   \* the faulty members
          Values,      \* candidate values
          None,        \* "no value" (not a member of Values)
          Last,        \* index of the last stage
          Weight,      \* Weight[s][a]: weight of a in stage s
          Quorum,      \* Quorum[s]: decision quorum of stage s, in units
          SwitchQuorum,\* SwitchQuorum[s]: units of SWITCH votes needed to leave s
          CrashOnly,   \* CrashOnly[s]: stage s tolerates no Byzantine member
          Input        \* Input[a]: initial input of a

Honest == Agents \ Byzantine
Stages == 0..Last

\* the default check's configuration: mabeam.protocols.adaptive.checked(3, 0)
\* (Byzantine f=0 -> weighted, expert a2 weighs 5 of 7; inputs x, x, y)
DemoWeight == [s \in 0..1 |-> [a \in {"a0", "a1", "a2"} |-> IF s = 1 /\ a = "a2" THEN 5 ELSE 1]]
DemoQuorum == [s \in 0..1 |-> IF s = 0 THEN 2 ELSE 5]
DemoSwitchQuorum == [s \in 0..1 |-> 2]
DemoCrashOnly == [s \in 0..1 |-> FALSE]
DemoInput == [a \in {"a0", "a1", "a2"} |-> IF a = "a2" THEN "y" ELSE "x"]

RECURSIVE SumOver(_, _)
SumOver(f, S) == IF S = {} THEN 0
                 ELSE LET x == CHOOSE y \in S : TRUE IN f[x] + SumOver(f, S \ {x})

Units(s, S) == SumOver(Weight[s], S)

NoLock == [stage |-> 0, value |-> None]
Locks == [stage : Stages, value : Values] \cup {NoLock}
Higher(l1, l2) == IF l1.value = None THEN l2
                  ELSE IF l2.value = None THEN l1
                  ELSE IF l1.stage >= l2.stage THEN l1 ELSE l2

VARIABLES stage,      \* stage[a]: current stage of a
          input,      \* input[a]: what a votes in its current stage
          lock,       \* lock[a]: highest lock held by a
          committed,  \* committed[a]: a committed in its current stage
          switched,   \* switched[a]: a voted SWITCH in its current stage
          outcome,    \* outcome[a]: [kind, stage, value] or None
          msgs,       \* every message ever sent
          evidence,   \* evidence[a]: members a holds equivocation evidence against
          switchlog   \* switchlog[a]: sequence of [source, certificate, evidence] records

vars == <<stage, input, lock, committed, switched, outcome, msgs, evidence, switchlog>>

VoteMsg(a, s, v) == [type |-> "vote", sender |-> a, stage |-> s, value |-> v]
CommitMsg(a, s, v) == [type |-> "commit", sender |-> a, stage |-> s, value |-> v]
SwitchMsg(a, s, l) == [type |-> "switch", sender |-> a, stage |-> s, lock |-> l]

VotersOf(s, v) == {m.sender : m \in {x \in msgs : x.type = "vote" /\ x.stage = s /\ x.value = v}}
CommittersOf(s, v) == {m.sender : m \in {x \in msgs : x.type = "commit" /\ x.stage = s /\ x.value = v}}
SwitchesOf(s) == {x \in msgs : x.type = "switch" /\ x.stage = s}

ByzantineMsgs ==
    {VoteMsg(b, s, v) : b \in Byzantine, s \in Stages, v \in Values}
    \cup {CommitMsg(b, s, v) : b \in Byzantine, s \in Stages, v \in Values}
    \cup {SwitchMsg(b, s, NoLock) : b \in Byzantine, s \in Stages}

Init == /\ stage = [a \in Agents |-> 0]
        /\ input = [a \in Agents |-> Input[a]]
        /\ lock = [a \in Agents |-> NoLock]
        /\ committed = [a \in Agents |-> FALSE]
        /\ switched = [a \in Agents |-> FALSE]
        /\ outcome = [a \in Agents |-> None]
        /\ msgs = {VoteMsg(a, 0, Input[a]) : a \in Honest} \cup ByzantineMsgs
        /\ evidence = [a \in Agents |-> {}]
        /\ switchlog = [a \in Agents |-> <<>>]

Undecided(a) == outcome[a] = None

\* a quorum of votes for v in a's stage: lock and commit (never after SWITCH)
Lock(a, v) ==
    /\ Undecided(a) /\ ~committed[a] /\ ~switched[a] /\ stage[a] < Last
    /\ Units(stage[a], VotersOf(stage[a], v)) >= Quorum[stage[a]]
    /\ lock' = [lock EXCEPT ![a] = [stage |-> stage[a], value |-> v]]
    /\ committed' = [committed EXCEPT ![a] = TRUE]
    /\ msgs' = msgs \cup {CommitMsg(a, stage[a], v)}
    /\ UNCHANGED <<stage, input, switched, outcome, evidence, switchlog>>

\* a quorum of commits (last stage: votes) for v: decide v in that stage
Decide(a, v) ==
    /\ Undecided(a)
    /\ \/ stage[a] < Last /\ Units(stage[a], CommittersOf(stage[a], v)) >= Quorum[stage[a]]
       \/ stage[a] = Last /\ Units(Last, VotersOf(Last, v)) >= Quorum[Last]
    /\ outcome' = [outcome EXCEPT ![a] = [kind |-> "decided", stage |-> stage[a], value |-> v]]
    /\ UNCHANGED <<stage, input, lock, committed, switched, msgs, evidence, switchlog>>

\* a Byzantine member's two votes in one stage: equivocation evidence
Detect(a, b) ==
    /\ b \in Byzantine
    /\ \E s \in Stages, v, w \in Values : v # w /\ VoteMsg(b, s, v) \in msgs /\ VoteMsg(b, s, w) \in msgs
    /\ evidence' = [evidence EXCEPT ![a] = evidence[a] \cup {b}]
    /\ UNCHANGED <<stage, input, lock, committed, switched, outcome, msgs, switchlog>>

Admissible(a, s) == ~(CrashOnly[s] /\ evidence[a] # {})

\* the stage timer fires: vote SWITCH, reporting the highest lock
StageTimer(a) ==
    /\ Undecided(a) /\ ~switched[a] /\ stage[a] < Last /\ Admissible(a, stage[a] + 1)
    /\ switched' = [switched EXCEPT ![a] = TRUE]
    /\ msgs' = msgs \cup {SwitchMsg(a, stage[a], lock[a])}
    /\ UNCHANGED <<stage, input, lock, committed, outcome, evidence, switchlog>>

\* a switch certificate: enter the next stage, vote forced to the highest lock
Leave(a, cert) ==
    /\ Undecided(a) /\ stage[a] < Last /\ Admissible(a, stage[a] + 1)
    /\ cert \subseteq SwitchesOf(stage[a])
    /\ Units(stage[a], {m.sender : m \in cert}) >= SwitchQuorum[stage[a]]
    /\ LET high == Higher(lock[a], CHOOSE l \in {m.lock : m \in cert} :
                                     \A k \in {m.lock : m \in cert} : Higher(l, k) = l)
           next == stage[a] + 1
       IN /\ stage' = [stage EXCEPT ![a] = next]
          /\ lock' = [lock EXCEPT ![a] = high]
          /\ input' = [input EXCEPT ![a] = IF high.value = None THEN input[a] ELSE high.value]
          /\ msgs' = msgs \cup {VoteMsg(a, next, IF high.value = None THEN input[a] ELSE high.value)}
          /\ switchlog' = [switchlog EXCEPT ![a] = Append(switchlog[a],
                              [source |-> next - 1, certificate |-> {m.sender : m \in cert},
                               evidence |-> evidence[a]])]
    /\ committed' = [committed EXCEPT ![a] = FALSE]
    /\ switched' = [switched EXCEPT ![a] = FALSE]
    /\ UNCHANGED <<outcome, evidence>>

\* the deadline: an explicit no-decision
Deadline(a) ==
    /\ Undecided(a)
    /\ outcome' = [outcome EXCEPT ![a] = [kind |-> "no-decision", stage |-> stage[a], value |-> None]]
    /\ UNCHANGED <<stage, input, lock, committed, switched, msgs, evidence, switchlog>>

Next == \E a \in Honest :
          \/ \E v \in Values : Lock(a, v) \/ Decide(a, v)
          \/ \E b \in Agents : Detect(a, b)
          \/ StageTimer(a)
          \/ \E cert \in SUBSET SwitchesOf(stage[a]) : Leave(a, cert)
          \/ Deadline(a)

Spec == Init /\ [][Next]_vars /\ \A a \in Honest : WF_vars(Deadline(a))

-----------------------------------------------------------------------------
(* Properties (IDs as in spec/adaptive.md).                                 *)

TypeOK == /\ stage \in [Agents -> Stages]
          /\ lock \in [Agents -> Locks]

\* ADAPT-S1: one decision per node, never changed (outcome is written once)
ADAPT_S1_OneDecision == \A a \in Honest : outcome[a] # None =>
                           outcome[a].kind \in {"decided", "no-decision"}

Decided(a) == outcome[a] # None /\ outcome[a].kind = "decided"

\* ADAPT-S2: a decided value is never overridden (stated for Byzantine within every stage's budget)
ADAPT_S2_NeverOverridden == \A a, b \in Honest :
    (Decided(a) /\ Decided(b)) => outcome[a].value = outcome[b].value

\* ADAPT-S3: no switch into a crash-only stage while holding evidence
ADAPT_S3_RefusedFallback == \A a \in Honest : \A i \in DOMAIN switchlog[a] :
    CrashOnly[switchlog[a][i].source + 1] => switchlog[a][i].evidence = {}

\* ADAPT-S4: the decision's stage is one the node reached or a certified earlier one
ADAPT_S4_Provenance == \A a \in Honest : Decided(a) => outcome[a].stage \in 0..stage[a]

\* ADAPT-S5: every switch is certified by a switch quorum
ADAPT_S5_CertifiedSwitches == \A a \in Honest : \A i \in DOMAIN switchlog[a] :
    Units(switchlog[a][i].source, switchlog[a][i].certificate) >= SwitchQuorum[switchlog[a][i].source]

\* ADAPT-L1: every honest node concludes (the deadline fires under weak fairness)
ADAPT_L1_Concludes == \A a \in Honest : <>(outcome[a] # None)

=============================================================================
