---------------------------- MODULE Hierarchical ----------------------------
(***************************************************************************)
(* Groups pass a certified decision up as one vote (spec/hierarchical.md,  *)
(* mabeam.protocols.hierarchical).  Members sign one vote for their input  *)
(* (bound to session, level and group); a Byzantine member signs any vote  *)
(* as itself, never as another.  A group certificate for v is q_g signed   *)
(* votes for v by distinct members, q_g = (n_g + f_g) \div 2 + 1; whoever  *)
(* relays it adds no authority, so a certificate is modelled by the set of *)
(* signed votes it could be built from.  Each judge counts at most one     *)
(* certified value per group (a later, different one is refused as         *)
(* group-equivocation evidence) and decides v on T = (G + F) \div 2 + 1    *)
(* group votes for v, F = the groups with more than f_g Byzantine members. *)
(*                                                                         *)
(* What this abstracts from the code: forwarders and representatives (any *)
(* q_g signed votes can reach a judge, which covers every relay, Byzantine *)
(* or not, and redundant forwarding); invalid certificates (forged or      *)
(* altered signatures, wrong group, level or session, an intruder's) are   *)
(* rejected by the judge's validation before counting and are not          *)
(* modelled; one level, honest judges, no TopDecision announcements (off in *)
(* the checked layouts). The construction check (n_g >= 3 f_g + 1 for     *)
(* every group, G >= 3F + 1) is LayoutAccepted, a guard of Init: a refused *)
(* layout never starts (the code raises InsufficientReplicasError), so     *)
(* HIER-S1 is a checked consequence, not an assumption; tests/test_tlc.py  *)
(* drops that guard on the undersized layout build(7, 1) and TLC must      *)
(* find HIER-S1 violated.                                                  *)
(* Trace mapping (mabeam/tla/mappings/hierarchical.py, checked by TLC in   *)
(* tests/test_tla_trace.py): counted[j][g] = the value of j's              *)
(* HierState.tally entry for g, refused[j] = HierState.refused, decided[j] *)
(* = HierState.decided, signed = the honest members' input votes plus      *)
(* every vote a Byzantine member put on the wire, bare or in a             *)
(* certificate. Members' and forwarders' states are unobserved: their      *)
(* steps are stutters.                                                     *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Agents,       \* every group member
          Judges,       \* the upper level
          GroupNames,   \* the groups of the level below
          Byzantine,    \* faulty members (representatives included)
          Values,       \* the values a member may sign
          NoValue,      \* "not counted" / "not decided"
          GroupOf,      \* GroupOf[a]: the group of member a
          FaultBound,   \* FaultBound[g]: f_g
          Input,        \* Input[a]: member a's input
          FaultyGroups  \* F: groups counted as one faulty vote above

Members(g) == {a \in Agents : GroupOf[a] = g}
N(g) == Cardinality(Members(g))
Q(g) == (N(g) + FaultBound[g]) \div 2 + 1
G == Cardinality(GroupNames)
T == (G + FaultyGroups) \div 2 + 1
OverBound(g) == Cardinality(Members(g) \cap Byzantine) > FaultBound[g]

ASSUME /\ NoValue \notin Values
       /\ \A a \in Agents : GroupOf[a] \in GroupNames /\ Input[a] \in Values
       \* F is what build() computes: the groups the placed faults put over their bound
       /\ FaultyGroups = Cardinality({g \in GroupNames : OverBound(g)})

\* the code's construction check (config.make_group, Hierarchical.__init__)
LayoutAccepted == /\ \A g \in GroupNames : N(g) >= 3 * FaultBound[g] + 1
                  /\ G >= 3 * FaultyGroups + 1

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [quorum |-> [g \in GroupNames |-> Q(g)], threshold |-> T, faultyGroups |-> FaultyGroups]

VARIABLES signed,    \* signed votes <<member, value>> that exist
          counted,   \* counted[j][g]: the certified value judge j counted for g, or NoValue
          refused,   \* refused[j]: <<g, v>> second certified values judge j refused
          decided    \* decided[j]: judge j's decision or NoValue

vars == <<signed, counted, refused, decided>>

SignersOf(g, v) == {a \in Members(g) : <<a, v>> \in signed}
Certified(g, v) == Cardinality(SignersOf(g, v)) >= Q(g)
VotesFor(j, v) == Cardinality({g \in GroupNames : counted[j][g] = v})

TypeOK == /\ signed \subseteq Agents \X Values
          /\ counted \in [Judges -> [GroupNames -> Values \cup {NoValue}]]
          /\ refused \in [Judges -> SUBSET (GroupNames \X Values)]
          /\ decided \in [Judges -> Values \cup {NoValue}]

Init == /\ LayoutAccepted
        /\ signed = {<<a, Input[a]>> : a \in Agents \ Byzantine}
        /\ counted = [j \in Judges |-> [g \in GroupNames |-> NoValue]]
        /\ refused = [j \in Judges |-> {}]
        /\ decided = [j \in Judges |-> NoValue]

\* a Byzantine member signs any vote as itself
ByzantineSign(b, v) == /\ <<b, v>> \notin signed
                       /\ signed' = signed \cup {<<b, v>>}
                       /\ UNCHANGED <<counted, refused, decided>>

\* judge j receives a valid certificate of g for v: counted if g has no counted value yet
\* (a conflicting one is evidence, not a vote); decide on T group votes for v
Count(j, g, v) == /\ decided[j] = NoValue
                  /\ counted[j][g] = NoValue
                  /\ Certified(g, v)
                  /\ counted' = [counted EXCEPT ![j][g] = v]
                  /\ decided' = IF Cardinality({h \in GroupNames : counted'[j][h] = v}) >= T
                                THEN [decided EXCEPT ![j] = v] ELSE decided
                  /\ UNCHANGED <<signed, refused>>

\* a valid certificate of g for another value than the counted one: group-equivocation
\* evidence, never counted
Refuse(j, g, v) == /\ decided[j] = NoValue
                   /\ counted[j][g] \notin {NoValue, v}
                   /\ <<g, v>> \notin refused[j]
                   /\ Certified(g, v)
                   /\ refused' = [refused EXCEPT ![j] = @ \cup {<<g, v>>}]
                   /\ UNCHANGED <<signed, counted, decided>>

\* the intended end: every judge decided, or no certificate can change anything any more
Finished == \A j \in Judges, g \in GroupNames, v \in Values :
                ~ENABLED Count(j, g, v) /\ ~ENABLED Refuse(j, g, v)
Stop == /\ Finished
        /\ \A b \in Byzantine, v \in Values : <<b, v>> \in signed
        /\ UNCHANGED vars

Next == \/ \E b \in Byzantine, v \in Values : ByzantineSign(b, v)
        \/ \E j \in Judges, g \in GroupNames, v \in Values : Count(j, g, v) \/ Refuse(j, g, v)
        \/ Stop

\* fairness (spec/hierarchical.md): certificates between correct agents are delivered,
\* i.e. weak fairness on every judge's counting of each group's certified value
Fairness == \A j \in Judges, g \in GroupNames, v \in Values : WF_vars(Count(j, g, v))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
\* HIER-S1 Group size bound: a counted group satisfies n_g >= 3 f_g + 1
HIER_S1_SizeBound == \A j \in Judges, g \in GroupNames :
                        counted[j][g] # NoValue => N(g) >= 3 * FaultBound[g] + 1

\* HIER-S2 Certificate soundness: a counted (g, v) has q_g signers, every honest one holding v
HIER_S2_CertificateSoundness ==
    \A j \in Judges, g \in GroupNames :
        counted[j][g] # NoValue =>
            /\ Certified(g, counted[j][g])
            /\ \E a \in SignersOf(g, counted[j][g]) \ Byzantine : Input[a] = counted[j][g]

\* HIER-S3 Upper agreement: no two judges decide different values
HIER_S3_UpperAgreement == \A j1, j2 \in Judges :
                             (decided[j1] # NoValue /\ decided[j2] # NoValue) => decided[j1] = decided[j2]

\* HIER-S4 One vote per group: a group within its bound is counted for one value by every judge
\* (counted[j] is a function of the group, so each judge counts a group once)
HIER_S4_OneVotePerGroup == /\ \A j1, j2 \in Judges, g \in GroupNames :
                                 (~OverBound(g) /\ counted[j1][g] # NoValue /\ counted[j2][g] # NoValue)
                                    => counted[j1][g] = counted[j2][g]
                              /\ \A j \in Judges : \A r \in refused[j] : counted[j][r[1]] # r[2]

\* HIER-S5 Level consumption: a decision rests on T certified group votes of the level below
HIER_S5_LevelConsumption == \A j \in Judges : decided[j] # NoValue => VotesFor(j, decided[j]) >= T

\* HIER-L1 Termination: T groups within bound whose honest holders of v reach q_g
LiveGroups(v) == {g \in GroupNames : /\ ~OverBound(g)
                                      /\ Cardinality({a \in Members(g) \ Byzantine : Input[a] = v}) >= Q(g)}
Promised == \E v \in Values : Cardinality(LiveGroups(v)) >= T
HIER_L1_Termination == Promised => <>(\A j \in Judges : decided[j] # NoValue)

\* HIER-R1 A judge decides; HIER-R2 a judge refuses a faulty group's second certified value.
\* Their negations are checked as INVARIANTs that TLC must report violated (tests/test_tlc.py).
HIER_R1_NoJudgeDecides == \A j \in Judges : decided[j] = NoValue
HIER_R2_NoGroupEquivocation == \A j \in Judges : refused[j] = {}

-----------------------------------------------------------------------------
\* The standard check of mabeam.protocols.hierarchical.build(12, 3), representatives abstracted
\* (a certificate is any q_g signed votes; its relayer adds nothing)
DemoGroupOf == [a \in Agents |-> CASE a \in {"a0", "a1", "a2", "a3"} -> "g0"
                                   [] a = "a4" -> "g1"
                                   [] a = "a5" -> "g2"
                                   [] OTHER -> "g3"]
DemoFaultBound == [g \in GroupNames |-> IF g \in {"g0", "g3"} THEN 1 ELSE 0]
DemoInput == [a \in Agents |-> IF a \in {"a6", "a9"} THEN "y" ELSE "x"]
=============================================================================
