"""Message authentication: who may sign what, and checking it (shared by every signed protocol).

An :class:`Authenticator` verifies any member's signature but hands out a
:class:`Signer` for one identity at a time: a replica (honest or Byzantine)
is given only its own signer, so it can never produce another's signature.

What a signature covers is domain-separated (:func:`signing_bytes`): a fixed prefix,
the protocol, the message kind and the session come first and explicitly, then the
fields, so a signature made for one kind, session or protocol never verifies as
another (``tests/test_signatures.py`` shows it for every signed message type).

Two schemes share the interface:

- :class:`Ed25519Authenticator`: real Ed25519 signatures via ``cryptography``.
  A deployment builds it with :meth:`Ed25519Authenticator.from_keys` from the
  deployer's keys (every member's public key, and the private keys of the
  identities this process hosts, nothing more; ``mabeam keygen`` makes them).
  Built from a ``seed`` it derives every private key from a public string,
  which makes runs reproducible for the simulator and tests but lets anyone
  who knows the string sign as anyone.
- :class:`SymbolicAuthenticator`: a keyed BLAKE2b digest per agent, cheap and
  deterministic, which is what the model checker needs; it knows every secret.

Both derived-key variants say so (:attr:`Authenticator.publicly_derived`), and
the network runtime refuses them (:class:`~mabeam.core.errors.DerivedKeyError`).

Verification results are cached, bounded in bytes: valid signatures in one
table, refusals in a smaller one, so a flood of forgeries can neither grow
memory nor evict the verdicts honest traffic relies on.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from .errors import ConfigurationError, CredentialError, UnknownAgentError
from .identity import AgentId
from .messages import Message, canonical_bytes

M = TypeVar("M", bound=Message)

#: default byte budgets of the verification caches (valid signatures, refusals)
VERIFIED_CACHE_BYTES = 8 << 20
REFUSED_CACHE_BYTES = 1 << 20
#: unclaimed verdicts found ahead of time (see Authenticator.record_check) before that table starts afresh
AHEAD_LIMIT = 4096
_ENTRY_OVERHEAD = 160  # dict slot, the cached message object and its fields, beyond its encoded bytes


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
    messages...), the signature itself left out. The whole is one canonical MessagePack
    array, so two messages that differ in any of domain, session or fields are signed over
    different bytes: a signature made for one kind, session or protocol never verifies as
    another, even when the fields coincide.
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


class ByteBoundedCache:
    """A first-in-first-out table of verdicts whose estimated size stays within ``budget`` bytes.

    FIFO rather than LRU keeps a hit to one dictionary lookup (the model checker's
    hot path); an evicted verdict only costs one more verification.
    """

    __slots__ = ("_table", "budget", "size")

    def __init__(self, budget: int) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise ConfigurationError(f"a cache budget must be a non-negative number of bytes, got {budget!r}")
        self.budget = budget
        self.size = 0
        self._table: dict[Message, int] = {}

    def __contains__(self, message: Message) -> bool:
        return message in self._table

    def __len__(self) -> int:
        return len(self._table)

    def add(self, message: Message, cost: int) -> None:
        if cost > self.budget or message in self._table:
            return
        table = self._table
        while self.size + cost > self.budget:
            self.size -= table.pop(next(iter(table)))
        table[message] = cost
        self.size += cost


class Authenticator(ABC):
    """Knows every principal's verification key; gives out one signer per identity held."""

    #: whether private keys come from a public string (checker and simulator only, never a network)
    publicly_derived: bool = False

    def __init__(self, principals: Iterable[AgentId], *, verified_cache_bytes: int = VERIFIED_CACHE_BYTES,
                 refused_cache_bytes: int = REFUSED_CACHE_BYTES) -> None:
        self.principals = tuple(dict.fromkeys(principals))
        if not self.principals:
            raise ConfigurationError("an authenticator needs at least one principal")
        self._principal_set = frozenset(self.principals)
        self.verified = ByteBoundedCache(verified_cache_bytes)
        self.refused = ByteBoundedCache(refused_cache_bytes)
        self._last_verified: Message | None = None  # the last message found valid (immutable, so it stays valid)
        #: verdicts found ahead of time elsewhere (:meth:`record_check`): message -> (valid, cache cost)
        self._ahead: dict[Message, tuple[bool, int]] = {}

    @abstractmethod
    def signer(self, identity: AgentId) -> Signer: ...

    @abstractmethod
    def _check(self, identity: AgentId, data: bytes, signature: bytes) -> bool: ...

    def verify(self, message: Message) -> bool:
        """Whether ``message`` carries a valid signature by its own ``sender``."""
        if message is self._last_verified:  # a broadcast's receivers share one object: not even a hash
            return True
        if message in self.verified._table:  # the per-message hot path: no Python-level __contains__
            self._last_verified = message
            return True
        if message in self.refused._table:
            return False
        found = self._ahead.pop(message, None) if self._ahead else None
        if found is None:
            found = self._verdict(message)
            if found is None:
                return False  # refused without any cryptography: nothing worth caching
        valid, cost = found
        (self.verified if valid else self.refused).add(message, cost)
        if valid:
            self._last_verified = message
        return valid

    def _verdict(self, message: Message) -> tuple[bool, int] | None:
        """Whether ``message``'s signature is valid, and what caching that costs; ``None`` when it is
        refused without cryptography (unknown sender, no signature). Touches no shared state."""
        parts = self._signed_parts(message)
        if parts is None:
            return None
        data, signature, cost = parts
        return self._check(message.sender, data, signature), cost

    def _signed_parts(self, message: Message) -> tuple[bytes, bytes, int] | None:
        """(signed bytes, signature, what caching its verdict costs), or ``None`` when ``message`` is
        refused without cryptography (unknown sender, no signature)."""
        signature = getattr(message, "signature", b"")
        if message.sender not in self._principal_set or not isinstance(signature, bytes) or not signature:
            return None
        data = signing_bytes(message)
        return data, signature, len(data) + len(signature) + _ENTRY_OVERHEAD

    def keys_for_checks_elsewhere(self) -> Mapping[AgentId, bytes] | None:
        """Raw Ed25519 public keys, if another process may check this authenticator's signatures
        with a plain libsodium call (:mod:`mabeam.runtime.ahead`); ``None``: checks stay here."""
        return None

    def check_request(self, message: Message) -> tuple[bytes, bytes, int] | None:
        """What checking ``message`` elsewhere needs (signed bytes, signature, the verdict's cache cost),
        or ``None`` if it needs no check: its verdict is known, or it is refused without cryptography."""
        if message in self.verified._table or message in self.refused._table or message in self._ahead:
            return None
        return self._signed_parts(message)

    def record_check(self, message: Message, valid: bool, cost: int) -> None:
        """A verdict found elsewhere (:meth:`check_request`), for a later :meth:`verify` to claim.

        Bounded: past :data:`AHEAD_LIMIT` unclaimed verdicts (messages nobody verified, e.g. to
        agents that had decided) the table starts afresh."""
        if len(self._ahead) >= AHEAD_LIMIT:
            self._ahead.clear()
        self._ahead[message] = (valid, cost)


# ----------------------------------------------------------------- symbolic
class _KeyedDigestSigner(Signer):
    def __init__(self, identity: AgentId, secret: bytes) -> None:
        self.identity = identity
        self._secret = secret

    def signature(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._secret, digest_size=16).digest()


class SymbolicAuthenticator(Authenticator):
    """Signature = BLAKE2b keyed with the signer's secret (a MAC standing in for a signature).

    Verification recomputes the MAC, so this authenticator knows every secret,
    and the secrets come from ``seed``: use it only inside one process (the
    model checker, simulations), never on a wire.
    """

    publicly_derived = True

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
# Keys are ``cryptography`` objects at the interface (key files, TLS, ``from_keys``); signing and verifying
# go through libsodium (PyNaCl), whose Ed25519 verification takes about half the time of OpenSSL's here
# (benchmarks/signatures.py). Ed25519 signatures are deterministic, so both sign the same bytes identically.
class _Ed25519Signer(Signer):
    def __init__(self, identity: AgentId, key: SigningKey) -> None:
        self.identity = identity
        self._key = key

    def signature(self, data: bytes) -> bytes:
        return self._key.sign(data).signature


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _signing_key(key: Ed25519PrivateKey) -> SigningKey:
    return SigningKey(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


class Ed25519Authenticator(Authenticator):
    """Real Ed25519 signatures: verification with public keys, signing with the keys this process holds.

    ``Ed25519Authenticator(principals, seed)`` derives every private key from
    ``seed`` and the identity (reproducible, :attr:`publicly_derived`: for the
    simulator and tests). A deployment uses :meth:`from_keys`.
    """

    def __init__(self, principals: Iterable[AgentId], seed: str = "mabeam") -> None:
        super().__init__(principals)
        self.publicly_derived = True
        self._private = {
            p: Ed25519PrivateKey.from_private_bytes(
                hashlib.blake2b(f"ed25519/{seed}/{p}".encode(), digest_size=32).digest())
            for p in self.principals}
        self.public_keys: dict[AgentId, Ed25519PublicKey] = {
            p: k.public_key() for p, k in self._private.items()}
        self._index_keys()

    @classmethod
    def from_keys(cls, public_keys: Mapping[AgentId, Ed25519PublicKey],
                  private_keys: Mapping[AgentId, Ed25519PrivateKey] | None = None) -> Ed25519Authenticator:
        """Every principal's public key, and the private keys of the identities this process signs as.

        A private key must belong to a principal and match its public key
        (:class:`~mabeam.core.errors.CredentialError` otherwise).
        """
        if not isinstance(public_keys, Mapping):
            raise CredentialError(f"public_keys must map identity -> Ed25519PublicKey, got {public_keys!r}")
        self = cls.__new__(cls)
        Authenticator.__init__(self, public_keys)
        self.publicly_derived = False
        self.public_keys = {}
        for identity, key in public_keys.items():
            if not isinstance(key, Ed25519PublicKey):
                raise CredentialError(f"the public key of {identity!r} is not an Ed25519 public key")
            self.public_keys[identity] = key
        self._private = {}
        for identity, private in (private_keys or {}).items():
            if not isinstance(private, Ed25519PrivateKey):
                raise CredentialError(f"the private key of {identity!r} is not an Ed25519 private key")
            public = self.public_keys.get(identity)
            if public is None:
                raise CredentialError(f"a private key was given for {identity!r}, which has no public key")
            if _raw(private.public_key()) != _raw(public):
                raise CredentialError(f"the private key given for {identity!r} does not match its public key")
            self._private[identity] = private
        self._index_keys()
        return self

    def _index_keys(self) -> None:
        """libsodium's view of the keys: the hot path signs and verifies with these."""
        self._verify_keys = {p: VerifyKey(_raw(k)) for p, k in self.public_keys.items()}
        self._raw_public: dict[AgentId, bytes] | None = None
        self._signing_keys = {p: _signing_key(k) for p, k in self._private.items()}

    @property
    def held(self) -> tuple[AgentId, ...]:
        """The identities this process can sign as."""
        return tuple(p for p in self.principals if p in self._private)

    def signer(self, identity: AgentId) -> Signer:
        if identity not in self._private:
            raise UnknownAgentError(f"{identity!r}: this process holds no signing key for it")
        return _Ed25519Signer(identity, self._signing_keys[identity])

    def keys_for_checks_elsewhere(self) -> Mapping[AgentId, bytes] | None:
        """The raw public keys: a check here is one libsodium call, which a helper process can make
        as well. A subclass that changes :meth:`_check` keeps its checks here."""
        if type(self)._check is not Ed25519Authenticator._check:
            return None
        keys = self._raw_public
        if keys is None:
            keys = self._raw_public = {p: bytes(k) for p, k in self._verify_keys.items()}
        return keys

    def _check(self, identity: AgentId, data: bytes, signature: bytes) -> bool:
        if len(signature) != 64:  # libsodium takes only whole signatures; anything else is simply invalid
            return False
        try:
            self._verify_keys[identity].verify(data, signature)
        except BadSignatureError:
            return False
        return True
