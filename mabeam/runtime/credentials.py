"""Who a TCP peer is: TLS 1.3 with a certificate per node identity, checked against the cluster's CA.

A node holds :class:`TlsCredentials`: the cluster CA certificate every peer's
certificate must chain to, and, for each agent it hosts, a certificate naming
that agent and its private key. An identity is named in a certificate's
subject alternative names as the URI ``urn:mabeam:agent:<id>`` (one certificate
may name several agents, e.g. a node certificate for a group).

Both ends of every connection present a certificate (mutual TLS, TLS 1.3 only,
standard-library :mod:`ssl`). Host names play no part: after the handshake the
transport reads the identities the peer's certificate names
(:func:`peer_identities`), and those, not anything the peer says, decide
which senders its frames may carry. Keys and certificates come from the
deployer, as files (:meth:`TlsCredentials.from_files`) or objects;
``mabeam keygen`` creates a cluster's material (:mod:`mabeam.runtime.keygen`).
"""

from __future__ import annotations

import os
import ssl
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..core.errors import CredentialError
from ..core.identity import AgentId

AGENT_URI = "urn:mabeam:agent:"
#: private key types a TLS certificate may carry
PrivateKey = Union[ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey]  # noqa: UP007
_PRIVATE_TYPES = (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)
PathLike = Union[str, "os.PathLike[str]"]


def identities_of(certificate: x509.Certificate) -> frozenset[AgentId]:
    """The agent identities a certificate names (``urn:mabeam:agent:<id>`` subject alternative names)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset(uri[len(AGENT_URI):] for uri in names.get_values_for_type(x509.UniformResourceIdentifier)
                     if uri.startswith(AGENT_URI) and len(uri) > len(AGENT_URI))


def peer_identities(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> frozenset[AgentId]:
    """The identities named by the certificate a peer presented in a completed handshake (none if none)."""
    if ssl_object is None:
        return frozenset()
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return frozenset()
    return identities_of(x509.load_der_x509_certificate(der))


# ------------------------------------------------------------------ files
def check_private_file(path: Path) -> None:
    """Refuse a private key file that other users may read or write (as ssh does)."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialError(f"{path} is accessible to other users (mode {stat.S_IMODE(mode):04o}); "
                              f"make it private with chmod 600")


def read_private_key(path: PathLike) -> PrivateKey | ed25519.Ed25519PrivateKey:
    """A PEM private key from a file only its owner can read."""
    file = Path(path)
    try:
        check_private_file(file)
        key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CredentialError(f"cannot read the private key {file}: {exc}") from None
    if not isinstance(key, _PRIVATE_TYPES):
        raise CredentialError(f"{file}: unsupported private key type {type(key).__name__}")
    return key


def read_certificate(path: PathLike) -> x509.Certificate:
    file = Path(path)
    try:
        return x509.load_pem_x509_certificate(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CredentialError(f"cannot read the certificate {file}: {exc}") from None


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _public_der(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                            serialization.PublicFormat.SubjectPublicKeyInfo)


# ------------------------------------------------------------------ credentials
@dataclass(frozen=True, eq=False)
class TlsCredentials:
    """One node's TLS material: the cluster CA and, per hosted agent, its certificate and private key.

    Checked when built: every certificate was issued by ``ca``, names the agent
    it is given for, and matches its private key.
    """

    ca: x509.Certificate
    certificates: Mapping[AgentId, tuple[x509.Certificate, PrivateKey]]

    def __post_init__(self) -> None:
        if not isinstance(self.ca, x509.Certificate):
            raise CredentialError(f"ca must be an x509.Certificate, got {type(self.ca).__name__}")
        if not isinstance(self.certificates, Mapping) or not self.certificates:
            raise CredentialError("TLS credentials need a certificate and key for at least one agent")
        for agent, pair in self.certificates.items():
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise CredentialError(f"the credentials of {agent!r} must be (certificate, private key)")
            certificate, key = pair
            if not isinstance(certificate, x509.Certificate) or not isinstance(key, _PRIVATE_TYPES):
                raise CredentialError(f"the credentials of {agent!r} must be (x509.Certificate, private key)")
            if agent not in identities_of(certificate):
                raise CredentialError(f"the certificate given for {agent!r} names {sorted(identities_of(certificate))}")
            try:
                certificate.verify_directly_issued_by(self.ca)
            except (ValueError, TypeError, InvalidSignature):
                raise CredentialError(f"the certificate of {agent!r} was not issued by the cluster CA") from None
            if _public_der(key.public_key()) != _public_der(certificate.public_key()):
                raise CredentialError(f"the private key given for {agent!r} does not match its certificate")

    @classmethod
    def from_files(cls, ca: PathLike, certificates: Mapping[AgentId, tuple[PathLike, PathLike]]
                   ) -> TlsCredentials:
        """``ca``: the CA certificate file; ``certificates``: agent -> (certificate file, private key file)."""
        loaded: dict[AgentId, tuple[x509.Certificate, PrivateKey]] = {}
        for agent, (cert_file, key_file) in certificates.items():
            key = read_private_key(key_file)
            loaded[agent] = (read_certificate(cert_file), key)
        return cls(read_certificate(ca), loaded)

    @property
    def agents(self) -> frozenset[AgentId]:
        return frozenset(self.certificates)

    def identities(self, agent: AgentId) -> frozenset[AgentId]:
        """Every identity the certificate given for ``agent`` names (its connections may carry these)."""
        return identities_of(self.certificates[agent][0])

    def require(self, agents: Iterable[AgentId]) -> None:
        missing = sorted(set(agents) - set(self.certificates))
        if missing:
            raise CredentialError(f"no TLS certificate and key for hosted agents {missing}")

    def server_context(self, agent: AgentId) -> ssl.SSLContext:
        """Accepts TLS 1.3 clients presenting a certificate from the CA; presents ``agent``'s certificate."""
        return self._context(ssl.PROTOCOL_TLS_SERVER, agent)

    def client_context(self, agent: AgentId) -> ssl.SSLContext:
        """Connects as ``agent`` and requires the server's certificate to come from the CA."""
        return self._context(ssl.PROTOCOL_TLS_CLIENT, agent)

    def _context(self, protocol: ssl._SSLMethod, agent: AgentId) -> ssl.SSLContext:
        certificate, key = self.certificates[agent]
        context = ssl.SSLContext(protocol)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_3
        context.check_hostname = False  # peers are agents named in their certificates, checked after the handshake
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=_pem(self.ca).decode())
        # the ssl module loads a key only from a file: a private directory that lives for this call
        with tempfile.TemporaryDirectory(prefix="mabeam-tls-") as private:
            cert_file, key_file = Path(private, "cert.pem"), Path(private, "key.pem")
            cert_file.write_bytes(_pem(certificate))
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
            context.load_cert_chain(cert_file, key_file)
        return context
