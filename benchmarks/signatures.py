"""Ed25519 sign and verify: libsodium (PyNaCl, what :class:`mabeam.core.Ed25519Authenticator` uses) against
OpenSSL (``cryptography``, which holds the keys) on the same key, message and signature.

    python -m benchmarks.signatures              # one JSON object
    python -m benchmarks.signatures --rounds 3   # quicker

Each round times ``--count`` operations of each backend in turn (alternating, so load drifts hit both
alike); the reported figures are medians over rounds, in microseconds per operation, with the
1-minute load average before and after. Both backends must produce the same signature bytes
(Ed25519 is deterministic) and accept each other's signatures, or the benchmark stops.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from nacl.signing import SigningKey

MESSAGE = bytes(range(256))[:160]  # about a PBFT vote's signed bytes


def per_op_us(operation: Callable[[], object], count: int) -> float:
    """Microseconds per call of ``operation``, over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        operation()
    return (time.perf_counter() - started) / count * 1e6


def run(rounds: int, count: int) -> dict[str, object]:
    openssl_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    openssl_public = openssl_key.public_key()
    sodium_key = SigningKey(openssl_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    sodium_public = sodium_key.verify_key
    signature = openssl_key.sign(MESSAGE)
    if sodium_key.sign(MESSAGE).signature != signature:
        raise RuntimeError("libsodium and OpenSSL sign the same bytes differently")
    sodium_public.verify(MESSAGE, signature)
    openssl_public.verify(sodium_key.sign(MESSAGE).signature, MESSAGE)
    operations: dict[str, Callable[[], object]] = {
        "openssl_sign": lambda: openssl_key.sign(MESSAGE),
        "sodium_sign": lambda: sodium_key.sign(MESSAGE).signature,
        "openssl_verify": lambda: openssl_public.verify(signature, MESSAGE),
        "sodium_verify": lambda: sodium_public.verify(MESSAGE, signature),
    }
    load_before = os.getloadavg()[0]
    samples: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(rounds):
        for name, operation in operations.items():
            samples[name].append(per_op_us(operation, count))
    medians = {f"{name}_us": round(statistics.median(values), 2) for name, values in samples.items()}
    return {"benchmark": "ed25519", "rounds": rounds, "count": count, **medians,
            "verify_speedup": round(medians["openssl_verify_us"] / medians["sodium_verify_us"], 2),
            "sign_speedup": round(medians["openssl_sign_us"] / medians["sodium_sign_us"], 2),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rounds, args.count)))


if __name__ == "__main__":
    main()
