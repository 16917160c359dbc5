-------------------------------- MODULE Pbft --------------------------------
(***************************************************************************)
(* PBFT for one sequence number, with checkpoints, view change and         *)
(* catch-up: the machine of mabeam/protocols/pbft/, seen from outside      *)
(* (spec/pbft.md).                                                         *)
(*                                                                         *)
(* The network is the set of messages ever sent (a message may be          *)
(* delivered any number of times, in any order, or never: the checker's   *)
(* duplicating network). Every message is signed by its sender; a          *)
(* Byzantine replica can sign only as itself, so an honest replica's       *)
(* messages appear only through honest actions. Bundles of messages        *)
(* (certificates) are modelled as in the code, by the signed messages they *)
(* consist of, and validated by the receiver against what exists:          *)
(*  - a prepared certificate for (v, val) is the primary's signed          *)
(*    pre-prepare plus Quorum - 1 matching signed prepares of distinct     *)
(*    backups (viewchange.valid_certificate); VIEW-CHANGEs carry the       *)
(*    sender's highest-view one, or a stable-checkpoint proof;             *)
(*  - a checkpoint proof is Quorum matching signed checkpoints;            *)
(*  - a NEW-VIEW carries its Quorum VIEW-CHANGEs, and the receiver         *)
(*    recomputes the re-proposal and the stable checkpoint from them;      *)
(*  - a commit certificate (catch-up) is the primary's pre-prepare plus    *)
(*    Quorum matching signed commits.                                      *)
(* A message of a Byzantine replica is just a signed claim: it may carry   *)
(* any certificate, and only the receiver's validation decides whether it  *)
(* counts, exactly as in the code; since every signed message of an       *)
(* honest replica stays in the network, a bundle is valid iff its parts    *)
(* exist in sent. A replica that decided never installs (accepts a         *)
(* pre-prepare or a NEW-VIEW for) a conflicting value.                     *)
(*                                                                         *)
(* What this abstracts from the code:                                      *)
(*  - one sequence number (max_seq = 1), checkpoint interval 1 (so the     *)
(*    checkpoint is the decision's), watermarks implicit; views 0..MaxView;*)
(*  - requests are the values (digests, client signatures and the null     *)
(*    request are not modelled: with one sequence number a NEW-VIEW never  *)
(*    re-proposes null); an honest primary proposes the first request;    *)
(*  - the Byzantine replica's messages are all in the network from the     *)
(*    start (sending later is one of the orders in which they may be       *)
(*    delivered): pre-prepares for both values in the views it leads,      *)
(*    prepares and commits for every view and value, checkpoints for both  *)
(*    values, and VIEW-CHANGEs claiming any prepared certificate and any   *)
(*    checkpoint; messages every honest replica refuses on sight (a        *)
(*    pre-prepare or NEW-VIEW from a non-primary, a prepare from the       *)
(*    view's primary) are left out;                                        *)
(*  - catch-up: a DECIDED answer is abstracted to the commit certificate   *)
(*    it carries (any replica holding the signed messages can hand it on); *)
(*  - equivocation evidence is abstracted to the views whose primary an    *)
(*    honest replica can expose (Exposed: a forwarded pre-prepare for      *)
(*    another value exists), not a variable;                               *)
(*    evidence against replicas other than the primary (A1) is abstracted  *)
(*    to "an honest replica never signs two conflicting votes";            *)
(*  - timers fire at any time (backoff durations are not modelled).        *)
(* Liveness: PBFT_L1_Liveness holds under the weak fairness of spec/pbft.md *)
(* (every honest action, i.e. delivery between honest replicas and timers; *)
(* the Byzantine replica has none). It is model-checked in                 *)
(* Pbft.liveness.cfg, where the Byzantine primary is silent; with the full *)
(* adversary of Pbft.cfg, TLC's liveness check (behaviour graph plus the   *)
(* enabledness of 30 fairness conditions per state) explores about 8,000   *)
(* states a minute, far outside the test budget, so there L1 is not        *)
(* model-checked.                                                          *)
(* Linear communication (Linear = TRUE, PBFTConfig.communication =        *)
(* "linear", Pbft.linear.cfg): an honest replica's prepare or commit       *)
(* reaches only its view's primary; others count it once it is relayed     *)
(* (relayed), i.e. once the view's primary, on becoming prepared (or       *)
(* committed), relays the votes it holds in a VoteBundle. The code relays  *)
(* the votes it counted, a subset of those relayed here. A Byzantine       *)
(* primary received every vote of its view and may relay any of them, one  *)
(* at a time, or none (ByzantineRelay); a Byzantine replica's own votes    *)
(* reach everyone. Certificates inside VIEW-CHANGEs and DECIDED answers    *)
(* carry their signed votes, so their validation is unchanged. With        *)
(* Linear = FALSE relayed stays empty and every vote reaches everyone.     *)
(* Trace mapping (mabeam/tla/mappings/pbft.py, checked by TLC in           *)
(* tests/test_tla_trace.py), per honest replica (ReplicaState): view,      *)
(* phase, accepted = the pre-prepare logged in the current view's slot     *)
(* (<<>> once stable: the code drops the slot), prepared = prepared_log,   *)
(* committed = committed_log, decided = the value executed at seq 1 (by    *)
(* execution or state transfer), stable = (stable_seq = 1), suspected,     *)
(* highest = highest_view; the honest part of sent = every message an      *)
(* honest replica signed (a NEW-VIEW as its outcome); adopted and the      *)
(* Byzantine messages are left to TLC.                                     *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, Sequences

CONSTANTS
    Replicas,      \* the members
    ReplicaOrder,  \* the members in membership order: the primary of view v is ReplicaOrder[v % N + 1]
    Byzantine,     \* the faulty ones (|Byzantine| <= F)
    F,             \* the fault bound, N >= 3F + 1
    Requests,      \* the clients' requested operations, in the order the primary assigns them
    MaxView,       \* views 0 .. MaxView
    Adversary,     \* what the Byzantine replicas send: "full" (all they can sign) or "silent"
    Linear,        \* TRUE: linear communication (votes to the view's primary, relayed in bundles)
    None           \* "nothing yet"

N == Cardinality(Replicas)
Values == {Requests[i] : i \in 1..Len(Requests)}
Honest == Replicas \ Byzantine
Views == 0 .. MaxView

\* ------------------------------------------------ mabeam/protocols/pbft/config.py
Quorum == (N + F) \div 2 + 1            \* PBFTConfig.quorum
PrepareQuorum == Quorum - 1             \* PBFTReplica.prepare_quorum (besides the pre-prepare)
JoinThreshold == F + 1                  \* PBFTReplica.join_threshold
Primary(v) == ReplicaOrder[(v % N) + 1] \* PBFTConfig.primary

\* the configured sizes, compared with the Python configuration by tests/test_tlc.py
Sizes == [n |-> N, f |-> F, quorum |-> Quorum, prepareQuorum |-> PrepareQuorum,
          commitQuorum |-> Quorum, checkpointQuorum |-> Quorum, newViewQuorum |-> Quorum,
          certificateQuorum |-> Quorum, joinThreshold |-> JoinThreshold,
          primary |-> [v \in Views |-> Primary(v)]]

ASSUME Byzantine \subseteq Replicas /\ Cardinality(Byzantine) <= F
ASSUME N >= 3 * F + 1
ASSUME None \notin Values
ASSUME Adversary \in {"full", "silent"}
ASSUME Linear \in BOOLEAN
ASSUME ReplicaOrder \in Seq(Replicas) /\ Len(ReplicaOrder) = N
       /\ {ReplicaOrder[i] : i \in 1..N} = Replicas

\* a VIEW-CHANGE's prepared certificates: one per sequence number above its stable checkpoint,
\* so here the empty set or one certificate
Certs == [view : Views, value : Values]

PP(v, s, val) == [type |-> "preprepare", view |-> v, sender |-> s, value |-> val]
Vote(t, v, s, val) == [type |-> t, view |-> v, sender |-> s, value |-> val]
CK(s, val) == [type |-> "checkpoint", sender |-> s, value |-> val]
VC(v, s, c, k) == [type |-> "viewchange", view |-> v, sender |-> s, cert |-> c, ckpt |-> k]

\* what the Byzantine replicas can sign on their own (PBFTConfig.adversary "full"; "silent": none)
ByzantineMsgs == IF Adversary = "silent" THEN {} ELSE UNION {
       {PP(v, b, val) : v \in {w \in Views : Primary(w) = b}, val \in Values}
       \cup {Vote("prepare", v, b, val) : v \in {w \in Views : Primary(w) # b}, val \in Values}
       \cup {Vote("commit", v, b, val) : v \in Views, val \in Values}
       \cup {CK(b, val) : val \in Values}
       \cup {VC(v, b, c, k) : v \in Views \ {0}, c \in {{}} \cup {{x} : x \in Certs}, k \in {None} \cup Values}
    : b \in Byzantine}

VARIABLES
    view,        \* view[r]: current view
    phase,       \* phase[r]: "normal" or "view-change"
    accepted,    \* accepted[r]: <<view, value>> of the pre-prepare logged in view[r], or <<>>
    prepared,    \* prepared[r]: set of <<view, value>> prepared (prepared_log)
    committed,   \* committed[r]: set of <<view, value>> committed-local (committed_log)
    decided,     \* decided[r]: the executed value, or None
    stable,      \* stable[r]: a checkpoint of the execution is stable at r
    suspected,   \* suspected[r]: views whose primary r's own timer gave up on (PBFT-L3)
    highest,     \* highest[r]: the highest view r ever entered (PBFT-S8)
    adopted,     \* honest replicas that executed by adopting a commit certificate (PBFT-R4)
    sent,        \* every signed message sent so far
    relayed      \* linear communication: the votes relayed in some replica's VoteBundle

vars == <<view, phase, accepted, prepared, committed, decided, stable, suspected, highest,
          adopted, sent, relayed>>

Senders(t, v, val) == {m.sender : m \in {x \in sent : x.type = t /\ x.view = v /\ x.value = val}}
CheckpointSenders(val) == {m.sender : m \in {x \in sent : x.type = "checkpoint" /\ x.value = val}}
HasPrePrepare(v, val) == PP(v, Primary(v), val) \in sent

\* whether vote m reaches replica r (linear communication: through the view's primary only)
Reaches(r, m) == ~Linear \/ r = Primary(m.view) \/ m.sender \in Byzantine \/ m \in relayed
\* the senders of the votes for (t, v, val) that reached r
CountedBy(r, t, v, val) ==
    {m.sender : m \in {x \in sent : x.type = t /\ x.view = v /\ x.value = val /\ Reaches(r, x)}}
\* linear communication: what the primary r of view v relays on reaching a phase, the (t, v, val)
\* votes it holds (all of them reach it)
Relay(r, t, v, val) == IF Linear /\ r = Primary(v)
                       THEN relayed \cup {x \in sent : x.type = t /\ x.view = v /\ x.value = val}
                       ELSE relayed

\* ----------------------------------------------------------------- validation
\* viewchange.valid_certificate: the primary's pre-prepare and PrepareQuorum backups' prepares
ValidPreparedCert(c) == /\ HasPrePrepare(c.view, c.value)
                        /\ Cardinality(Senders("prepare", c.view, c.value) \ {Primary(c.view)}) >= PrepareQuorum
\* checkpoint.valid_checkpoint_proof: Quorum matching checkpoints
ValidCheckpointProof(val) == Cardinality(CheckpointSenders(val)) >= Quorum
\* viewchange.valid_view_change: a stable checkpoint proof, and certificates only above it
ValidViewChange(m) ==
    /\ m.ckpt # None => ValidCheckpointProof(m.ckpt)
    /\ \A c \in m.cert : m.ckpt = None /\ c.view < m.view /\ ValidPreparedCert(c)
\* a commit certificate: the primary's pre-prepare and Quorum matching commits
ValidCommitCert(v, val) == HasPrePrepare(v, val) /\ Cardinality(Senders("commit", v, val)) >= Quorum

ValidViewChanges(v) == {m \in sent : m.type = "viewchange" /\ m.view = v /\ ValidViewChange(m)}

\* viewchange.reproposals, for one sequence number: nothing if some VIEW-CHANGE proves a stable
\* checkpoint of it; else the value of the highest-view prepared certificate, or nothing
StableIn(proof) == IF \E m \in proof : m.ckpt # None
                   THEN (CHOOSE m \in proof : m.ckpt # None).ckpt ELSE None
Reproposal(proof) ==
    LET certs == UNION {m.cert : m \in proof} IN
    IF StableIn(proof) # None \/ certs = {} THEN None
    ELSE (CHOOSE c \in certs : \A d \in certs : d.view <= c.view).value
\* the sets drawn from M holding at most one message of each sender in S
RECURSIVE Picks(_, _)
Picks(S, M) == IF S = {} THEN {{}}
               ELSE LET s == CHOOSE x \in S : TRUE
                        rest == Picks(S \ {s}, M)
                    IN rest \cup {P \cup {m} : P \in rest, m \in {x \in M : x.sender = s}}
\* the NEW-VIEW proofs for view v: Quorum valid VIEW-CHANGEs for v from distinct senders
Proofs(v) == {P \in Picks(Replicas, ValidViewChanges(v)) : Cardinality(P) = Quorum}

\* viewchange.new_view_problem: the NEW-VIEW's Quorum valid VIEW-CHANGEs and exactly the
\* re-proposal and stable checkpoint recomputed from them. A NEW-VIEW message here carries
\* the outcome (value, ckpt); its proof is some P in Proofs(view) with that outcome (the
\* VIEW-CHANGEs it consists of are signed messages in sent), so NEW-VIEWs with different
\* proofs but the same outcome are one state.
ValidNewView(m) ==
    /\ m.sender = Primary(m.view)
    /\ \E P \in Proofs(m.view) : m.value = Reproposal(P) /\ m.ckpt = StableIn(P)

\* equivocation evidence (catchup.shown_pre_prepare, normal.exposing): view v's primary is
\* exposed once an honest backup that logged its pre-prepare for one value (it sent the
\* prepare) can be shown a backup's prepare forwarding the primary's signed pre-prepare for
\* another value. The evidence is two pre-prepares the primary signed; the code emits it on
\* delivery, which the duplicating network allows at any time, so here it is the set of
\* views for which such evidence exists.
Exposed == {v \in Views :
              \E r \in Honest, x, y \in Values :
                  /\ x # y /\ r # Primary(v)
                  /\ Vote("prepare", v, r, x) \in sent
                  /\ HasPrePrepare(v, y)
                  /\ CountedBy(r, "prepare", v, y) \ {Primary(v)} # {}}

\* the value r has executed does not conflict with val
Consistent(r, val) == decided[r] = None \/ val = None \/ decided[r] = val

\* the highest-view prepared certificate of r (sent in its VIEW-CHANGE), if any
Cert(r) == IF prepared[r] = {} THEN {}
           ELSE LET best == CHOOSE p \in prepared[r] : \A q \in prepared[r] : q[1] <= p[1]
                IN {[view |-> best[1], value |-> best[2]]}

TypeOK ==
    /\ view \in [Replicas -> Views]
    /\ phase \in [Replicas -> {"normal", "view-change"}]
    /\ decided \in [Replicas -> Values \cup {None}]
    /\ stable \in [Replicas -> BOOLEAN]
    /\ \A r \in Replicas : accepted[r] = <<>> \/ accepted[r] \in Views \X Values

Init ==
    /\ view = [r \in Replicas |-> 0]
    /\ phase = [r \in Replicas |-> "normal"]
    /\ accepted = [r \in Replicas |-> <<>>]
    /\ prepared = [r \in Replicas |-> {}]
    /\ committed = [r \in Replicas |-> {}]
    /\ decided = [r \in Replicas |-> None]
    /\ stable = [r \in Replicas |-> FALSE]
    /\ suspected = [r \in Replicas |-> {}]
    /\ highest = [r \in Replicas |-> 0]
    /\ adopted = {}
    /\ sent = ByzantineMsgs
    /\ relayed = {}

\* ------------------------------------------------------------- normal case
\* the primary assigns the first pending request to the sequence number (normal.propose)
Propose(r) ==
    /\ r \in Honest /\ r = Primary(view[r]) /\ phase[r] = "normal" /\ accepted[r] = <<>>
    /\ decided[r] = None
    /\ sent' = sent \cup {PP(view[r], r, Requests[1])}
    /\ accepted' = [accepted EXCEPT ![r] = <<view[r], Requests[1]>>]
    /\ UNCHANGED <<view, phase, prepared, committed, decided, stable, suspected, highest, adopted, relayed>>

AcceptPrePrepare(r, val) ==
    /\ r \in Honest /\ r # Primary(view[r]) /\ phase[r] = "normal" /\ accepted[r] = <<>>
    /\ HasPrePrepare(view[r], val) /\ Consistent(r, val)
    /\ accepted' = [accepted EXCEPT ![r] = <<view[r], val>>]
    /\ sent' = sent \cup {Vote("prepare", view[r], r, val)}
    /\ UNCHANGED <<view, phase, prepared, committed, decided, stable, suspected, highest, adopted, relayed>>

\* PrepareQuorum prepares from distinct backups match the logged pre-prepare: prepared
\* (linear communication: the primary relays the prepares)
Prepared(r) ==
    /\ r \in Honest /\ phase[r] = "normal" /\ accepted[r] # <<>> /\ accepted[r] \notin prepared[r]
    /\ LET v == accepted[r][1]  val == accepted[r][2] IN
       /\ Cardinality(CountedBy(r, "prepare", v, val) \ {Primary(v)}) >= PrepareQuorum
       /\ prepared' = [prepared EXCEPT ![r] = @ \cup {<<v, val>>}]
       /\ sent' = sent \cup {Vote("commit", v, r, val)}
       /\ relayed' = Relay(r, "prepare", v, val)
    /\ UNCHANGED <<view, phase, accepted, committed, decided, stable, suspected, highest, adopted>>

\* Quorum commits: committed-local, execute, broadcast the checkpoint (interval 1)
\* (linear communication: the primary relays the commits)
Commit(r) ==
    /\ r \in Honest /\ phase[r] = "normal" /\ accepted[r] # <<>> /\ accepted[r] \in prepared[r]
    /\ decided[r] = None
    /\ LET v == accepted[r][1]  val == accepted[r][2] IN
       /\ Cardinality(CountedBy(r, "commit", v, val)) >= Quorum
       /\ committed' = [committed EXCEPT ![r] = @ \cup {<<v, val>>}]
       /\ decided' = [decided EXCEPT ![r] = val]
       /\ sent' = sent \cup {CK(r, val)}
       /\ relayed' = Relay(r, "commit", v, val)
    /\ UNCHANGED <<view, phase, accepted, prepared, stable, suspected, highest, adopted>>

\* linear communication: a Byzantine primary relays one honest vote of its view it received
ByzantineRelay(m) ==
    /\ Linear /\ m \in sent /\ m.type \in {"prepare", "commit"} /\ m \notin relayed
    /\ Primary(m.view) \in Byzantine /\ m.sender \in Honest
    /\ relayed' = relayed \cup {m}
    /\ UNCHANGED <<view, phase, accepted, prepared, committed, decided, stable, suspected, highest, adopted, sent>>

\* Quorum checkpoints matching its own: the checkpoint is stable
Stabilise(r) ==
    /\ r \in Honest /\ decided[r] # None /\ ~stable[r] /\ CK(r, decided[r]) \in sent
    /\ ValidCheckpointProof(decided[r])
    /\ stable' = [stable EXCEPT ![r] = TRUE]
    /\ UNCHANGED <<view, phase, accepted, prepared, committed, decided, suspected, highest, adopted, sent, relayed>>

\* ------------------------------------------------------------------ catch-up
\* a valid commit certificate (catchup.certificate_problem) for the next sequence number
CatchUp(r, v, val) ==
    /\ r \in Honest /\ decided[r] = None
    /\ ValidCommitCert(v, val)
    /\ decided' = [decided EXCEPT ![r] = val]
    /\ adopted' = adopted \cup {r}
    /\ sent' = sent \cup {CK(r, val)}
    /\ UNCHANGED <<view, phase, accepted, prepared, committed, stable, suspected, highest, relayed>>

\* --------------------------------------------------------------- view change
EnterViewChange(r, v) ==
    /\ view' = [view EXCEPT ![r] = v]
    /\ highest' = [highest EXCEPT ![r] = IF v > @ THEN v ELSE @]
    /\ phase' = [phase EXCEPT ![r] = "view-change"]
    /\ accepted' = [accepted EXCEPT ![r] = <<>>]
    /\ sent' = sent \cup {VC(v, r, IF stable[r] THEN {} ELSE Cert(r),
                              IF stable[r] THEN decided[r] ELSE None)}

\* the timer of a pending request fires (viewchange.on_timeout)
Timeout(r) ==
    /\ r \in Honest /\ decided[r] = None /\ view[r] < MaxView /\ r # Primary(view[r])
    /\ suspected' = [suspected EXCEPT ![r] = @ \cup {view[r]}]
    /\ EnterViewChange(r, view[r] + 1)
    /\ UNCHANGED <<prepared, committed, decided, stable, adopted, relayed>>

\* f+1 valid VIEW-CHANGEs of others for higher views: join the smallest of those views
Join(r) ==
    /\ r \in Honest /\ view[r] < MaxView
    /\ LET higher == {m \in sent : m.type = "viewchange" /\ m.view > view[r] /\ m.sender # r
                                   /\ ValidViewChange(m)}
       IN /\ Cardinality({m.sender : m \in higher}) >= JoinThreshold
          /\ EnterViewChange(r, CHOOSE v \in {m.view : m \in higher} :
                                    \A m \in higher : v <= m.view)
    /\ UNCHANGED <<prepared, committed, decided, stable, suspected, adopted, relayed>>

\* install a valid NEW-VIEW: adopt its stable checkpoint (state transfer when behind) and
\* log its re-proposal as the view's pre-prepare
Install(r, m) ==
    /\ view' = [view EXCEPT ![r] = m.view]
    /\ highest' = [highest EXCEPT ![r] = IF m.view > @ THEN m.view ELSE @]
    /\ phase' = [phase EXCEPT ![r] = "normal"]
    /\ accepted' = [accepted EXCEPT ![r] = IF m.value = None THEN <<>> ELSE <<m.view, m.value>>]
    /\ decided' = [decided EXCEPT ![r] = IF m.ckpt # None /\ @ = None THEN m.ckpt ELSE @]
    /\ stable' = [stable EXCEPT ![r] = @ \/ m.ckpt # None]

\* the new primary, with Quorum valid VIEW-CHANGEs (its own among them), sends NEW-VIEW
SendNewView(r, proof) ==
    /\ r \in Honest /\ r = Primary(view[r]) /\ phase[r] = "view-change"
    /\ LET m == [type |-> "newview", view |-> view[r], sender |-> r,
                 value |-> Reproposal(proof), ckpt |-> StableIn(proof)]
       IN /\ Consistent(r, m.value) /\ Consistent(r, m.ckpt)
          /\ Install(r, m)
          /\ sent' = sent \cup {m} \cup (IF m.value = None THEN {} ELSE {PP(m.view, r, m.value)})
    /\ UNCHANGED <<prepared, committed, suspected, adopted, relayed>>

\* a backup installs a valid NEW-VIEW for a higher view (or the one it is changing to)
InstallNewView(r, m) ==
    /\ r \in Honest /\ m \in sent /\ m.type = "newview" /\ r # m.sender
    /\ (m.view > view[r] \/ (m.view = view[r] /\ phase[r] = "view-change"))
    /\ ValidNewView(m)
    /\ Consistent(r, m.value) /\ Consistent(r, m.ckpt)
    /\ Install(r, m)
    /\ sent' = IF m.value = None THEN sent ELSE sent \cup {Vote("prepare", m.view, r, m.value)}
    /\ UNCHANGED <<prepared, committed, suspected, adopted, relayed>>

NewViews == {m \in sent : m.type = "newview"}

\* the NEW-VIEW proofs r may send: its own and others' valid VIEW-CHANGEs for its view
\* (viewchange.after_view_change_counted)
ProofsFor(r) == {P \in Proofs(view[r]) : \E own \in P : own.sender = r}

\* the intended end: every honest replica executed
Stop == (\A r \in Honest : decided[r] # None) /\ UNCHANGED vars

Next ==
    \/ \E r \in Honest :
          \/ Propose(r)
          \/ \E val \in Values : AcceptPrePrepare(r, val)
          \/ Prepared(r) \/ Commit(r) \/ Stabilise(r)
          \/ \E v \in Views, val \in Values : CatchUp(r, v, val)
          \/ Timeout(r) \/ Join(r)
          \/ r = Primary(view[r]) /\ phase[r] = "view-change" /\ \E proof \in ProofsFor(r) : SendNewView(r, proof)
          \/ \E m \in NewViews : InstallNewView(r, m)
    \/ \E m \in sent : ByzantineRelay(m)
    \/ Stop

\* weak fairness (spec/pbft.md): messages between honest replicas are delivered and armed
\* timers fire, i.e. every honest action that stays enabled is taken
Fairness ==
    \A r \in Honest :
        /\ WF_vars(Propose(r))
        /\ WF_vars(\E val \in Values : AcceptPrePrepare(r, val))
        /\ WF_vars(Prepared(r)) /\ WF_vars(Commit(r)) /\ WF_vars(Stabilise(r))
        /\ WF_vars(\E v \in Views, val \in Values : CatchUp(r, v, val))
        /\ WF_vars(Timeout(r)) /\ WF_vars(Join(r))
        /\ WF_vars(r = Primary(view[r]) /\ phase[r] = "view-change" /\ \E proof \in ProofsFor(r) : SendNewView(r, proof))
        /\ WF_vars(\E m \in NewViews : InstallNewView(r, m))

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

PBFT_S6_Integrity ==
    \A r \in Honest : /\ \A c, d \in committed[r] : c[2] = d[2]
                      /\ \A c \in committed[r] : decided[r] = c[2]

\* a stable checkpoint has a quorum of matching signed checkpoints, f+1 of them honest ones
\* of replicas that executed that value
PBFT_S7_CheckpointStability ==
    \A r \in Honest : stable[r] =>
        /\ decided[r] # None
        /\ Cardinality(CheckpointSenders(decided[r])) >= Quorum
        /\ Cardinality({s \in Honest : s \in CheckpointSenders(decided[r]) /\ decided[s] = decided[r]})
               >= F + 1

PBFT_S8_ViewsMonotone == \A r \in Honest : view[r] = highest[r]

PBFT_L2_HonestPrimaryWithinFPlus1 ==
    \A v \in Views : (\E r \in Honest : highest[r] >= v + F)
        => \E w \in v .. (v + F) : w \in Views /\ Primary(w) \in Honest

PBFT_L3_NoViewChangeWithoutHonestTimeout ==
    \A r \in Honest : highest[r] > 0 => \E s \in Honest : \E w \in suspected[s] : w + 1 >= highest[r]

\* accountability, abstracted: an honest replica never signs two different prepares, commits or
\* checkpoints for one view, so no evidence can name it
PBFT_A1_Accountability ==
    \A r \in Honest :
        /\ Cardinality({m.value : m \in {x \in sent : x.type = "checkpoint" /\ x.sender = r}}) <= 1
        /\ \A t \in {"prepare", "commit"}, v \in Views :
              Cardinality({m.value : m \in {x \in sent : x.type = t /\ x.view = v /\ x.sender = r}}) <= 1

\* PBFT-S9: an honest replica never sends two different messages of one kind for one view (a
\* checkpoint carries no view: one per replica, as there is one sequence number). This spec has no
\* restart (a replica never forgets what it sent); the checker's crash-recover fault is where a
\* replica that kept nothing on stable storage breaks it (spec/pbft.md, "Crash-recover")
PBFT_S9_NoHonestEquivocation ==
    \A m1, m2 \in sent :
        (m1.sender \in Honest /\ m1.sender = m2.sender /\ m1.type = m2.type
         /\ (m1.type = "checkpoint" \/ m1.view = m2.view)) => m1 = m2

\* an honest replica only ever exposes a primary that signed two pre-prepares for one view
PBFT_A2_PrimaryExposed ==
    \A v \in Exposed : Primary(v) \in Byzantine /\ \E x, y \in Values : x # y /\ HasPrePrepare(v, x) /\ HasPrePrepare(v, y)

\* liveness, under the fairness above, when some view within the bound has an honest primary:
\* every honest replica executes (catch-up brings along those left behind)
PBFT_L1_Liveness ==
    (\E v \in Views : Primary(v) \in Honest)
        => <>(\A r \in Honest : decided[r] # None)

\* non-vacuity (PBFT-R1..R4): their negations are checked as INVARIANTs that TLC must report
\* violated (tests/test_tlc.py)
PBFT_R1_NoDecision == \A r \in Honest : decided[r] = None
PBFT_R2_NoViewChange == \A r \in Honest : view[r] = 0 \/ phase[r] = "view-change"
PBFT_R3_NoEquivocationExposed == Exposed = {}
PBFT_R4_NoCatchUp == adopted = {}
\* further witnesses of the checked configuration (not property IDs of spec/pbft.md)
NoStableCheckpoint == \A r \in Honest : ~stable[r]
NoReproposal == ~\E m \in NewViews : m.value # None
NoStateTransfer == ~\E m \in NewViews : m.ckpt # None

-----------------------------------------------------------------------------
\* The checked configuration: mabeam.protocols.pbft.build(4, 1, max_view=1, max_seq=1,
\* checkpoint_interval=1) with the view-0 primary a0 Byzantine (full adversary)
CheckedOrder == <<"a0", "a1", "a2", "a3">>
CheckedRequests == <<"x", "y">>
=============================================================================
