---------------------------- MODULE Hierarchical ----------------------------
(***************************************************************************)
(* Groups pass a certified decision up as one vote (spec/hierarchical.md,  *)
(* mabeam.protocols.hierarchical).  Members sign one vote for their input  *)
(* (bound to session, level and group); a Byzantine member signs any vote  *)
(* as itself, never as another.  A group certificate for v is q_g signed   *)
(* votes for v by distinct members, q_g = (n_g + f_g) \div 2 + 1; whoever  *)
(* relays it adds no authority, so a certificate is modelled by the set of *)
(* signed votes it could be built from.  Each judge counts at most one     *)
(* certified value per group and decides v on T = (G + F) \div 2 + 1      *)
(* group votes for v, F = the groups with more than f_g Byzantine members. *)
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
       /\ \A g \in GroupNames : N(g) >= 3 * FaultBound[g] + 1        \* refused otherwise
       /\ G >= 3 * FaultyGroups + 1                                   \* refused otherwise
       /\ Cardinality({g \in GroupNames : OverBound(g)}) <= FaultyGroups

VARIABLES signed,    \* signed votes <<member, value>> that exist
          counted,   \* counted[j][g]: the certified value judge j counted for g, or NoValue
          decided    \* decided[j]: judge j's decision or NoValue

vars == <<signed, counted, decided>>

SignersOf(g, v) == {a \in Members(g) : <<a, v>> \in signed}
Certified(g, v) == Cardinality(SignersOf(g, v)) >= Q(g)
VotesFor(j, v) == Cardinality({g \in GroupNames : counted[j][g] = v})

TypeOK == /\ signed \subseteq Agents \X Values
          /\ counted \in [Judges -> [GroupNames -> Values \cup {NoValue}]]
          /\ decided \in [Judges -> Values \cup {NoValue}]

Init == /\ signed = {<<a, Input[a]>> : a \in Agents \ Byzantine}
        /\ counted = [j \in Judges |-> [g \in GroupNames |-> NoValue]]
        /\ decided = [j \in Judges |-> NoValue]

\* a Byzantine member signs any vote as itself
ByzantineSign(b, v) == /\ signed' = signed \cup {<<b, v>>}
                       /\ UNCHANGED <<counted, decided>>

\* judge j receives a valid certificate of g for v: counted if g has no counted value yet
\* (a conflicting one is evidence, not a vote); decide on T group votes for v
Count(j, g, v) == /\ decided[j] = NoValue
                  /\ counted[j][g] = NoValue
                  /\ Certified(g, v)
                  /\ counted' = [counted EXCEPT ![j][g] = v]
                  /\ decided' = IF Cardinality({h \in GroupNames : counted'[j][h] = v}) >= T
                                THEN [decided EXCEPT ![j] = v] ELSE decided
                  /\ UNCHANGED signed

Next == \/ \E b \in Byzantine, v \in Values : ByzantineSign(b, v)
        \/ \E j \in Judges, g \in GroupNames, v \in Values : Count(j, g, v)

Fairness == \A j \in Judges : WF_vars(\E g \in GroupNames, v \in Values : Count(j, g, v))

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
HIER_S4_OneVotePerGroup == \A j1, j2 \in Judges, g \in GroupNames :
                              (~OverBound(g) /\ counted[j1][g] # NoValue /\ counted[j2][g] # NoValue)
                                 => counted[j1][g] = counted[j2][g]

\* HIER-S5 Level consumption: a decision rests on T certified group votes of the level below
HIER_S5_LevelConsumption == \A j \in Judges : decided[j] # NoValue => VotesFor(j, decided[j]) >= T

\* HIER-L1 Termination: T groups within bound whose honest holders of v reach q_g
LiveGroups(v) == {g \in GroupNames : /\ ~OverBound(g)
                                      /\ Cardinality({a \in Members(g) \ Byzantine : Input[a] = v}) >= Q(g)}
Promised == \E v \in Values : Cardinality(LiveGroups(v)) >= T
HIER_L1_Termination == Promised => <>(\A j \in Judges : decided[j] # NoValue)

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
