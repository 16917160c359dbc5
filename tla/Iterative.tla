------------------------------ MODULE Iterative ------------------------------
(***************************************************************************)
(* Byzantine approximate agreement: the machine of                          *)
(* mabeam/protocols/iterative/numeric.py, seen from outside                 *)
(* (spec/iterative.md, section 1). Scalar values, scaled to integers by    *)
(* Scale = 2^R so every midpoint of R rounds is exact.                      *)
(*                                                                         *)
(* Round r of honest agent a: broadcast its value; collect one round-r      *)
(* value per member (its own included); once it holds N - F values it may  *)
(* leave the round (the grace timer fires at any time after that; at N     *)
(* values it has nothing left to wait for). Leaving, it moves to the        *)
(* midpoint of its view with the F lowest and F highest values dropped.    *)
(* After round R it is done. The network keeps every message (loss,        *)
(* duplication, reordering).                                               *)
(*                                                                         *)
(* R, the Byzantine extremes and the agreement bound are computed with the *)
(* code's formulas (rounds_needed, extremes) from the public domain        *)
(* [Lo, Hi], epsilon and max_rounds; tests/test_tlc.py compares them with  *)
(* the Python configuration.                                               *)
(*                                                                         *)
(* What this abstracts from the code: one dimension (the code's vectors    *)
(* are per coordinate); one Byzantine member Byz, which offers each honest *)
(* recipient, in every round, both extremes Low and High (the code's       *)
(* adversary sends one of them per recipient and round, a subset of these  *)
(* behaviours); the outsider's forged round-1 value, malformed values and  *)
(* bad rounds are rejected by screening and not modelled; the grace timer *)
(* may fire at any time once N - F values are held. Delivery is not       *)
(* modelled step by step: a round's view is chosen when the agent leaves  *)
(* the round, as any set of values that can have arrived by then (see     *)
(* Views), which is every view the code can assemble; the per-delivery    *)
(* buffering of early values is then implicit.                             *)
(* Trace mapping (mabeam/tla/mappings/iterative.py, checked by TLC in      *)
(* tests/test_tla_trace.py): round[a] = NumericState.round (R + 1 once     *)
(* done), val[a] = NumericState.value * Scale, hist[a] =                   *)
(* NumericState.history (RoundRecord round, view, left; values scaled by   *)
(* this cfg's Scale). Deliveries and the grace timer are stutters; a       *)
(* delivery that completes rounds is one Leave per round.                  *)
(***************************************************************************)
EXTENDS Integers, FiniteSets, Sequences

CONSTANTS
    Honest,     \* honest members
    Byz,        \* the Byzantine member (F = 1 in the checked configuration)
    F,          \* values trimmed from each side
    Input,      \* Input[a]: scaled input of honest agent a
    Lo, Hi,     \* the public input domain, scaled
    Epsilon,    \* the agreement target, scaled
    MaxRounds   \* the round cap

Agents == Honest \cup {Byz}
N == Cardinality(Agents)

\* ------------------------------------------ mabeam/protocols/iterative/numeric.py
Width == IF Hi - Lo = 0 THEN 1 ELSE Hi - Lo
\* rounds_needed: the least k with Width / 2^k <= Epsilon
RoundsNeeded == CHOOSE k \in 0..Width : /\ Width <= Epsilon * 2^k
                                        /\ \A j \in 0..(k - 1) : Width > Epsilon * 2^j
R == IF RoundsNeeded < MaxRounds THEN RoundsNeeded ELSE MaxRounds
\* extremes(): values just outside the public domain on either side
Low == Lo - Width
High == Hi + Width
\* IR-S3's agreement bound, (hi - lo) / 2^R
Bound == (Hi - Lo) \div 2^R

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [rounds |-> R, low |-> Low, high |-> High, bound |-> Bound, n |-> N, f |-> F, input |-> Input]

ASSUME N > 3 * F
ASSUME Input \in [Honest -> Lo..Hi]
ASSUME R \in Nat \ {0}
ASSUME Byz \notin Honest

VARIABLES
    round,   \* round[a]: the round a is in (R + 1 once done)
    val,     \* val[a]: the value a entered its current round with
    hist     \* hist[a]: sequence of [round, view, left] records, one per round left

vars == <<round, val, hist>>

Values(V) == {p[2] : p \in V}
\* the k-th smallest / largest value of a view (a set of <<sender, value>>)
KthSmallest(V, k) == CHOOSE x \in Values(V) :
    Cardinality({p \in V : p[2] < x}) < k /\ Cardinality({p \in V : p[2] <= x}) >= k
KthLargest(V, k) == CHOOSE x \in Values(V) :
    Cardinality({p \in V : p[2] > x}) < k /\ Cardinality({p \in V : p[2] >= x}) >= k
TrimmedMidpoint(V) == (KthSmallest(V, F + 1) + KthLargest(V, F + 1)) \div 2

Done(a) == round[a] > R

\* the value honest s broadcast for round r (it has entered round r): its input, or the value
\* it left round r - 1 with. The network keeps every message, so these are exactly the
\* round-r values any honest agent may have received.
RoundValue(s, r) == IF r = 1 THEN Input[s] ELSE hist[s][r - 1].left

\* the views agent a may hold when it leaves its round: its own value, one value per member
\* whose round value reached it (Byz: either extreme, or none), at least N - F in all. Which
\* messages arrived, and in which order, is free (loss, duplication, reordering), so any such
\* set is a possible view; the code's rule "a sender's second value for a round is never
\* counted" is what makes a view one value per sender.
Views(a) ==
    LET r == round[a] IN
    {V \in {{<<s, RoundValue(s, r)>> : s \in S} \cup B :
              S \in {T \in SUBSET {s \in Honest : round[s] >= r} : a \in T},
              B \in {{}, {<<Byz, Low>>}, {<<Byz, High>>}}} :
        Cardinality(V) >= N - F}

Init ==
    /\ round = [a \in Honest |-> 1]
    /\ val = Input
    /\ hist = [a \in Honest |-> <<>>]

\* leaving round r with view V (all N values, or the grace timer fired with >= N - F)
Leave(a, V) ==
    LET r == round[a]
        left == TrimmedMidpoint(V)
    IN /\ ~Done(a)
       /\ hist' = [hist EXCEPT ![a] = Append(@, [round |-> r, view |-> V, left |-> left])]
       /\ round' = [round EXCEPT ![a] = r + 1]
       /\ val' = [val EXCEPT ![a] = left]

\* the intended end: every honest agent done (undelivered messages are then ignored)
Stop == (\A a \in Honest : Done(a)) /\ UNCHANGED vars

Next == (\E a \in Honest : \E V \in Views(a) : Leave(a, V)) \/ Stop

\* Fairness (spec/iterative.md, IR-L1): honest messages are delivered and the grace timer
\* fires, so an agent that can leave its round eventually does (Byz may stay silent).
Fairness == \A a \in Honest : WF_vars(\E V \in Views(a) : Leave(a, V))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Properties, named after the IDs of spec/iterative.md.                   *)

MinInput == CHOOSE x \in {Input[a] : a \in Honest} : \A b \in Honest : x <= Input[b]
MaxInput == CHOOSE x \in {Input[a] : a \in Honest} : \A b \in Honest : x >= Input[b]
Records(a) == {hist[a][i] : i \in 1..Len(hist[a])}
RecordsOf(r) == UNION {{<<a, rec>> : rec \in {x \in Records(a) : x.round = r}} : a \in Honest}
\* honest round-r values known so far: inputs for round 1, else the values left round r-1 with
KnownValues(r) == IF r = 1 THEN {Input[a] : a \in Honest}
                  ELSE {x[2].left : x \in RecordsOf(r - 1)}
Abs(x) == IF x < 0 THEN -x ELSE x
Synchronous(x, y) == Cardinality(x.view \cap y.view) >= 2 * F + 1
\* a run is synchronous when every pair's views of every completed round are
SynchronousRun == \A r \in 1..R : \A x, y \in RecordsOf(r) : Synchronous(x[2], y[2])

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
    ((\A a \in Honest : Done(a)) /\ SynchronousRun)
        => \A a, b \in Honest : Abs(val[a] - val[b]) <= Bound

IR_S4_OneValuePerSender ==
    \A a \in Honest : \A rec \in Records(a) :
        /\ \A p, q \in rec.view : p[1] = q[1] => p = q
        /\ \A p \in rec.view : p[1] \in Agents

IR_L1_Termination == <>(\A a \in Honest : Done(a))

\* IR-R1 some agent terminates; IR-R2 all honest agents decide after a synchronous run. Their
\* negations are checked as INVARIANTs that TLC must report violated (tests/test_tlc.py).
IR_R1_NobodyTerminates == \A a \in Honest : ~Done(a)
IR_R2_NoSynchronousAgreement == ~((\A a \in Honest : Done(a)) /\ SynchronousRun)

THEOREM Spec => [](IR_S1_Validity /\ IR_S2_Contraction /\ IR_S3_EpsilonAgreement
                   /\ IR_S4_OneValuePerSender)
THEOREM Spec => IR_L1_Termination
-----------------------------------------------------------------------------
\* The checked configuration: mabeam.protocols.iterative.numeric.build(4, 1) (spread_inputs:
\* honest inputs 0, 2, 4 over the domain [0, 4]), scaled by 2^R = 4
CheckedInput == [a \in Honest |-> CASE a = "a0" -> 0 [] a = "a1" -> 8 [] OTHER -> 16]
=============================================================================
