------------------------------ MODULE Adaptive ------------------------------
(***************************************************************************)
(* Adaptive coordination (spec/adaptive.md, mabeam.protocols.adaptive).    *)
(* Stages 0..Last of a fallback chain; each is a two-phase vote: a node   *)
(* votes, locks on a quorum of votes for v and commits v, and decides on  *)
(* a quorum of commits (the last stage decides on a quorum of votes).  A  *)
(* node leaves stage s only with SWITCH votes of a switch quorum; each    *)
(* SWITCH reports the sender's highest lock, and the next stage's vote is *)
(* forced to the highest reported lock.  A node that voted SWITCH never   *)
(* locks again in that stage.  A node refuses to vote SWITCH into, enter, *)
(* or accept a decision of a stage whose precondition fails (majority:    *)
(* crash bound not below n/2; crash-only while it holds equivocation      *)
(* evidence).  A decided node's certificate lets others decide (catch-up).*)
(* A deadline ends every undecided node with an explicit no-decision.     *)
(*                                                                         *)
(* Quorums are computed from the stage kinds with the formulas of          *)
(* mabeam/protocols/adaptive/config.py (byzantine_quorum, weighted_quorum, *)
(* majority_quorum, switch_quorum); tests/test_tlc.py compares them with   *)
(* the Python configuration.                                               *)
(*                                                                         *)
(* What this abstracts from the code:                                      *)
(*  - the network is the set of messages ever sent (the checker's          *)
(*    duplicating network): a message may be received any number of times,*)
(*    in any order, or never; every node sees every message it is sent, so *)
(*    a node's per-stage vote/commit/switch sets are the messages in msgs  *)
(*    of its stage (a Byzantine member's two votes then both count, at     *)
(*    every node: more than the code allows, so safety is checked against *)
(*    a stronger adversary);                                               *)
(*  - signatures: only a Byzantine member's own messages can be injected;  *)
(*    it may vote and commit anything in any stage, vote SWITCH with no    *)
(*    lock or with any lock whose proof (a quorum of votes) exists, and    *)
(*    relay any valid decision certificate (catch-up needs one in msgs);   *)
(*  - timers: the stage timer may fire at any time (the code's early       *)
(*    quorum-quality trigger adds no behaviour); trigger causes and        *)
(*    refusal records are not modelled (S3 is checked on the switch log);  *)
(*    Alarm messages are not modelled: evidence comes from the two         *)
(*    conflicting votes themselves;                                        *)
(*  - allow_weaker_after_evidence = FALSE (the default).                   *)
(* Trace mapping (mabeam/tla/mappings/adaptive.py, checked by TLC in       *)
(* tests/test_tla_trace.py), per honest node: stage, input, lock (None ->  *)
(* NoLock), outcome (None -> NoOutcome) and evidence are fields of         *)
(* AdaptiveState; committed and switched (cause # "") while undecided (a   *)
(* concluded state drops them); switchlog[a][i] = log[i] as [source,       *)
(* certificate], its evidence left to TLC; the honest part of msgs = every *)
(* Vote, Commit and SWITCH an honest node sent. The Byzantine member's     *)
(* messages are left to TLC.                                               *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, Sequences

CONSTANTS Agents,      \* the membership
          Byzantine,   \* the faulty members
          Values,      \* candidate values
          None,        \* "no value" (not a member of Values)
          Last,        \* index of the last stage
          Kind,        \* Kind[s]: "byzantine", "weighted" or "majority"
          Weight,      \* Weight[s][a]: weight of a in stage s (1 each unless weighted)
          Faulty,      \* Faulty[s]: f of a byzantine stage, faulty_weight of a weighted one
          CrashBound,  \* CrashBound[s]: the crash bound declared for a majority stage
          Input        \* Input[a]: initial input of a

Honest == Agents \ Byzantine
Stages == 0..Last
N == Cardinality(Agents)

RECURSIVE SumOver(_, _)
SumOver(f, S) == IF S = {} THEN 0
                 ELSE LET x == CHOOSE y \in S : TRUE IN f[x] + SumOver(f, S \ {x})

Units(s, S) == SumOver(Weight[s], S)
Total(s) == Units(s, Agents)

\* ------------------------------------------- mabeam/protocols/adaptive/config.py
ByzantineTolerant(s) == Kind[s] # "majority"
CrashOnly(s) == Kind[s] = "majority"
Quorum(s) == CASE Kind[s] = "byzantine" -> (N + Faulty[s]) \div 2 + 1     \* byzantine_quorum
               [] Kind[s] = "weighted"  -> (2 * Total(s)) \div 3 + 1      \* weighted_quorum
               [] OTHER                 -> N \div 2 + 1                   \* majority_quorum
FaultBudget(s) == IF CrashOnly(s) THEN 0 ELSE Faulty[s]
SwitchQuorum(s) == Total(s) - Quorum(s) + 1 + (IF ByzantineTolerant(s + 1) THEN FaultBudget(s) ELSE 0)
PreconditionHolds(s) == ~CrashOnly(s) \/ 2 * CrashBound[s] < N             \* Stage.precondition_holds

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [quorum |-> [s \in Stages |-> Quorum(s)],
          switchQuorum |-> [s \in 0..(Last - 1) |-> SwitchQuorum(s)],
          faultBudget |-> [s \in Stages |-> FaultBudget(s)],
          total |-> [s \in Stages |-> Total(s)]]

ASSUME /\ Byzantine \subseteq Agents /\ None \notin Values /\ Last \in Nat
       /\ \A s \in Stages : Kind[s] \in {"byzantine", "weighted", "majority"}
       /\ \A a \in Agents : Input[a] \in Values

\* the stage in which each member's Byzantine weight exceeds the stage's fault budget: from
\* there on ADAPT-S2 promises nothing (spec/adaptive.md)
AssumptionHolds(s) == \A t \in 0..s : Units(t, Byzantine) <= FaultBudget(t)

NoLock == [stage |-> 0, value |-> None]
Locks == [stage : Stages, value : Values] \cup {NoLock}
Higher(l1, l2) == IF l1.value = None THEN l2
                  ELSE IF l2.value = None THEN l1
                  ELSE IF l1.stage >= l2.stage THEN l1 ELSE l2
NoOutcome == [kind |-> "none", stage |-> 0, value |-> None]

VARIABLES stage,      \* stage[a]: current stage of a
          input,      \* input[a]: what a votes in its current stage
          lock,       \* lock[a]: highest lock held by a
          committed,  \* committed[a]: a committed in its current stage
          switched,   \* switched[a]: a voted SWITCH in its current stage
          outcome,    \* outcome[a]: [kind, stage, value], NoOutcome until a concludes
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

\* a lock's proof: a quorum of votes for its value in its stage (AdaptiveCoordination.valid_lock)
ValidLock(l) == l.value # None /\ l.stage < Last /\ Units(l.stage, VotersOf(l.stage, l.value)) >= Quorum(l.stage)
\* a decision certificate: a quorum of commits, or of votes in the last stage (valid_decision)
Certified(s, v) == IF s < Last THEN Units(s, CommittersOf(s, v)) >= Quorum(s)
                   ELSE Units(Last, VotersOf(Last, v)) >= Quorum(Last)

\* what a Byzantine member can sign without anyone else's help
ByzantineMsgs ==
    {VoteMsg(b, s, v) : b \in Byzantine, s \in Stages, v \in Values}
    \cup {CommitMsg(b, s, v) : b \in Byzantine, s \in Stages, v \in Values}
    \cup {SwitchMsg(b, s, NoLock) : b \in Byzantine, s \in 0..(Last - 1)}

TypeOK == /\ stage \in [Agents -> Stages]
          /\ lock \in [Agents -> Locks]
          /\ outcome \in [Agents -> {NoOutcome} \cup [kind : {"decided", "no-decision"},
                                                     stage : Stages, value : Values \cup {None}]]
          /\ evidence \in [Agents -> SUBSET Agents]

Init == /\ stage = [a \in Agents |-> 0]
        /\ input = [a \in Agents |-> Input[a]]
        /\ lock = [a \in Agents |-> NoLock]
        /\ committed = [a \in Agents |-> FALSE]
        /\ switched = [a \in Agents |-> FALSE]
        /\ outcome = [a \in Agents |-> NoOutcome]
        /\ msgs = {VoteMsg(a, 0, Input[a]) : a \in Honest} \cup ByzantineMsgs
        /\ evidence = [a \in Agents |-> {}]
        /\ switchlog = [a \in Agents |-> <<>>]

Undecided(a) == outcome[a] = NoOutcome

\* AdaptiveCoordination.admissible: why a node must refuse to use stage s
Admissible(a, s) == PreconditionHolds(s) /\ ~(CrashOnly(s) /\ evidence[a] # {})

\* a Byzantine member reports a genuine lock (one whose proof exists) in a SWITCH
ByzantineLockedSwitch(b, s, l) ==
    /\ b \in Byzantine /\ s < Last /\ l.stage <= s /\ ValidLock(l)
    /\ SwitchMsg(b, s, l) \notin msgs
    /\ msgs' = msgs \cup {SwitchMsg(b, s, l)}
    /\ UNCHANGED <<stage, input, lock, committed, switched, outcome, evidence, switchlog>>

\* a quorum of votes for v in a's stage: lock and commit (never after SWITCH)
Lock(a, v) ==
    /\ Undecided(a) /\ ~committed[a] /\ ~switched[a] /\ stage[a] < Last
    /\ Units(stage[a], VotersOf(stage[a], v)) >= Quorum(stage[a])
    /\ lock' = [lock EXCEPT ![a] = [stage |-> stage[a], value |-> v]]
    /\ committed' = [committed EXCEPT ![a] = TRUE]
    /\ msgs' = msgs \cup {CommitMsg(a, stage[a], v)}
    /\ UNCHANGED <<stage, input, switched, outcome, evidence, switchlog>>

\* a quorum of commits (last stage: votes) for v: decide v in that stage
Decide(a, v) ==
    /\ Undecided(a)
    /\ Certified(stage[a], v)
    /\ outcome' = [outcome EXCEPT ![a] = [kind |-> "decided", stage |-> stage[a], value |-> v]]
    /\ UNCHANGED <<stage, input, lock, committed, switched, msgs, evidence, switchlog>>

\* catch-up: a valid certificate of stage s, accepted unless a stage up to s must be refused
CatchUp(a, s, v) ==
    /\ Undecided(a)
    /\ Certified(s, v)
    /\ \A t \in 0..s : Admissible(a, t)
    /\ outcome' = [outcome EXCEPT ![a] = [kind |-> "decided", stage |-> s, value |-> v]]
    /\ UNCHANGED <<stage, input, lock, committed, switched, msgs, evidence, switchlog>>

\* a member's two conflicting votes in one stage: equivocation evidence
Detect(a, b) ==
    /\ Undecided(a) /\ b \notin evidence[a]
    /\ \E s \in Stages, v, w \in Values : v # w /\ VoteMsg(b, s, v) \in msgs /\ VoteMsg(b, s, w) \in msgs
    /\ evidence' = [evidence EXCEPT ![a] = evidence[a] \cup {b}]
    /\ UNCHANGED <<stage, input, lock, committed, switched, outcome, msgs, switchlog>>

\* the stage timer fires: vote SWITCH, reporting the highest lock (refused if the next
\* stage is not admissible: the node then stays until the deadline)
StageTimer(a) ==
    /\ Undecided(a) /\ ~switched[a] /\ stage[a] < Last /\ Admissible(a, stage[a] + 1)
    /\ switched' = [switched EXCEPT ![a] = TRUE]
    /\ msgs' = msgs \cup {SwitchMsg(a, stage[a], lock[a])}
    /\ UNCHANGED <<stage, input, lock, committed, outcome, evidence, switchlog>>

\* a switch certificate: enter the next stage, vote forced to the highest lock
Leave(a, cert) ==
    /\ Undecided(a) /\ stage[a] < Last /\ Admissible(a, stage[a] + 1)
    /\ cert \subseteq SwitchesOf(stage[a])
    /\ Units(stage[a], {m.sender : m \in cert}) >= SwitchQuorum(stage[a])
    /\ LET high == Higher(lock[a], CHOOSE l \in {m.lock : m \in cert} :
                                     \A k \in {m.lock : m \in cert} : Higher(l, k) = l)
           next == stage[a] + 1
           vote == IF high.value = None THEN input[a] ELSE high.value
       IN /\ stage' = [stage EXCEPT ![a] = next]
          /\ lock' = [lock EXCEPT ![a] = high]
          /\ input' = [input EXCEPT ![a] = vote]
          /\ msgs' = msgs \cup {VoteMsg(a, next, vote)}
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

\* the intended end: every honest node concluded (the Byzantine members may go on, but
\* whatever they add then changes no honest state)
Stop == /\ \A a \in Honest : ~Undecided(a)
        /\ UNCHANGED vars

Next == \/ \E a \in Honest :
              \/ \E v \in Values : Lock(a, v) \/ Decide(a, v)
              \/ \E s \in Stages, v \in Values : CatchUp(a, s, v)
              \/ \E b \in Agents : Detect(a, b)
              \/ StageTimer(a)
              \/ \E cert \in SUBSET SwitchesOf(stage[a]) : Leave(a, cert)
              \/ Deadline(a)
        \/ \E b \in Byzantine, s \in Stages, l \in Locks : ByzantineLockedSwitch(b, s, l)
        \/ Stop

\* fairness (spec/adaptive.md, ADAPT-L1): the deadline timer eventually fires
Spec == Init /\ [][Next]_vars /\ \A a \in Honest : WF_vars(Deadline(a))

-----------------------------------------------------------------------------
(* Properties (IDs as in spec/adaptive.md).                                 *)

Decided(a) == outcome[a].kind = "decided"

\* ADAPT-S1: one decision per node, never changed: outcome is written once (every action
\* that sets it requires Undecided), and a no-decision carries no value
ADAPT_S1_OneDecision == \A a \in Honest :
    /\ outcome[a].kind = "no-decision" => outcome[a].value = None
    /\ Decided(a) => outcome[a].value \in Values

\* ADAPT-S2: two honest decisions agree whenever every stage up to the later one kept its
\* fault assumption (Byzantine weight within the stage's budget; none for crash-only)
ADAPT_S2_NeverOverridden == \A a, b \in Honest :
    (Decided(a) /\ Decided(b) /\ AssumptionHolds(IF outcome[a].stage >= outcome[b].stage
                                                 THEN outcome[a].stage ELSE outcome[b].stage))
        => outcome[a].value = outcome[b].value

\* ADAPT-S3: no honest node entered a stage whose precondition fails (crash bound, or
\* crash-only while holding evidence), nor accepted a decision of one
ADAPT_S3_RefusedFallback ==
    /\ \A a \in Honest : \A i \in DOMAIN switchlog[a] :
          LET target == switchlog[a][i].source + 1 IN
          /\ PreconditionHolds(target)
          /\ CrashOnly(target) => switchlog[a][i].evidence = {}
    /\ \A a \in Honest : Decided(a) => PreconditionHolds(outcome[a].stage)

\* ADAPT-S4: the decision's stage is certified (a quorum of commits, votes in the last stage)
ADAPT_S4_Provenance == \A a \in Honest : Decided(a) => Certified(outcome[a].stage, outcome[a].value)

\* ADAPT-S5: an honest node in stage s logged exactly s switches 0 -> 1 ..., each certified by
\* a switch quorum
ADAPT_S5_CertifiedSwitches == \A a \in Honest :
    /\ Len(switchlog[a]) = stage[a]
    /\ \A i \in DOMAIN switchlog[a] :
          /\ switchlog[a][i].source = i - 1
          /\ Units(i - 1, switchlog[a][i].certificate) >= SwitchQuorum(i - 1)

\* ADAPT-L1: every honest node concludes (the deadline fires under weak fairness)
ADAPT_L1_Concludes == \A a \in Honest : <>(outcome[a] # NoOutcome)

\* ADAPT-R1 a decision in the first stage; ADAPT-R2 a decision after a fallback; ADAPT-R3 an
\* explicit no-decision. Their negations are checked as INVARIANTs that TLC must report
\* violated (tests/test_tlc.py).
ADAPT_R1_NoFirstStageDecision == \A a \in Honest : ~(Decided(a) /\ outcome[a].stage = 0)
ADAPT_R2_NoDecisionAfterFallback == \A a \in Honest : ~(Decided(a) /\ outcome[a].stage > 0)
ADAPT_R3_NoNoDecision == \A a \in Honest : outcome[a].kind # "no-decision"

-----------------------------------------------------------------------------
\* The checked configuration: mabeam.protocols.adaptive.evidence_configuration() with the
\* Byzantine member a2 (weights 2, 2, 1; inputs x, y, y), chain weighted (faulty_weight 1) ->
\* majority (crash bound 0, crash-only), but with the honest inputs x, x so that the weighted
\* stage can decide (see Adaptive.cfg).
CheckedKind == [s \in 0..1 |-> IF s = 0 THEN "weighted" ELSE "majority"]
CheckedWeight == [s \in 0..1 |-> [a \in {"a0", "a1", "a2"} |->
                      IF s = 0 THEN (IF a = "a2" THEN 1 ELSE 2) ELSE 1]]
CheckedFaulty == [s \in 0..1 |-> IF s = 0 THEN 1 ELSE 0]
CheckedCrashBound == [s \in 0..1 |-> 0]
CheckedInput == [a \in {"a0", "a1", "a2"} |-> IF a = "a0" THEN "x" ELSE IF a = "a1" THEN "x" ELSE "y"]

\* The registry's default check, mabeam.protocols.adaptive.checked(3, 0) (Adaptive.fallback.cfg):
\* no Byzantine member, chain Byzantine (f = 0) -> weighted with the expert a2 weighing 5 of 7,
\* inputs x, x, y. The expert alone decides the weighted stage, so a fallback could override
\* stage 0's x: carrying the lock is what keeps ADAPT-S2.
DefaultKind == [s \in 0..1 |-> IF s = 0 THEN "byzantine" ELSE "weighted"]
DefaultWeight == [s \in 0..1 |-> [a \in {"a0", "a1", "a2"} |-> IF s = 1 /\ a = "a2" THEN 5 ELSE 1]]
DefaultFaulty == [s \in 0..1 |-> 0]
=============================================================================
