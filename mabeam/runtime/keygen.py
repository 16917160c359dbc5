"""A cluster's key material: created once by the deployer, loaded by each node (``mabeam keygen``).

:func:`generate_cluster` makes, with ``cryptography``:

- a cluster CA (ECDSA P-256, self-signed, allowed to sign node certificates only);
- per agent, a TLS key and a certificate naming it (``urn:mabeam:agent:<id>``)
  for mutually authenticated TLS 1.3 between nodes;
- per agent and per client, an Ed25519 signing key for protocols that sign
  their messages (PBFT's replicas and its clients' requests).

:func:`write_cluster` stores it with private files (0600) in private
directories (0700), laid out so that each part can be shipped to where it belongs::

    OUT/ca.crt                 the CA certificate: every node
    OUT/ca.key                 the CA key: keep it offline, nodes never need it
    OUT/cluster.json           the identities (agents, clients)
    OUT/public/<id>.crt        agent <id>'s TLS certificate: every node may have it
    OUT/public/<id>.pub        <id>'s Ed25519 public key: every node
    OUT/private/<id>/tls.key      agent <id>'s TLS key: its node only
    OUT/private/<id>/signing.key  <id>'s Ed25519 key: its node (or client) only

:func:`load_cluster` reads back the public part and the private keys of the
identities a node hosts only (refusing key files others can read).
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..core.auth import Ed25519Authenticator
from ..core.errors import CredentialError
from ..core.identity import AgentId, Membership
from .credentials import AGENT_URI, PathLike, PrivateKey, TlsCredentials, read_certificate, read_private_key

_PEM = serialization.Encoding.PEM


@dataclass(eq=False)
class ClusterKeys:
    """Key material of one cluster; private parts hold only what was generated or loaded."""

    ca_certificate: x509.Certificate
    agents: tuple[AgentId, ...]
    clients: tuple[AgentId, ...] = ()
    ca_key: ec.EllipticCurvePrivateKey | None = None
    certificates: dict[AgentId, x509.Certificate] = field(default_factory=dict)
    tls_keys: dict[AgentId, PrivateKey] = field(default_factory=dict)
    signing_public: dict[AgentId, ed25519.Ed25519PublicKey] = field(default_factory=dict)
    signing_private: dict[AgentId, ed25519.Ed25519PrivateKey] = field(default_factory=dict)

    @property
    def principals(self) -> tuple[AgentId, ...]:
        """Every identity that signs: the agents, then the clients."""
        return (*self.agents, *self.clients)

    def tls_credentials(self, local: Iterable[AgentId]) -> TlsCredentials:
        """The TLS material of a node hosting ``local`` (their keys must be held)."""
        local = tuple(local)
        missing = [a for a in local if a not in self.tls_keys]
        if missing:
            raise CredentialError(f"no TLS key held for {missing}")
        return TlsCredentials(self.ca_certificate, {a: (self.certificates[a], self.tls_keys[a]) for a in local})

    def authenticator(self, signers: Iterable[AgentId] = ()) -> Ed25519Authenticator:
        """Verifies every principal; signs only as ``signers`` (whose private keys must be held)."""
        signers = tuple(signers)
        missing = [s for s in signers if s not in self.signing_private]
        if missing:
            raise CredentialError(f"no signing key held for {missing}")
        return Ed25519Authenticator.from_keys({p: self.signing_public[p] for p in self.principals},
                                              {s: self.signing_private[s] for s in signers})


# ------------------------------------------------------------------ generation
def _name(common: str, cluster: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"mabeam cluster {cluster}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _identities(agents: Iterable[AgentId], clients: Iterable[AgentId]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    agents, clients = tuple(agents), tuple(clients)
    Membership((*agents, *clients))  # valid, distinct names
    if not agents:
        raise CredentialError("a cluster needs at least one agent")
    return agents, clients


def generate_cluster(agents: Iterable[AgentId], clients: Iterable[AgentId] = (), *, cluster: str = "mabeam",
                     days: int = 365) -> ClusterKeys:
    """Fresh key material for ``agents`` (TLS and signing) and ``clients`` (signing only)."""
    agents, clients = _identities(agents, clients)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CredentialError(f"days must be a positive integer, got {days!r}")
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{cluster} CA", cluster)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    keys = ClusterKeys(ca, agents, clients, ca_key)
    for agent in agents:
        key = ec.generate_private_key(ec.SECP256R1())
        keys.tls_keys[agent] = key
        keys.certificates[agent] = (
            x509.CertificateBuilder().subject_name(_name(agent, cluster)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(AGENT_URI + agent)]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    for identity in (*agents, *clients):
        signing = ed25519.Ed25519PrivateKey.generate()
        keys.signing_private[identity] = signing
        keys.signing_public[identity] = signing.public_key()
    return keys


# ------------------------------------------------------------------ files
def _private_bytes(key: PrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> Path:
    """Create ``path`` with ``mode`` from the first byte (never overwriting, never briefly readable)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CredentialError(f"{path} exists already; refusing to overwrite key material") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.chmod(path, mode)  # the umask may have narrowed it; it never widens
    return path


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=False, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_cluster(keys: ClusterKeys, out: PathLike) -> list[Path]:
    """Store ``keys`` under ``out`` (created 0700 if absent) in the layout above; returns the files written."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise CredentialError(f"{root} is not a directory")
    if not root.exists():
        root.mkdir(mode=0o700, parents=True)
        os.chmod(root, 0o700)
    if (root / "cluster.json").exists():
        raise CredentialError(f"{root} already holds a cluster's key material; choose an empty directory")
    public, private = root / "public", root / "private"
    public.mkdir(mode=0o755, exist_ok=True)
    _private_dir(private)
    written = [_write(root / "ca.crt", keys.ca_certificate.public_bytes(_PEM), 0o644)]
    if keys.ca_key is not None:
        written.append(_write(root / "ca.key", _private_bytes(keys.ca_key), 0o600))
    for identity in keys.principals:
        own = _private_dir(private / identity)
        if identity in keys.certificates:
            written.append(_write(public / f"{identity}.crt", keys.certificates[identity].public_bytes(_PEM), 0o644))
        if identity in keys.tls_keys:
            written.append(_write(own / "tls.key", _private_bytes(keys.tls_keys[identity]), 0o600))
        written.append(_write(public / f"{identity}.pub", keys.signing_public[identity].public_bytes(
            _PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644))
        if identity in keys.signing_private:
            written.append(_write(own / "signing.key", _private_bytes(keys.signing_private[identity]), 0o600))
    manifest = {"agents": list(keys.agents), "clients": list(keys.clients)}
    written.append(_write(root / "cluster.json", (json.dumps(manifest, indent=2) + "\n").encode(), 0o644))
    return written


def load_cluster(directory: PathLike, local: Iterable[AgentId] = ()) -> ClusterKeys:
    """The public material under ``directory`` plus the private keys of ``local`` identities.

    Agents in ``local`` need their TLS and signing keys; clients their signing key.
    Nothing else private is read (not even the CA key).
    """
    root = Path(directory)
    try:
        manifest = json.loads((root / "cluster.json").read_text())
        agents, clients = _identities(manifest["agents"], manifest.get("clients", ()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"{root} holds no readable cluster.json: {exc}") from None
    keys = ClusterKeys(read_certificate(root / "ca.crt"), agents, clients)
    for identity in keys.principals:
        if identity in agents:
            keys.certificates[identity] = read_certificate(root / "public" / f"{identity}.crt")
        keys.signing_public[identity] = _read_public(root / "public" / f"{identity}.pub")
    for identity in dict.fromkeys(local):
        if identity not in keys.principals:
            raise CredentialError(f"{identity!r} is not an identity of the cluster in {root}")
        own = root / "private" / identity
        if identity in agents:
            keys.tls_keys[identity] = read_private_key(own / "tls.key")
        signing = read_private_key(own / "signing.key")
        if not isinstance(signing, ed25519.Ed25519PrivateKey):
            raise CredentialError(f"{own / 'signing.key'} is not an Ed25519 key")
        keys.signing_private[identity] = signing
    return keys


def _read_public(path: Path) -> ed25519.Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"cannot read the public key {path}: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise CredentialError(f"{path} is not an Ed25519 public key")
    return key

