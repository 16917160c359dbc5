"""Request batching: one pre-prepare orders a batch of requests at one sequence number.

Without batching a decision costs a whole three-phase round per request. With
``batch_size = B`` the primary puts up to B pending requests into one
pre-prepare (``request`` is the first, ``more`` the rest) and the replicas vote
on one digest over the batch, so agreement, the quorums and every property keep
their shape: the batch *is* the proposed value. A partial batch waits for the
``batch`` timer (``batch_timeout``, a protocol timer effect, so the logic stays
deterministic) unless the timeout is 0; full batches never wait.

With ``B = 1`` nothing changes: the digest of a one-request batch is the
request's digest, no timer is ever armed, and the decided value is the
request's operation, so the checker explores the same states as before
batching (spec/pbft.md, "Batching").

A batch's decided value lists the operations it executed, joined by
:data:`SEPARATOR` (requests already executed are skipped, as a lone one decides
the null value); :func:`operations` splits it back.
"""

from __future__ import annotations

import hashlib

from .messages import NULL_VALUE, PrePrepare, Request, request_digest

#: the primary's timer for a partial batch
BATCH_TIMER = "batch"
#: joins a batch's operations in its decided value (configured operations may not contain it)
SEPARATOR = "\x1f"


def batch_of(pp: PrePrepare) -> tuple[Request, ...]:
    """The requests a pre-prepare orders, in order (none for the null request)."""
    return () if pp.request is None else (pp.request, *pp.more)


def batch_digest(requests: tuple[Request, ...]) -> bytes:
    """The digest prepares and commits vote on: a lone request's own digest (so B = 1 is unchanged),
    else a hash over the batch's request digests, in order."""
    if len(requests) <= 1:
        return request_digest(requests[0] if requests else None)
    return hashlib.blake2b(b"mabeam.pbft.batch" + b"".join(request_digest(q) for q in requests),
                           digest_size=16).digest()


def proposal_digest(pp: PrePrepare) -> bytes:
    """What ``pp.digest`` must be for ``pp`` to be well formed."""
    return batch_digest(batch_of(pp))


def batch_value(requests: tuple[Request, ...]) -> str:
    """What a replica decides when it executes ``requests`` (the null value for none)."""
    return SEPARATOR.join(q.operation for q in requests) if requests else NULL_VALUE


def operations(value: str) -> list[str]:
    """The operations a decided value executed (none for the null value)."""
    return [] if value == NULL_VALUE else value.split(SEPARATOR)


def chunks(pending: list[Request], size: int) -> list[tuple[Request, ...]]:
    """``pending`` cut into batches of ``size`` (the last may be partial)."""
    return [tuple(pending[i:i + size]) for i in range(0, len(pending), size)]
