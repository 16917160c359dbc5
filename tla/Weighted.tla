--------------------------- MODULE Weighted ---------------------------
(***************************************************************************)
(* Weighted voting, Byzantine mode (spec/weighted.md, mabeam.protocols.    *)
(* weighted).  Every honest agent broadcasts its input once; an agent     *)
(* decides v once the members whose first counted vote is v weigh more    *)
(* than Threshold = 2/3 of the total weight.  Weights are a constant      *)
(* function: a vote carries none.  A Byzantine agent may sign any vote as *)
(* itself, to anyone, any number of times (equivocation); it cannot sign  *)
(* as another agent.  The message set never loses a vote, so a vote may   *)
(* be received any number of times, in any order, or never: the checker's *)
(* "duplicating" network.                                                 *)
(*                                                                         *)
(* What this abstracts from the code: one session (wrong-session and       *)
(* outsider votes are screened before the machine and not modelled; the    *)
(* code's intruder is refused by screening); Byzantine mode with the       *)
(* default threshold 2/3 only (crash mode is not modelled); weights are   *)
(* naturals (the code's Fraction weights scaled to units); a vote is sent *)
(* to everybody at once (msgs is a broadcast set), so a Byzantine vote    *)
(* reaches any subset of the honest agents.                               *)
(* Trace mapping (mabeam/tla/mappings/weighted.py, checked by TLC in      *)
(* tests/test_tla_trace.py), for the honest a: tally[a][b] =              *)
(* WeightedState.votes[b] (None -> NoVote), refused[a] =                  *)
(* WeightedState.refused, decided[a] = WeightedState.decided; msgs =      *)
(* every member's vote sent so far (a Byzantine one from the step that    *)
(* sent, or first delivered, it: ByzantineVote, then Receive); decisions. *)
(* The Byzantine agent's own tally is left to TLC.                        *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Agents,     \* the membership
          Byzantine,  \* the faulty agents (total weight below a third)
          Values,     \* the values an agent may vote for
          NoVote,     \* marks "no vote counted" / "not decided"
          Weight,     \* Weight[a]: the configured weight of agent a
          Input       \* Input[a]: agent a's input value

Honest == Agents \ Byzantine

RECURSIVE SumOver(_, _)
SumOver(f, S) == IF S = {} THEN 0
                 ELSE LET x == CHOOSE y \in S : TRUE IN f[x] + SumOver(f, S \ {x})

WeightOf(S) == SumOver(Weight, S)
Total == WeightOf(Agents)

\* mabeam.protocols.weighted.config: BYZANTINE_THRESHOLD = 2/3, BYZANTINE_FAULT_LIMIT = 1/3
ThresholdNum == 2
ThresholdDen == 3
FaultLimitNum == 1
FaultLimitDen == 3

ASSUME /\ Byzantine \subseteq Agents
       /\ NoVote \notin Values
       /\ \A a \in Agents : Weight[a] \in Nat /\ Input[a] \in Values
       /\ Total > 0
       /\ FaultLimitDen * WeightOf(Byzantine) < FaultLimitNum * Total   \* faulty weight below W/3

\* the decision rule, exact: support > Threshold * Total
Backed(S) == ThresholdDen * WeightOf(S) > ThresholdNum * Total

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [thresholdNum |-> ThresholdNum, thresholdDen |-> ThresholdDen, total |-> Total,
          faultLimitNum |-> FaultLimitNum, faultLimitDen |-> FaultLimitDen, weight |-> Weight]

VotersOf(t, v) == {b \in Agents : t[b] = v}

\* the (unique, by quorum intersection) value a tally backs, or NoVote
Winner(t) == IF \E v \in Values : Backed(VotersOf(t, v))
             THEN CHOOSE v \in Values : Backed(VotersOf(t, v))
             ELSE NoVote

VARIABLES msgs,       \* votes ever sent: [sender, value] records
          tally,      \* tally[a][b]: the first vote of b counted by a, or NoVote
          refused,    \* refused[a]: <<voter, value>> conflicting votes a refused
          decided,    \* decided[a]: a's decision or NoVote
          decisions   \* history of <<agent, value>> decisions (for integrity)

vars == <<msgs, tally, refused, decided, decisions>>

Vote == [sender : Agents, value : Values]

StartTally(a) == [b \in Agents |-> IF b = a THEN Input[a] ELSE NoVote]

TypeOK == /\ msgs \subseteq Vote
          /\ tally \in [Agents -> [Agents -> Values \cup {NoVote}]]
          /\ refused \in [Agents -> SUBSET (Agents \X Values)]
          /\ decided \in [Agents -> Values \cup {NoVote}]
          /\ decisions \subseteq Agents \X Values

Init == /\ msgs = {[sender |-> a, value |-> Input[a]] : a \in Honest}
        /\ tally = [a \in Agents |-> StartTally(a)]
        /\ refused = [a \in Agents |-> {}]
        /\ decided = [a \in Agents |-> IF a \in Honest THEN Winner(StartTally(a)) ELSE NoVote]
        /\ decisions = {<<a, Winner(StartTally(a))>> : a \in {h \in Honest : Winner(StartTally(h)) # NoVote}}

\* a Byzantine agent signs any vote as itself
ByzantineVote(b, v) == /\ msgs' = msgs \cup {[sender |-> b, value |-> v]}
                       /\ UNCHANGED <<tally, refused, decided, decisions>>

\* honest agent a counts the first vote of m.sender
Count(a, m) == LET t == [tally[a] EXCEPT ![m.sender] = m.value]
                   w == Winner(t)
               IN /\ tally[a][m.sender] = NoVote
                  /\ tally' = [tally EXCEPT ![a] = t]
                  /\ decided' = [decided EXCEPT ![a] = w]
                  /\ decisions' = IF w = NoVote THEN decisions ELSE decisions \cup {<<a, w>>}
                  /\ UNCHANGED <<msgs, refused>>

\* a conflicting vote is refused (evidence), never counted; a re-vote changes nothing
Equivocate(a, m) == /\ tally[a][m.sender] \notin {NoVote, m.value}
                    /\ <<m.sender, m.value>> \notin refused[a]
                    /\ refused' = [refused EXCEPT ![a] = @ \cup {<<m.sender, m.value>>}]
                    /\ UNCHANGED <<msgs, tally, decided, decisions>>

Receive(a, m) == /\ a \in Honest
                 /\ decided[a] = NoVote
                 /\ m \in msgs
                 /\ m.sender # a
                 /\ Count(a, m) \/ Equivocate(a, m)

Next == \/ \E b \in Byzantine, v \in Values : ByzantineVote(b, v)
        \/ \E a \in Agents, m \in msgs : Receive(a, m)

\* fairness (spec/weighted.md): weak fairness on every delivery of a vote between honest
\* agents; the Byzantine agent's votes carry none
Fairness == \A a \in Honest, m \in Vote : m.sender \in Honest => WF_vars(Receive(a, m))

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
\* WV-S1 Agreement: no two honest agents decide different values
WV_S1_Agreement == \A a, b \in Honest :
                      (decided[a] # NoVote /\ decided[b] # NoVote) => decided[a] = decided[b]

\* WV-S2 Validity: the honest holders of a decided value weigh more than 2/3 W - w(Byzantine)
WV_S2_Validity == \A a \in Honest :
                     decided[a] # NoVote =>
                        3 * WeightOf({h \in Honest : Input[h] = decided[a]})
                            > 2 * Total - 3 * WeightOf(Byzantine)

\* WV-S3 Integrity: an honest agent decides at most one value
WV_S3_Integrity == \A p, q \in decisions : p[1] = q[1] => p[2] = q[2]

\* WV-S4 One counted vote per member: tally is a function of the voter (one vote each,
\* members only); a refused conflicting vote is never the counted one
WV_S4_OneCountedVote == \A a \in Honest : \A r \in refused[a] : tally[a][r[1]] # r[2]

\* WV-S5 Decision backed by weight: the decided value's counted voters weigh > 2/3 W
WV_S5_DecisionBacked == \A a \in Honest : decided[a] # NoVote => Backed(VotersOf(tally[a], decided[a]))

\* WV-T1 A counted vote is never revised (a property of steps): once an honest agent counted
\* a member's vote, every step keeps it
WV_T1_CountedVoteKept ==
    [][\A a \in Honest : \A b \in Agents : tally[a][b] # NoVote => tally'[a][b] = tally[a][b]]_vars

\* WV-R1 Some agent decides: its negation, checked as an INVARIANT that TLC must report
\* violated (tests/test_tlc.py; not listed in Weighted.cfg).
WV_R1_NobodyDecides == \A a \in Honest : decided[a] = NoVote

\* WV-L1 Termination: if the honest holders of one value weigh more than 2/3 W,
\* every honest agent eventually decides
Promised == \E v \in Values : Backed({h \in Honest : Input[h] = v})
WV_L1_Termination == Promised => <>(\A a \in Honest : decided[a] # NoVote)

-----------------------------------------------------------------------------
\* The checked configuration of mabeam.protocols.weighted.build(4, 1) (demo_configuration)
DemoWeight == [a \in Agents |-> CASE a = "a0" -> 5 [] a = "a1" -> 2 [] OTHER -> 1]
DemoInput == [a \in Agents |-> IF a \in {"a0", "a1"} THEN "x" ELSE "y"]
=============================================================================
