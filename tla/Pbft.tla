-------------------------------- MODULE Pbft --------------------------------
(***************************************************************************)
(* PBFT for one sequence number, with view change: the machine of          *)
(* mabeam/protocols/pbft/, seen from outside (spec/pbft.md).               *)
(*                                                                         *)
(* The network is the set of messages ever sent (a message may be          *)
(* delivered any number of times, or never). Byzantine replicas may put    *)
(* any message they can sign into it; they cannot sign as anyone else, so  *)
(* honest replicas' messages appear only through honest actions. Votes     *)
(* are abstracted to the set of senders a replica has seen for a          *)
(* (view, value); a prepared certificate is abstracted to <<view, value>>. *)
(* Checkpoints are abstracted to the stable sequence number of a replica.  *)
(* Catch-up: a decided replica's commit certificate is abstracted to a     *)
(* "decided" message for <<view, value>>; it is adopted only if a quorum    *)
(* of commits for it was sent (what q signatures prove). Backups forward   *)
(* the primary's pre-prepare in their prepares, so a prepare for another   *)
(* value in the accepted view exposes the primary (variable exposed).      *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS
    Replicas,     \* the members, in primary order
    Byzantine,    \* the faulty ones (|Byzantine| <= F)
    F,            \* the fault bound, N >= 3F + 1
    Values,       \* the requested operations
    MaxView,      \* views 0 .. MaxView
    Primary,      \* Primary[v]: the primary of view v
    None          \* "nothing yet"

ASSUME Byzantine \subseteq Replicas /\ Cardinality(Byzantine) <= F
ASSUME Cardinality(Replicas) >= 3 * F + 1
ASSUME None \notin Values

N == Cardinality(Replicas)
Quorum == (N + F) \div 2 + 1
Honest == Replicas \ Byzantine
Views == 0 .. MaxView

\* The checked configuration (PBFT.cfg substitutes Primary <- RoundRobin):
\* replicas r0 .. r3 lead views 0, 1, ... in turn.
RoundRobin == [v \in Views |-> CASE v % 4 = 0 -> "r0" [] v % 4 = 1 -> "r1" [] v % 4 = 2 -> "r2" [] OTHER -> "r3"]

Msgs ==
    [type : {"preprepare"}, view : Views, sender : Replicas, value : Values]
    \cup [type : {"prepare", "commit"}, view : Views, sender : Replicas, value : Values]
    \cup [type : {"viewchange"}, view : Views, sender : Replicas,
          cert : [view : Views \cup {None}, value : Values \cup {None}]]
    \cup [type : {"newview"}, view : Views, sender : Replicas, value : Values \cup {None}]
    \cup [type : {"decided"}, view : Views, sender : Replicas, value : Values]

VARIABLES
    view,        \* view[r]: current view
    phase,       \* phase[r]: "normal" or "view-change"
    accepted,    \* accepted[r]: <<view, value>> of the pre-prepare accepted in view[r], or None
    prepared,    \* prepared[r]: set of <<view, value>> prepared (history: PBFT-S2..S4)
    committed,   \* committed[r]: set of <<view, value>> committed-local
    decided,     \* decided[r]: the executed value, or None
    suspected,   \* suspected[r]: views whose primary r's own timer gave up on (PBFT-L3)
    highest,     \* highest[r]: the highest view r ever entered (PBFT-S8)
    stable,      \* stable[r]: 1 once a checkpoint of the decision is stable at r
    exposed,     \* views whose primary an honest replica holds equivocation evidence against
    adopted,     \* honest replicas that executed by adopting a commit certificate (PBFT-R4)
    sent         \* every message sent so far

vars == <<view, phase, accepted, prepared, committed, decided, suspected, highest, stable, exposed, adopted, sent>>

Senders(type, v, val) == {m.sender : m \in {x \in sent : x.type = type /\ x.view = v /\ x.value = val}}

\* the highest-view prepared certificate of r, or no certificate
Cert(r) == IF prepared[r] = {} THEN [view |-> None, value |-> None]
           ELSE LET best == CHOOSE p \in prepared[r] : \A q \in prepared[r] : q[1] <= p[1]
                IN [view |-> best[1], value |-> best[2]]

\* the NEW-VIEW selection rule over a set of VIEW-CHANGE certificates
Selected(certs) == IF \A c \in certs : c.view = None THEN None
                   ELSE LET withCert == {c \in certs : c.view # None}
                            best == CHOOSE c \in withCert : \A d \in withCert : d.view <= c.view
                        IN best.value

TypeOK ==
    /\ view \in [Replicas -> Views]
    /\ phase \in [Replicas -> {"normal", "view-change"}]
    /\ decided \in [Replicas -> Values \cup {None}]
    /\ sent \subseteq Msgs

Init ==
    /\ view = [r \in Replicas |-> 0]
    /\ phase = [r \in Replicas |-> "normal"]
    /\ accepted = [r \in Replicas |-> None]
    /\ prepared = [r \in Replicas |-> {}]
    /\ committed = [r \in Replicas |-> {}]
    /\ decided = [r \in Replicas |-> None]
    /\ suspected = [r \in Replicas |-> {}]
    /\ highest = [r \in Replicas |-> 0]
    /\ stable = [r \in Replicas |-> 0]
    /\ exposed = {}
    /\ adopted = {}
    /\ sent = {}

\* ---------------------------------------------------------------- adversary
ByzantineSend(m) ==
    /\ m.sender \in Byzantine /\ m \in Msgs /\ m \notin sent
    /\ sent' = sent \cup {m}
    /\ UNCHANGED <<exposed, adopted, view, phase, accepted, prepared, committed, decided, suspected, highest, stable>>

\* ------------------------------------------------------------- normal case
Propose(r, val) ==
    /\ r \in Honest /\ r = Primary[view[r]] /\ phase[r] = "normal" /\ accepted[r] = None
    /\ sent' = sent \cup {[type |-> "preprepare", view |-> view[r], sender |-> r, value |-> val]}
    /\ accepted' = [accepted EXCEPT ![r] = <<view[r], val>>]
    /\ UNCHANGED <<exposed, adopted, view, phase, prepared, committed, decided, suspected, highest, stable>>

AcceptPrePrepare(r, m) ==
    /\ r \in Honest /\ r # Primary[view[r]] /\ phase[r] = "normal" /\ accepted[r] = None
    /\ m \in sent /\ m.type = "preprepare" /\ m.view = view[r] /\ m.sender = Primary[view[r]]
    /\ accepted' = [accepted EXCEPT ![r] = <<view[r], m.value>>]
    /\ sent' = sent \cup {[type |-> "prepare", view |-> view[r], sender |-> r, value |-> m.value]}
    /\ UNCHANGED <<exposed, adopted, view, phase, prepared, committed, decided, suspected, highest, stable>>

Prepared(r) ==
    /\ r \in Honest /\ phase[r] = "normal" /\ accepted[r] # None
    /\ LET v == accepted[r][1]  val == accepted[r][2] IN
       /\ <<v, val>> \notin prepared[r]
       /\ Cardinality(Senders("prepare", v, val) \ {Primary[v]}) >= Quorum - 1
       /\ prepared' = [prepared EXCEPT ![r] = @ \cup {<<v, val>>}]
       /\ sent' = sent \cup {[type |-> "commit", view |-> v, sender |-> r, value |-> val]}
    /\ UNCHANGED <<exposed, adopted, view, phase, accepted, committed, decided, suspected, highest, stable>>

Commit(r) ==
    /\ r \in Honest /\ phase[r] = "normal" /\ accepted[r] # None /\ decided[r] = None
    /\ LET v == accepted[r][1]  val == accepted[r][2] IN
       /\ <<v, val>> \in prepared[r]
       /\ Cardinality(Senders("commit", v, val)) >= Quorum
       /\ committed' = [committed EXCEPT ![r] = @ \cup {<<v, val>>}]
       /\ decided' = [decided EXCEPT ![r] = val]
    /\ UNCHANGED <<exposed, adopted, view, phase, accepted, prepared, suspected, highest, stable, sent>>

\* a checkpoint of the decision becomes stable on a quorum of honest-or-not replicas that decided it
Stabilise(r) ==
    /\ r \in Honest /\ decided[r] # None /\ stable[r] = 0
    /\ Cardinality({s \in Honest : decided[s] = decided[r]}) + Cardinality(Byzantine) >= Quorum
    /\ Cardinality({s \in Honest : decided[s] = decided[r]}) >= Quorum - F
    /\ stable' = [stable EXCEPT ![r] = 1]
    /\ UNCHANGED <<exposed, adopted, view, phase, accepted, prepared, committed, decided, suspected, highest, sent>>

\* ------------------------------------------------------------------ catch-up
\* a replica that executed hands its certificate to one that has not
Answer(r, s) ==
    /\ r \in Honest /\ s \in Honest /\ decided[s] = None /\ committed[r] # {}
    /\ \E c \in committed[r] :
        sent' = sent \cup {[type |-> "decided", view |-> c[1], sender |-> r, value |-> c[2]]}
    /\ UNCHANGED <<exposed, adopted, view, phase, accepted, prepared, committed, decided, suspected, highest, stable>>

\* the validation rule: a quorum of signed commits for exactly that view and value
CatchUp(r, m) ==
    /\ r \in Honest /\ decided[r] = None /\ m \in sent /\ m.type = "decided"
    /\ Cardinality(Senders("commit", m.view, m.value)) >= Quorum
    /\ decided' = [decided EXCEPT ![r] = m.value]
    /\ adopted' = adopted \cup {r}
    /\ UNCHANGED <<exposed, view, phase, accepted, prepared, committed, suspected, highest, stable, sent>>

\* a forwarded pre-prepare for another value in the view r accepted: evidence against its primary
Expose(r, m) ==
    /\ r \in Honest /\ accepted[r] # None /\ m \in sent /\ m.type = "prepare"
    /\ m.view = accepted[r][1] /\ m.value # accepted[r][2] /\ m.sender \in Honest
    /\ m.view \notin exposed
    /\ exposed' = exposed \cup {m.view}
    /\ UNCHANGED <<adopted, view, phase, accepted, prepared, committed, decided, suspected, highest, stable, sent>>

\* --------------------------------------------------------------- view change
EnterViewChange(r, v) ==
    /\ view' = [view EXCEPT ![r] = v]
    /\ highest' = [highest EXCEPT ![r] = IF v > @ THEN v ELSE @]
    /\ phase' = [phase EXCEPT ![r] = "view-change"]
    /\ accepted' = [accepted EXCEPT ![r] = None]
    /\ sent' = sent \cup {[type |-> "viewchange", view |-> v, sender |-> r, cert |-> Cert(r)]}

Timeout(r) ==
    /\ r \in Honest /\ decided[r] = None /\ view[r] < MaxView /\ r # Primary[view[r]]
    /\ suspected' = [suspected EXCEPT ![r] = @ \cup {view[r]}]
    /\ EnterViewChange(r, view[r] + 1)
    /\ UNCHANGED <<exposed, adopted, prepared, committed, decided, stable>>

Join(r, v) ==
    /\ r \in Honest /\ v > view[r]
    /\ Cardinality({m.sender : m \in {x \in sent : x.type = "viewchange" /\ x.view = v /\ x.sender # r}}) >= F + 1
    /\ EnterViewChange(r, v)
    /\ UNCHANGED <<exposed, adopted, prepared, committed, decided, suspected, stable>>

SendNewView(r) ==
    /\ r \in Honest /\ r = Primary[view[r]] /\ phase[r] = "view-change"
    /\ \E proof \in SUBSET {m \in sent : m.type = "viewchange" /\ m.view = view[r]} :
        /\ Cardinality({m.sender : m \in proof}) >= Quorum
        /\ LET val == Selected({m.cert : m \in proof}) IN
           /\ sent' = sent \cup {[type |-> "newview", view |-> view[r], sender |-> r, value |-> val]}
    /\ phase' = [phase EXCEPT ![r] = "normal"]
    /\ UNCHANGED <<exposed, adopted, view, accepted, prepared, committed, decided, suspected, highest, stable>>

\* a valid NEW-VIEW (its proof is re-checked by the receiver) starts the view;
\* its re-proposal, if any, is accepted as the view's pre-prepare
InstallNewView(r, m) ==
    /\ r \in Honest /\ m \in sent /\ m.type = "newview" /\ m.sender = Primary[m.view]
    /\ (m.view > view[r] \/ (m.view = view[r] /\ phase[r] = "view-change"))
    /\ \E proof \in SUBSET {x \in sent : x.type = "viewchange" /\ x.view = m.view} :
        /\ Cardinality({x.sender : x \in proof}) >= Quorum
        /\ m.value = Selected({x.cert : x \in proof})
    /\ view' = [view EXCEPT ![r] = m.view]
    /\ highest' = [highest EXCEPT ![r] = IF m.view > @ THEN m.view ELSE @]
    /\ phase' = [phase EXCEPT ![r] = "normal"]
    /\ accepted' = [accepted EXCEPT ![r] = IF m.value = None THEN None ELSE <<m.view, m.value>>]
    /\ sent' = IF m.value = None \/ r = Primary[m.view] THEN sent
               ELSE sent \cup {[type |-> "prepare", view |-> m.view, sender |-> r, value |-> m.value]}
    /\ UNCHANGED <<exposed, adopted, prepared, committed, decided, suspected, stable>>

Next ==
    \/ \E m \in Msgs : ByzantineSend(m)
    \/ \E r \in Replicas, val \in Values : Propose(r, val)
    \/ \E r \in Replicas, m \in sent : AcceptPrePrepare(r, m) \/ InstallNewView(r, m)
    \/ \E r \in Replicas : Prepared(r) \/ Commit(r) \/ Stabilise(r) \/ Timeout(r) \/ SendNewView(r)
    \/ \E r \in Replicas, v \in Views : Join(r, v)
    \/ \E r, s \in Replicas : Answer(r, s)
    \/ \E r \in Replicas, m \in sent : CatchUp(r, m) \/ Expose(r, m)

Fairness ==
    /\ \A r \in Honest : WF_vars(Prepared(r)) /\ WF_vars(Commit(r)) /\ WF_vars(Timeout(r))
    /\ \A r \in Honest : WF_vars(SendNewView(r))
    /\ \A r \in Honest, m \in Msgs : WF_vars(AcceptPrePrepare(r, m)) /\ WF_vars(InstallNewView(r, m))
    /\ \A r \in Honest, val \in Values : WF_vars(Propose(r, val))
    /\ \A r \in Honest, v \in Views : WF_vars(Join(r, v))
    /\ \A r, s \in Honest : WF_vars(Answer(r, s))
    /\ \A r \in Honest, m \in Msgs : WF_vars(CatchUp(r, m)) /\ WF_vars(Expose(r, m))

Spec == Init /\ [][Next]_vars /\ Fairness

\* ---------------------------------------------------------------- properties
PBFT_S1_Agreement == \A r, s \in Honest : decided[r] # None /\ decided[s] # None => decided[r] = decided[s]

PBFT_S2_PreparedUniqueness ==
    \A r, s \in Honest : \A p \in prepared[r], q \in prepared[s] : p[1] = q[1] => p[2] = q[2]

PBFT_S3_CommittedBacked ==
    \A r \in Honest : \A c \in committed[r] : Cardinality({s \in Honest : c \in prepared[s]}) >= F + 1

PBFT_S4_ViewChangePreservation ==
    \A r, s \in Honest : \A c \in committed[r], p \in prepared[s] : p[1] > c[1] => p[2] = c[2]

PBFT_S5_Validity == \A r \in Honest : decided[r] \in Values \cup {None}

PBFT_S6_Integrity == \A r \in Honest : \A c, d \in committed[r] : c[2] = d[2]

PBFT_S7_CheckpointStability ==
    \A r \in Honest : stable[r] = 1 => Cardinality({s \in Honest : decided[s] = decided[r]}) >= Quorum - F

PBFT_S8_ViewsMonotone == \A r \in Honest : view[r] = highest[r]

PBFT_L2_HonestPrimaryWithinFPlus1 ==
    \A v \in Views : (\E r \in Honest : highest[r] >= v + F)
        => \E w \in v .. (v + F) : w \in Views /\ Primary[w] \in Honest

PBFT_L3_NoViewChangeWithoutHonestTimeout ==
    \A r \in Honest : highest[r] > 0 => \E s \in Honest : \E w \in suspected[s] : w + 1 >= highest[r]

\* accountability is abstracted away here (no signatures): an honest replica never sends two
\* different prepares or commits for one view, so no evidence can name it
PBFT_A1_Accountability ==
    \A r \in Honest : \A m1, m2 \in sent :
        (m1.sender = r /\ m2.sender = r /\ m1.type = m2.type /\ m1.type \in {"prepare", "commit"}
         /\ m1.view = m2.view) => m1.value = m2.value

\* PBFT-S9: an honest replica never sends two different messages of one kind for one view. This spec
\* has no restart (a replica never forgets what it sent); the checker's crash-recover fault is where a
\* replica that kept nothing on stable storage breaks it (spec/pbft.md, "Crash-recover")
PBFT_S9_NoHonestEquivocation ==
    \A m1, m2 \in sent :
        (m1.sender \in Honest /\ m1.sender = m2.sender /\ m1.type = m2.type /\ m1.view = m2.view) => m1 = m2

\* an honest replica only ever exposes a primary that signed two pre-prepares for one view
PBFT_A2_PrimaryExposed ==
    \A v \in exposed : Primary[v] \in Byzantine
        /\ \E m1, m2 \in sent : m1.type = "preprepare" /\ m2.type = "preprepare" /\ m1.view = v
            /\ m2.view = v /\ m1.value # m2.value

\* liveness, under the fairness above, when some view within the bound has an honest primary:
\* every honest replica executes (catch-up brings along those left behind)
PBFT_L1_Liveness ==
    (\E v \in Views : Primary[v] \in Honest)
        => <>(\A r \in Honest : decided[r] # None)

\* non-vacuity (PBFT-R1..R4): TLC reports these "violated" when listed as invariants
PBFT_R1_NoDecision == \A r \in Honest : decided[r] = None
PBFT_R2_NoViewChange == \A r \in Honest : view[r] = 0 \/ phase[r] = "view-change"
PBFT_R3_NoEquivocation ==
    \A m1, m2 \in sent : (m1.sender \in Byzantine /\ m2.sender \in Byzantine /\ m1.type = "preprepare"
        /\ m2.type = "preprepare" /\ m1.view = m2.view) => m1.value = m2.value
PBFT_R4_NoCatchUp == adopted = {}
=============================================================================
