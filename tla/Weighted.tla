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
(*                                                                         *)
(* Linear mode (Linear = TRUE, mabeam.protocols.weighted.linear,          *)
(* Weighted.linear.cfg): an honest vote reaches only the Collector; the   *)
(* collector, once it decides, adds a certificate [sender, value, voters] *)
(* to certs, voters being the members whose signed vote for value it      *)
(* counted.  Signatures are abstracted by who may appear in voters: an    *)
(* honest member only for its input, a Byzantine one for anything; a      *)
(* Byzantine member issues, per value, the certificate of every such      *)
(* vote (the code's LinearAdversary).  A receiver counts a                *)
(* certificate whose voters weigh more than the quorum as if each vote    *)
(* had arrived (first votes counted, conflicting ones refused).  In       *)
(* all-to-all mode (Weighted.cfg) certs stays empty and the state space   *)
(* is the one without this mode.                                          *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Agents,     \* the membership
          Byzantine,  \* the faulty agents (total weight below a third)
          Values,     \* the values an agent may vote for
          NoVote,     \* marks "no vote counted" / "not decided"
          Weight,     \* Weight[a]: the configured weight of agent a
          Input,      \* Input[a]: agent a's input value
          Linear,     \* TRUE: linear mode (votes to Collector, certificates)
          Collector   \* the collector of linear mode

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
       /\ Linear \in BOOLEAN /\ Collector \in Agents
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
          decisions,  \* history of <<agent, value>> decisions (for integrity)
          certs       \* linear mode: certificates ever sent, [sender, value, voters]

vars == <<msgs, tally, refused, decided, decisions, certs>>

Vote == [sender : Agents, value : Values]
Cert == [sender : Agents, value : Values, voters : SUBSET Agents]

\* who can have signed a vote for v: an honest member only for its input
Signable(v) == {b \in Agents : b \in Byzantine \/ Input[b] = v}

\* the certificate the (honest) collector sends when its tally t makes it decide w (none otherwise)
Announce(a, t, w) == IF Linear /\ a = Collector /\ w # NoVote
                     THEN {[sender |-> a, value |-> w, voters |-> VotersOf(t, w)]} ELSE {}

StartTally(a) == [b \in Agents |-> IF b = a THEN Input[a] ELSE NoVote]

TypeOK == /\ msgs \subseteq Vote
          /\ tally \in [Agents -> [Agents -> Values \cup {NoVote}]]
          /\ refused \in [Agents -> SUBSET (Agents \X Values)]
          /\ decided \in [Agents -> Values \cup {NoVote}]
          /\ decisions \subseteq Agents \X Values
          /\ certs \subseteq Cert

Init == /\ msgs = {[sender |-> a, value |-> Input[a]] : a \in Honest}
        /\ tally = [a \in Agents |-> StartTally(a)]
        /\ refused = [a \in Agents |-> {}]
        /\ decided = [a \in Agents |-> IF a \in Honest THEN Winner(StartTally(a)) ELSE NoVote]
        /\ decisions = {<<a, Winner(StartTally(a))>> : a \in {h \in Honest : Winner(StartTally(h)) # NoVote}}
        /\ certs = IF Collector \in Honest THEN Announce(Collector, StartTally(Collector),
                                                          Winner(StartTally(Collector))) ELSE {}

\* a Byzantine agent signs any vote as itself
ByzantineVote(b, v) == /\ msgs' = msgs \cup {[sender |-> b, value |-> v]}
                       /\ UNCHANGED <<tally, refused, decided, decisions, certs>>

\* linear mode: a Byzantine member sends, for a value v, a certificate of every vote for v that
\* could be signed (its own, and honest ones, public once sent), as the code's LinearAdversary does
ByzantineCert(b, v) == /\ Linear
                       /\ certs' = certs \cup {[sender |-> b, value |-> v, voters |-> Signable(v)]}
                          /\ UNCHANGED <<msgs, tally, refused, decided, decisions>>

\* honest agent a counts the first vote of m.sender
Count(a, m) == LET t == [tally[a] EXCEPT ![m.sender] = m.value]
                   w == Winner(t)
               IN /\ tally[a][m.sender] = NoVote
                  /\ tally' = [tally EXCEPT ![a] = t]
                  /\ decided' = [decided EXCEPT ![a] = w]
                  /\ decisions' = IF w = NoVote THEN decisions ELSE decisions \cup {<<a, w>>}
                  /\ certs' = certs \cup Announce(a, t, w)
                  /\ UNCHANGED <<msgs, refused>>

\* a conflicting vote is refused (evidence), never counted; a re-vote changes nothing
Equivocate(a, m) == /\ tally[a][m.sender] \notin {NoVote, m.value}
                    /\ <<m.sender, m.value>> \notin refused[a]
                    /\ refused' = [refused EXCEPT ![a] = @ \cup {<<m.sender, m.value>>}]
                    /\ UNCHANGED <<msgs, tally, decided, decisions, certs>>

\* in linear mode an honest member's vote travels to the collector only
Reaches(a, m) == ~Linear \/ a = Collector \/ m.sender \in Byzantine

Receive(a, m) == /\ a \in Honest
                 /\ decided[a] = NoVote
                 /\ m \in msgs
                 /\ m.sender # a
                 /\ Reaches(a, m)
                 /\ Count(a, m) \/ Equivocate(a, m)

\* linear mode: a checked certificate (voters weigh more than the quorum) is counted vote by vote
ReceiveCert(a, c) == LET t == [b \in Agents |-> IF b \in c.voters /\ tally[a][b] = NoVote
                                                THEN c.value ELSE tally[a][b]]
                         w == Winner(t)
                     IN /\ a \in Honest
                        /\ decided[a] = NoVote
                        /\ c \in certs
                        /\ c.sender # a
                        /\ Backed(c.voters)
                        /\ tally' = [tally EXCEPT ![a] = t]
                        /\ refused' = [refused EXCEPT ![a] = @ \cup
                                          {<<b, c.value>> : b \in {x \in c.voters : tally[a][x] \notin {NoVote, c.value}}}]
                        /\ decided' = [decided EXCEPT ![a] = w]
                        /\ decisions' = IF w = NoVote THEN decisions ELSE decisions \cup {<<a, w>>}
                        /\ certs' = certs \cup Announce(a, t, w)
                        /\ UNCHANGED msgs

Next == \/ \E b \in Byzantine, v \in Values : ByzantineVote(b, v)
        \/ \E b \in Byzantine, v \in Values : ByzantineCert(b, v)
        \/ \E a \in Agents, m \in msgs : Receive(a, m)
        \/ \E a \in Agents, c \in certs : ReceiveCert(a, c)

\* fairness (spec/weighted.md): weak fairness on every delivery of a vote between honest
\* agents; the Byzantine agent's votes carry none
Fairness == /\ \A a \in Honest, m \in Vote : m.sender \in Honest => WF_vars(Receive(a, m))
            /\ \A a \in Honest, c \in Cert : c.sender \in Honest => WF_vars(ReceiveCert(a, c))

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
\* (linear mode: only with an honest collector, who alone announces)
Promised == /\ \E v \in Values : Backed({h \in Honest : Input[h] = v})
            /\ Linear => Collector \in Honest
WV_L1_Termination == Promised => <>(\A a \in Honest : decided[a] # NoVote)

\* WV-R2 A member decides from a certificate (linear mode; in all-to-all mode: a member other
\* than the collector decides): its negation, which TLC must report violated
WV_R2_OnlyCollectorDecides == \A a \in Honest \ {Collector} : decided[a] = NoVote

\* WV-C1 Linear communication: only the collector sends certificates among the honest, and
\* at most one (an honest vote reaches only the collector: Reaches)
WV_C1_LinearCommunication == /\ \A c \in certs : c.sender \in Honest => c.sender = Collector
                             /\ Cardinality({c \in certs : c.sender \in Honest}) <= 1

\* WV-C2 Certificates are backed: an honest certificate's voters signed its value and weigh
\* more than the quorum
WV_C2_CertificatesBacked == \A c \in certs : c.sender \in Honest =>
                               (c.voters \subseteq Signable(c.value) /\ Backed(c.voters))

-----------------------------------------------------------------------------
\* The checked configuration of mabeam.protocols.weighted.build(4, 1) (demo_configuration)
DemoWeight == [a \in Agents |-> CASE a = "a0" -> 5 [] a = "a1" -> 2 [] OTHER -> 1]
DemoInput == [a \in Agents |-> IF a \in {"a0", "a1"} THEN "x" ELSE "y"]
=============================================================================
