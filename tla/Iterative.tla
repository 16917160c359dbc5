------------------------------ MODULE Iterative ------------------------------
(***************************************************************************)
(* Byzantine approximate agreement by trimmed midpoints: the machine of     *)
(* mabeam/protocols/iterative/numeric.py, seen from outside                 *)
(* (spec/iterative.md, section 1). Scalar values, scaled to integers by    *)
(* 2^R so every midpoint of R rounds is exact.                              *)
(*                                                                         *)
(* Round r of honest agent a: broadcast its value; collect one round-r      *)
(* value per member (its own included); once it holds N - F values it may  *)
(* leave the round (the grace timer fires at any time after that; at N     *)
(* values it has nothing left to wait for). Leaving, it moves to the        *)
(* midpoint of its view with the F lowest and F highest values dropped.    *)
(* After round R it is done. The network keeps every message (loss,        *)
(* duplication, reordering). The Byzantine agent Byz offers, per round and *)
(* honest recipient, both extremes Low and High; any may arrive first.     *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, Sequences

CONSTANTS
    Honest,     \* honest members
    Byz,        \* the Byzantine member (F = 1 in the checked configuration)
    F,          \* values trimmed from each side
    Input,      \* Input[a]: scaled input of honest agent a
    R,          \* rounds
    Low, High,  \* the Byzantine extremes (outside the honest inputs)
    Bound,      \* scaled (hi - lo) / 2^R: IR-S3's agreement bound
    HonestOrder, InputList  \* the checked inputs, listed: InputList[i] for HonestOrder[i]

Agents == Honest \cup {Byz}
N == Cardinality(Agents)

\* the checked configuration's inputs (IterativeRefinement.cfg substitutes Input <- CheckedInput)
CheckedInput == [a \in Honest |-> InputList[CHOOSE i \in 1..Len(HonestOrder) : HonestOrder[i] = a]]

ASSUME N > 3 * F
ASSUME Input \in [Honest -> Int]
ASSUME R \in Nat \ {0}

VARIABLES
    round,   \* round[a]: the round a is in (R + 1 once done)
    val,     \* val[a]: the value a entered its current round with
    view,    \* view[a]: set of <<sender, value>> for a's current round
    early,   \* early[a]: set of <<round, sender, value>> for later rounds
    hist,    \* hist[a]: sequence of [round, view, left] records
    msgs     \* every message ever sent: [to, sender, round, value]

vars == <<round, val, view, early, hist, msgs>>

Msg(t, s, r, v) == [to |-> t, sender |-> s, round |-> r, value |-> v]
ByzMsgs == {Msg(t, Byz, r, v) : t \in Honest, r \in 1..R, v \in {Low, High}}
Broadcast(a, r, v) == {Msg(t, a, r, v) : t \in Honest \ {a}}

Values(V) == {p[2] : p \in V}
\* the k-th smallest / largest value of a view (a set of <<sender, value>>)
KthSmallest(V, k) == CHOOSE x \in Values(V) :
    Cardinality({p \in V : p[2] < x}) < k /\ Cardinality({p \in V : p[2] <= x}) >= k
KthLargest(V, k) == CHOOSE x \in Values(V) :
    Cardinality({p \in V : p[2] > x}) < k /\ Cardinality({p \in V : p[2] >= x}) >= k
TrimmedMidpoint(V) == (KthSmallest(V, F + 1) + KthLargest(V, F + 1)) \div 2

Has(V, s) == \E p \in V : p[1] = s
Done(a) == round[a] > R

Init ==
    /\ round = [a \in Honest |-> 1]
    /\ val = Input
    /\ view = [a \in Honest |-> {<<a, Input[a]>>}]
    /\ early = [a \in Honest |-> {}]
    /\ hist = [a \in Honest |-> <<>>]
    /\ msgs = ByzMsgs \cup UNION {Broadcast(a, 1, Input[a]) : a \in Honest}

\* delivery: late values are ignored, a sender's second value for a round is never counted
Deliver(m) ==
    LET a == m.to IN
    /\ m \in msgs
    /\ ~Done(a)
    /\ m.round >= round[a]
    /\ IF m.round = round[a]
       THEN /\ ~Has(view[a], m.sender)
            /\ view' = [view EXCEPT ![a] = @ \cup {<<m.sender, m.value>>}]
            /\ UNCHANGED early
       ELSE /\ ~\E e \in early[a] : e[1] = m.round /\ e[2] = m.sender
            /\ early' = [early EXCEPT ![a] = @ \cup {<<m.round, m.sender, m.value>>}]
            /\ UNCHANGED view
    /\ UNCHANGED <<round, val, hist, msgs>>

\* leaving round r with >= N - F values (all N, or the grace timer fired)
Leave(a) ==
    LET r == round[a]
        left == TrimmedMidpoint(view[a])
    IN /\ ~Done(a)
       /\ Cardinality(view[a]) >= N - F
       /\ hist' = [hist EXCEPT ![a] = Append(@, [round |-> r, view |-> view[a], left |-> left])]
       /\ round' = [round EXCEPT ![a] = r + 1]
       /\ val' = [val EXCEPT ![a] = left]
       /\ view' = [view EXCEPT ![a] = IF r < R
                      THEN {<<a, left>>} \cup {<<e[2], e[3]>> : e \in {x \in early[a] : x[1] = r + 1}}
                      ELSE {}]
       /\ early' = [early EXCEPT ![a] = {x \in @ : x[1] > r + 1}]
       /\ msgs' = IF r < R THEN msgs \cup Broadcast(a, r + 1, left) ELSE msgs

Next == (\E m \in msgs : Deliver(m)) \/ (\E a \in Honest : Leave(a))

\* Fairness: honest messages are delivered and the grace timer fires (Byz may stay silent).
\* every value an honest agent can hold lies in Low..High (IR-S1), so this set is finite
HonestMsgs == {Msg(t, s, r, v) : t \in Honest, s \in Honest, r \in 1..R, v \in Low..High}
Fairness == /\ \A a \in Honest : WF_vars(Leave(a))
            /\ \A m \in HonestMsgs : WF_vars(Deliver(m))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Properties, named after the IDs of spec/iterative.md.                   *)

MinInput == CHOOSE x \in {Input[a] : a \in Honest} : \A b \in Honest : x <= Input[b]
MaxInput == CHOOSE x \in {Input[a] : a \in Honest} : \A b \in Honest : x >= Input[b]
Records(a) == {hist[a][i] : i \in 1..Len(hist[a])}
RecordsOf(r) == {<<a, rec>> : a \in Honest, rec \in {x \in Records(a) : x.round = r}}
\* honest round-r values known so far: inputs for round 1, else the values left round r-1 with
KnownValues(r) == IF r = 1 THEN {Input[a] : a \in Honest}
                  ELSE {x[2].left : x \in RecordsOf(r - 1)}
Abs(x) == IF x < 0 THEN -x ELSE x
Synchronous(x, y) == Cardinality(x.view \cap y.view) >= 2 * F + 1

IR_S1_Validity ==
    \A a \in Honest : /\ MinInput <= val[a] /\ val[a] <= MaxInput
                      /\ \A rec \in Records(a) : MinInput <= rec.left /\ rec.left <= MaxInput

IR_S2_Contraction ==
    \A r \in 1..R : \A x, y \in RecordsOf(r) :
        LET lo == CHOOSE v \in KnownValues(r) : \A w \in KnownValues(r) : v <= w
            hi == CHOOSE v \in KnownValues(r) : \A w \in KnownValues(r) : v >= w
        IN /\ lo <= x[2].left /\ x[2].left <= hi
           /\ Synchronous(x[2], y[2]) => 2 * Abs(x[2].left - y[2].left) <= hi - lo

IR_S3_EpsilonAgreement ==
    ((\A a \in Honest : Done(a)) /\ (\A r \in 1..R : \A x, y \in RecordsOf(r) : Synchronous(x[2], y[2])))
        => \A a, b \in Honest : Abs(val[a] - val[b]) <= Bound

IR_S4_OneValuePerSender ==
    \A a \in Honest :
        /\ \A p, q \in view[a] : p[1] = q[1] => p = q
        /\ \A p \in view[a] : p[1] \in Agents
        /\ \A d, e \in early[a] : (d[1] = e[1] /\ d[2] = e[2]) => d = e

IR_L1_Termination == <>(\A a \in Honest : Done(a))

THEOREM Spec => [](IR_S1_Validity /\ IR_S2_Contraction /\ IR_S3_EpsilonAgreement
                   /\ IR_S4_OneValuePerSender)
THEOREM Spec => IR_L1_Termination
=============================================================================
