"""Message authentication: who may sign what, and checking it (shared by every signed protocol).

An :class:`Authenticator` verifies any member's signature but hands out a
:class:`Signer` for one identity at a time: a replica (honest or Byzantine)
is given only its own signer, so it can never produce another's signature.

What a signature covers is domain-separated (:func:`signing_bytes`): a fixed prefix,
the protocol, the message kind and the session come first and explicitly, then the
fields, so a signature made for one kind, session or protocol never verifies as
another (``tests/test_signatures.py`` shows it for every signed message type).

Two schemes share the interface: :class:`Ed25519Authenticator` (real keys via
``cryptography``, derived from a seed per agent for reproducible runs) and
:class:`SymbolicAuthenticator` (a keyed BLAKE2b digest per agent: cheap and
deterministic, which is what the model checker needs).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ConfigurationError, UnknownAgentError
from .identity import AgentId
from .messages import Message, canonical_bytes

M = TypeVar("M", bound=Message)


#: the fixed prefix of everything a mabeam signature covers (the scheme's version is part of it)
SIGNATURE_DOMAIN = "mabeam/signature/v1"


def signature_domain(message_type: type[Message]) -> tuple[str, str]:
    """(protocol, kind) a signature on ``message_type`` is bound to, from its tag ``"protocol.kind"``.

    The tag's first dot separates the protocol's wire namespace (``pbft``, ``adaptive``,
    ``hier``...) from the message kind (``prepare``, ``vote``...); a tag without one is a
    kind of the empty namespace.
    """
    found = _DOMAINS.get(message_type)
    if found is None:
        tag = message_type.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{message_type.__name__} has no string tag to bind a signature to")
        protocol, dot, kind = tag.partition(".")
        found = _DOMAINS[message_type] = (protocol, kind) if dot else ("", tag)
    return found


_DOMAINS: dict[type, tuple[str, str]] = {}
_SIGNED_FIELDS: dict[type, tuple[str, ...]] = {}


def signing_bytes(message: Message) -> bytes:
    """What a signature covers: the domain, then the message's fields.

    The domain is explicit and comes first: :data:`SIGNATURE_DOMAIN`, the protocol and
    the message kind (:func:`signature_domain`) and the session; then every other field
    in declaration order (the sender, view, sequence number, stage, value, nested signed
    messages...), the signature itself left out. The whole is one canonical MessagePack array, so two messages that differ in
    any of domain, session or fields are signed over different bytes: a signature made for
    one kind, session or protocol never verifies as another, even when the fields coincide.
    """
    cls = type(message)
    names = _SIGNED_FIELDS.get(cls)
    if names is None:
        names = _SIGNED_FIELDS[cls] = tuple(
            name for name in cls.__struct_fields__ if name not in ("session", "signature"))
    protocol, kind = signature_domain(cls)
    return canonical_bytes([SIGNATURE_DOMAIN, protocol, kind, message.session,
                            [getattr(message, name) for name in names]])


class Signer(ABC):
    """Signs as exactly one identity."""

    identity: AgentId

    @abstractmethod
    def signature(self, data: bytes) -> bytes: ...

    def sign(self, message: M) -> M:
        if message.sender != self.identity:
            raise UnknownAgentError(f"{self.identity!r} cannot sign as {message.sender!r}")
        return message.replace(signature=self.signature(signing_bytes(message)))


class Authenticator(ABC):
    """Knows every principal's verification key; gives out one signer per identity."""

    def __init__(self, principals: Iterable[AgentId]) -> None:
        self.principals = tuple(dict.fromkeys(principals))
        if not self.principals:
            raise ConfigurationError("an authenticator needs at least one principal")
        self._verified: dict[Message, bool] = {}

    @abstractmethod
    def signer(self, identity: AgentId) -> Signer: ...

    @abstractmethod
    def _check(self, identity: AgentId, data: bytes, signature: bytes) -> bool: ...

    def verify(self, message: Message) -> bool:
        """Whether ``message`` carries a valid signature by its own ``sender``."""
        cached = self._verified.get(message)
        if cached is None:
            signature = getattr(message, "signature", b"")
            cached = (message.sender in self.principals and bool(signature)
                      and self._check(message.sender, signing_bytes(message), signature))
            if len(self._verified) > 200_000:
                self._verified.clear()
            self._verified[message] = cached
        return cached


# ----------------------------------------------------------------- symbolic
class _KeyedDigestSigner(Signer):
    def __init__(self, identity: AgentId, secret: bytes) -> None:
        self.identity = identity
        self._secret = secret

    def signature(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._secret, digest_size=16).digest()


class SymbolicAuthenticator(Authenticator):
    """Signature = BLAKE2b keyed with the signer's secret (a MAC standing in for a signature).

    Verification recomputes the MAC, so this authenticator knows every secret:
    use it only inside one process (the model checker, simulations), never on a wire.
    """

    def __init__(self, principals: Iterable[AgentId], seed: str = "mabeam") -> None:
        super().__init__(principals)
        self._secrets = {p: hashlib.blake2b(f"{seed}/{p}".encode(), digest_size=32).digest()
                         for p in self.principals}

    def signer(self, identity: AgentId) -> Signer:
        if identity not in self._secrets:
            raise UnknownAgentError(f"{identity!r} holds no key")
        return _KeyedDigestSigner(identity, self._secrets[identity])

    def _check(self, identity: AgentId, data: bytes, signature: bytes) -> bool:
        expected = hashlib.blake2b(data, key=self._secrets[identity], digest_size=16).digest()
        return expected == signature


# ------------------------------------------------------------------ ed25519
class _Ed25519Signer(Signer):
    def __init__(self, identity: AgentId, key: Ed25519PrivateKey) -> None:
        self.identity = identity
        self._key = key

    def signature(self, data: bytes) -> bytes:
        return self._key.sign(data)


class Ed25519Authenticator(Authenticator):
    """Real Ed25519 signatures; private keys derived from ``seed`` and the identity.

    Verification uses only public keys; :meth:`signer` is how a process obtains
    its own private key. A deployment would pass keys in instead of a seed.
    """

    def __init__(self, principals: Iterable[AgentId], seed: str = "mabeam") -> None:
        super().__init__(principals)
        self._private = {
            p: Ed25519PrivateKey.from_private_bytes(
                hashlib.blake2b(f"ed25519/{seed}/{p}".encode(), digest_size=32).digest())
            for p in self.principals}
        self.public_keys: dict[AgentId, Ed25519PublicKey] = {
            p: k.public_key() for p, k in self._private.items()}

    def signer(self, identity: AgentId) -> Signer:
        if identity not in self._private:
            raise UnknownAgentError(f"{identity!r} holds no key")
        return _Ed25519Signer(identity, self._private[identity])

    def _check(self, identity: AgentId, data: bytes, signature: bytes) -> bool:
        try:
            self.public_keys[identity].verify(signature, data)
        except InvalidSignature:
            return False
        return True
