"""Deployer key material and its checks: keygen files, TLS credentials, derived keys refused, sizes at set-up."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from tcp_helpers import CLIENT, cluster, pbft, run_clean

from mabeam.cli.main import main as cli
from mabeam.core import (
    ConfigurationError,
    CredentialError,
    DerivedKeyError,
    Membership,
    MessageTooLargeError,
    UnknownAgentError,
)
from mabeam.core.auth import Ed25519Authenticator, SymbolicAuthenticator
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import PBFTReplica
from mabeam.protocols.pbft.config import PBFTConfig, signed_requests
from mabeam.protocols.pbft.messages import Commit, Prepare
from mabeam.runtime import (
    TcpTransport,
    TlsCredentials,
    generate_cluster,
    load_cluster,
    run_local_cluster,
    split,
    write_cluster,
)
from mabeam.runtime.credentials import identities_of


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ keygen
def test_keygen_writes_private_keys_only_their_owner_can_read(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "cluster"
    assert cli(["keygen", "--agents", "a0,a1,a2,a3", "--clients", "client", "--out", str(out)]) == 0
    assert "wrote key material for 4 agents and 1 clients" in capsys.readouterr().out
    private = sorted(p for p in out.rglob("*.key"))
    assert [p.relative_to(out).as_posix() for p in private] == [
        "ca.key", *(f"private/{a}/{k}" for a in ("a0", "a1", "a2", "a3") for k in ("signing.key", "tls.key")),
        "private/client/signing.key"]
    assert all(mode(p) == 0o600 for p in private)
    assert mode(out) == 0o700 and mode(out / "private") == 0o700
    assert all(mode(d) == 0o700 for d in (out / "private").iterdir())
    assert {p.name for p in (out / "public").iterdir()} == {
        *(f"a{i}.crt" for i in range(4)), *(f"a{i}.pub" for i in range(4)), "client.pub"}
    # never overwrites, and names must be valid identities
    assert cli(["keygen", "--agents", "a0,a1", "--out", str(out)]) == 2
    assert cli(["keygen", "--agents", "a 0", "--out", str(tmp_path / "other")]) == 2
    assert "already holds" in capsys.readouterr().err


def test_a_node_loads_the_public_material_and_only_its_own_private_keys(tmp_path: Path) -> None:
    write_cluster(generate_cluster(("a0", "a1", "a2", "a3"), (CLIENT,)), tmp_path / "c")
    keys = load_cluster(tmp_path / "c", ("a1",))
    assert set(keys.tls_keys) == {"a1"} and set(keys.signing_private) == {"a1"} and keys.ca_key is None
    assert set(keys.signing_public) == {"a0", "a1", "a2", "a3", CLIENT}
    auth = keys.authenticator(("a1",))
    assert auth.held == ("a1",) and not auth.publicly_derived
    signed = auth.signer("a1").sign(Commit(session="s0", sender="a1", view=0, seq=1, digest=b"d"))
    assert load_cluster(tmp_path / "c").authenticator().verify(signed)  # another process, public keys only
    with pytest.raises(UnknownAgentError):
        auth.signer("a0")
    with pytest.raises(CredentialError):
        keys.authenticator(("a0",))
    with pytest.raises(CredentialError):
        keys.tls_credentials(("a0",))
    with pytest.raises(CredentialError, match="not an identity"):
        load_cluster(tmp_path / "c", ("zz",))
    key = tmp_path / "c" / "private" / "a2" / "tls.key"
    os.chmod(key, 0o640)
    with pytest.raises(CredentialError, match="accessible to other users"):
        load_cluster(tmp_path / "c", ("a2",))
    with pytest.raises(CredentialError, match=r"cluster\.json"):
        load_cluster(tmp_path / "nothing-here")


def test_tls_credentials_are_checked_when_built(tmp_path: Path) -> None:
    keys, other = cluster(4), generate_cluster(("a0", "a1"))
    a0 = (keys.certificates["a0"], keys.tls_keys["a0"])
    assert identities_of(a0[0]) == {"a0"}
    TlsCredentials(keys.ca_certificate, {"a0": a0})
    with pytest.raises(CredentialError, match="names"):
        TlsCredentials(keys.ca_certificate, {"a1": a0})  # a0's certificate offered for a1
    with pytest.raises(CredentialError, match="not issued by the cluster CA"):
        TlsCredentials(keys.ca_certificate, {"a0": (other.certificates["a0"], other.tls_keys["a0"])})
    with pytest.raises(CredentialError, match="does not match"):
        TlsCredentials(keys.ca_certificate, {"a0": (keys.certificates["a0"], keys.tls_keys["a1"])})
    with pytest.raises(CredentialError):
        TlsCredentials(keys.ca_certificate, {})
    write_cluster(keys, tmp_path / "c")
    loaded = TlsCredentials.from_files(tmp_path / "c" / "ca.crt", {"a3": (
        tmp_path / "c" / "public" / "a3.crt", tmp_path / "c" / "private" / "a3" / "tls.key")})
    assert loaded.agents == {"a3"} and loaded.identities("a3") == {"a3"}


def test_ed25519_from_keys_checks_that_private_keys_match(tmp_path: Path) -> None:
    keys = cluster(4)
    with pytest.raises(CredentialError, match="does not match"):
        Ed25519Authenticator.from_keys(keys.signing_public, {"a0": keys.signing_private["a1"]})
    with pytest.raises(CredentialError, match="no public key"):
        Ed25519Authenticator.from_keys({"a0": keys.signing_public["a0"]}, {"a1": keys.signing_private["a1"]})
    with pytest.raises(CredentialError):
        Ed25519Authenticator.from_keys({"a0": b"not a key"})  # type: ignore[dict-item]


# ------------------------------------------------------------------ what a network node refuses
def _pbft_with(auth: Any, n: int = 4) -> PBFTReplica:
    return PBFTReplica(PBFTConfig(membership=Membership.of_size(n), f=1, auth=auth, requesters=(CLIENT,),
                                  requests=signed_requests(auth, "s0", [(CLIENT, "v")])))


def test_keys_derived_from_a_public_string_are_refused_over_tcp() -> None:
    agents = (*Membership.of_size(4).agents, CLIENT)
    tls = cluster(4).tls_credentials(("a0",))
    for derived in (Ed25519Authenticator(agents, seed="s0/0"), SymbolicAuthenticator(agents)):
        assert derived.publicly_derived
        with pytest.raises(DerivedKeyError, match="public string"):
            TcpTransport(_pbft_with(derived), ("a0",), tls=tls)
        with pytest.raises(DerivedKeyError):
            TcpTransport(_pbft_with(derived), ("a0",), insecure=True)  # plain TCP does not excuse it
    verifier = cluster(4).authenticator((CLIENT,))  # signs only as the client: no key for hosted a0
    with pytest.raises(CredentialError, match="no signing key"):
        TcpTransport(_pbft_with(verifier), ("a0",), tls=tls)
    with pytest.raises(CredentialError, match="no TLS certificate"):
        TcpTransport(pbft(4), ("a0", "a1"), tls=tls)  # hosts a1 without its certificate


def test_a_value_too_large_for_the_frame_is_refused_when_the_session_is_set_up() -> None:
    huge = "v" * (2 << 20)  # 2 MB
    protocol = MajorityVoting(Membership.of_size(3), {"a0": huge, "a1": huge, "a2": "small"})
    keys = cluster(3)
    with pytest.raises(MessageTooLargeError, match="exceeds max_frame=1048576"):
        TcpTransport(protocol, ("a0",), tls=keys.tls_credentials(("a0",)))
    TcpTransport(protocol, ("a2",), tls=keys.tls_credentials(("a2",)))  # a2 sends only a small vote
    big = {"max_frame": 4 << 20, "max_buffered_bytes": 16 << 20, "max_connection_bytes": 8 << 20,
           "max_queue_bytes": 16 << 20}
    run = run_clean(lambda: run_local_cluster(protocol, split(protocol.agents, 3), keys=keys, timeout=10,
                                              transport_options=big))
    assert run.agreement and run.decided_value == huge and all(r.status == "decided" for r in run.results)


def test_transport_limits_are_validated() -> None:
    from mabeam.runtime import TransportLimits

    for bad in ({"max_frame": 0}, {"max_connection_bytes": 1 << 30}, {"idle_timeout": 0},
                {"backoff": (0.1, float("nan"))}, {"max_connections_per_identity": True}):
        with pytest.raises(ConfigurationError):
            TransportLimits().with_overrides(**bad)
    limits = TransportLimits()
    assert limits.memory_bound() > limits.max_buffered_bytes


# ------------------------------------------------------------------ the signature cache
def test_the_signature_cache_is_bounded_in_bytes_and_keeps_valid_verdicts() -> None:
    auth = SymbolicAuthenticator(["a0", "a1"])
    valid = [auth.signer("a0").sign(Prepare(session="s0", sender="a0", view=0, seq=s, digest=b"d"))
             for s in range(1, 50)]
    assert all(auth.verify(m) for m in valid)
    for i in range(60_000):  # a flood of forgeries
        assert not auth.verify(Prepare(session="s0", sender="a1", view=0, seq=i, digest=b"d",
                                       signature=b"\x00" * 16))
    assert auth.refused.size <= auth.refused.budget and len(auth.refused) < 10_000
    assert all(m in auth.verified for m in valid)  # the flood evicted none of the valid verdicts
    assert auth.verified.size <= auth.verified.budget


@pytest.mark.timeout(30)
def test_keys_loaded_from_files_run_pbft_over_tls(tmp_path: Path) -> None:
    """The deployment path end to end in one loop: files written by keygen, each node loads its own."""
    write_cluster(generate_cluster(("a0", "a1", "a2", "a3"), (CLIENT,)), tmp_path / "c")
    request = signed_requests(load_cluster(tmp_path / "c", (CLIENT,)).authenticator((CLIENT,)), "s0",
                              [(CLIENT, "block-9")])
    groups = [("a0", "a2"), ("a1", "a3")]

    async def main() -> list[Any]:
        from mabeam.runtime import address_book, run_node

        nodes = []
        for group in groups:
            keys = load_cluster(tmp_path / "c", group)
            protocol = PBFTReplica(PBFTConfig(membership=Membership.of_size(4), f=1, auth=keys.authenticator(group),
                                              requesters=(CLIENT,), requests=request, max_seq=1))
            nodes.append((protocol, TcpTransport(protocol, group, tls=keys.tls_credentials(group))))
        book = address_book(groups, [await t.start() for _, t in nodes])
        for _, transport in nodes:
            transport.connect(book)
        return list(await asyncio.gather(*(run_node(p, t, timeout=10) for p, t in nodes)))

    results = run_clean(main)
    assert [r.status for r in results] == ["decided", "decided"]
    assert {d.value for r in results for ds in r.decisions.values() for d in ds} == {"block-9"}
