------------------------------ MODULE IterativeCategorical ------------------------------
(***************************************************************************)
(* Categorical iterative refinement, crash-fault tolerant: the machine of   *)
(* mabeam/protocols/iterative/categorical.py (spec/iterative.md, sec. 2).   *)
(*                                                                         *)
(* Round r: an agent broadcasts its answer (with its fixed confidence) and  *)
(* waits for round-r proposals from N - F members, its own included; a      *)
(* stopped member's final proposal stands for all its later rounds. It     *)
(* adopts the confidence-weighted plurality of those, ties to the earliest *)
(* candidate. It stops once the plurality has been the same for K rounds   *)
(* or at round MaxRounds, and then sends a final proposal. Up to F agents  *)
(* crash. The network keeps every message (loss, duplication, reordering). *)
(*                                                                         *)
(* What this abstracts from the code: one session; the intruder's          *)
(* proposals, unknown answers, bad rounds and malformed confidences are    *)
(* rejected by screening and not modelled; confidences are naturals (the  *)
(* code's Fractions, here 1 and 2); RoundSummary history is not kept.     *)
(* Trace mapping (mabeam/tla/mappings/iterative_categorical.py, checked by *)
(* TLC in tests/test_tla_trace.py): round, answer, streak per agent are    *)
(* CategoricalState fields, inbox[a] = the round proposals received        *)
(* (<<round, sender, answer>>) while a has not stopped (the code empties a *)
(* stopped agent's inbox), finals[a] = final proposals received,           *)
(* stopped/crashed/decisions = the run's done, crashed and decided agents, *)
(* msgs = every proposal sent so far, one record per recipient; last is    *)
(* left to TLC.                                                            *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, Sequences

CONSTANTS
    Agents,      \* the members
    Candidates,  \* the candidate answers, as a sequence (its order breaks ties)
    Input,       \* Input[a]: a's initial answer
    Conf,        \* Conf[a]: a's confidence (a natural number)
    F,           \* the most agents that may crash
    K,           \* rounds the plurality must stay the same
    MaxRounds,   \* the round bound
    None         \* "no plurality yet"

N == Cardinality(Agents)
CandidateSet == {Candidates[i] : i \in 1..Len(Candidates)}


ASSUME F \in Nat /\ F < N
ASSUME K \in Nat \ {0} /\ MaxRounds \in Nat \ {0}

VARIABLES round, answer, inbox, finals, streak, last, stopped, crashed, msgs, decisions
vars == <<round, answer, inbox, finals, streak, last, stopped, crashed, msgs, decisions>>

Prop(t, s, r, x, final) == [to |-> t, sender |-> s, round |-> r, answer |-> x, final |-> final]
Broadcast(a, r, x, final) == {Prop(t, a, r, x, final) : t \in Agents \ {a}}

\* round-r view of a: <<sender, answer, confidence>>, a final proposal filling a gap
View(a) ==
    LET direct == {<<e[2], e[3], Conf[e[2]]>> : e \in {x \in inbox[a] : x[1] = round[a]}}
        filled == {<<e[2], e[3], Conf[e[2]]>> : e \in {x \in finals[a] :
                      x[1] <= round[a] /\ ~\E y \in inbox[a] : y[1] = round[a] /\ y[2] = x[2]}}
    IN direct \cup filled

RECURSIVE SumConf(_)
SumConf(S) == IF S = {} THEN 0 ELSE LET x == CHOOSE y \in S : TRUE IN x[3] + SumConf(S \ {x})
Support(V, c) == SumConf({v \in V : v[2] = c})
Best(V) == CHOOSE b \in {Support(V, v[2]) : v \in V} : \A v \in V : Support(V, v[2]) <= b
Plurality(V) == Candidates[CHOOSE i \in 1..Len(Candidates) :
    /\ \E v \in V : v[2] = Candidates[i] /\ Support(V, Candidates[i]) = Best(V)
    /\ \A j \in 1..(i - 1) : ~\E v \in V : v[2] = Candidates[j] /\ Support(V, Candidates[j]) = Best(V)]

Init ==
    /\ round = [a \in Agents |-> 1]
    /\ answer = Input
    /\ inbox = [a \in Agents |-> {<<1, a, Input[a]>>}]
    /\ finals = [a \in Agents |-> {}]
    /\ streak = [a \in Agents |-> 0]
    /\ last = [a \in Agents |-> None]
    /\ stopped = {}
    /\ crashed = {}
    /\ msgs = UNION {Broadcast(a, 1, Input[a], FALSE) : a \in Agents}
    /\ decisions = {}

Deliver(m) ==
    LET a == m.to IN
    /\ m \in msgs /\ a \notin crashed /\ a \notin stopped
    /\ IF m.final
       THEN /\ ~\E e \in finals[a] : e[2] = m.sender
            /\ finals' = [finals EXCEPT ![a] = @ \cup {<<m.round, m.sender, m.answer>>}]
            /\ UNCHANGED inbox
       ELSE /\ m.round >= round[a]
            /\ ~\E e \in inbox[a] : e[1] = m.round /\ e[2] = m.sender
            /\ inbox' = [inbox EXCEPT ![a] = @ \cup {<<m.round, m.sender, m.answer>>}]
            /\ UNCHANGED finals
    /\ UNCHANGED <<round, answer, streak, last, stopped, crashed, msgs, decisions>>

Refine(a) ==
    LET V == View(a)
        w == Plurality(V)
        s == IF last[a] = w THEN streak[a] + 1 ELSE 1
        r == round[a]
        stop == s >= K \/ r >= MaxRounds
    IN /\ a \notin crashed /\ a \notin stopped
       /\ Cardinality(V) >= N - F
       /\ answer' = [answer EXCEPT ![a] = w]
       /\ streak' = [streak EXCEPT ![a] = s]
       /\ last' = [last EXCEPT ![a] = w]
       /\ IF stop
          THEN /\ stopped' = stopped \cup {a}
               /\ decisions' = decisions \cup {<<a, w, r>>}
               /\ msgs' = IF r < MaxRounds THEN msgs \cup Broadcast(a, r + 1, w, TRUE) ELSE msgs
               /\ UNCHANGED <<round, inbox>>
          ELSE /\ round' = [round EXCEPT ![a] = r + 1]
               /\ inbox' = [inbox EXCEPT ![a] = {e \in @ : e[1] > r} \cup {<<r + 1, a, w>>}]
               /\ msgs' = msgs \cup Broadcast(a, r + 1, w, FALSE)
               /\ UNCHANGED <<stopped, decisions>>
       /\ UNCHANGED <<finals, crashed>>

Crash(a) ==
    /\ a \notin crashed /\ Cardinality(crashed) < F
    /\ crashed' = crashed \cup {a}
    /\ UNCHANGED <<round, answer, inbox, finals, streak, last, stopped, msgs, decisions>>

\* the intended end: every correct agent stopped (messages left in flight are then ignored)
Stop == (\A a \in Agents \ crashed : a \in stopped) /\ UNCHANGED vars

Next == (\E m \in msgs : Deliver(m)) \/ (\E a \in Agents : Refine(a) \/ Crash(a)) \/ Stop

\* Fairness (spec/iterative.md, IR-CL1): proposals are delivered to correct agents and a
\* ready agent refines. Weak fairness on "a deliverable proposal to t is delivered" is weak
\* fairness on each proposal's delivery here: deliveries never repeat and there are finitely
\* many proposals, so one that stays deliverable is eventually the only one left.
DeliverTo(t) == \E m \in msgs : m.to = t /\ Deliver(m)
Fairness == /\ \A a \in Agents : WF_vars(Refine(a))
            /\ \A t \in Agents : WF_vars(DeliverTo(t))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Properties, named after the IDs of spec/iterative.md.                   *)

Proposed == {Input[a] : a \in Agents}

IR_C1_AnswerWasProposed ==
    /\ \A a \in Agents : answer[a] \in Proposed
    /\ \A d \in decisions : d[2] \in Proposed

IR_C2_RoundsBounded ==
    /\ \A a \in Agents : round[a] <= MaxRounds
    /\ \A d \in decisions : d[3] <= MaxRounds

IR_CL1_Termination == <>(\A a \in Agents \ crashed : a \in stopped)

\* IR-CR1 some agent decides: its negation is checked as an INVARIANT that TLC must report
\* violated (tests/test_tlc.py).
IR_CR1_NobodyDecides == decisions = {}

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [n |-> N, f |-> F, k |-> K, maxRounds |-> MaxRounds, wait |-> N - F,
          candidates |-> Candidates, input |-> Input, conf |-> Conf]

THEOREM Spec => [](IR_C1_AnswerWasProposed /\ IR_C2_RoundsBounded)
THEOREM Spec => IR_CL1_Termination
-----------------------------------------------------------------------------
\* The checked configuration: mabeam.protocols.iterative.categorical.build(3, 1)
CheckedCandidates == <<"x", "y", "z">>
CheckedInput == [a \in Agents |-> IF a = "a1" THEN "z" ELSE "y"]
CheckedConf == [a \in Agents |-> IF a = "a1" THEN 2 ELSE 1]
=============================================================================
