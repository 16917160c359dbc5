"""Domain-separated signatures: a signature binds the protocol, the message kind, the session and the fields.

For every signed message type of every registered protocol (a type with a ``signature``
field among the package's ``MESSAGE_TYPES``), with both signing schemes: a signed sample
verifies; the same signature never verifies on another session, on any other signed kind
(of this protocol or another, with every field the two kinds share set equal), nor on a
twin type with identical fields that differs only in its kind or only in its protocol.
"""

from __future__ import annotations

import importlib
from typing import Any

import msgspec
import pytest

from mabeam.api.registry import entries
from mabeam.core import Message
from mabeam.core.auth import (
    SIGNATURE_DOMAIN,
    Authenticator,
    Ed25519Authenticator,
    SymbolicAuthenticator,
    signature_domain,
    signing_bytes,
)

SENDER, SESSION = "a0", "s0"
SCHEMES = {"symbolic": SymbolicAuthenticator, "ed25519": Ed25519Authenticator}


def message_types() -> dict[str, tuple[type[Message], ...]]:
    """Each registered protocol's message types (the package's ``MESSAGE_TYPES``)."""
    out = {}
    for name, entry in entries().items():
        package = importlib.import_module(entry.companions.package)
        out[name] = tuple(package.MESSAGE_TYPES)
    return out


TYPES = message_types()
SIGNED = [(protocol, t) for protocol, types in TYPES.items() for t in types if "signature" in t.__struct_fields__]
ALL_SIGNED = [t for _, t in SIGNED]


def test_every_protocol_is_enumerated_and_the_signed_ones_are_found() -> None:
    assert set(TYPES) == set(entries())
    signed = {protocol for protocol, _ in SIGNED}
    assert {"pbft", "adaptive", "hierarchical"} <= signed
    # the protocols whose transport authenticates senders carry no signature field at all
    for protocol in set(TYPES) - signed:
        assert not any("signature" in t.__struct_fields__ for t in TYPES[protocol])


# ------------------------------------------------------------------ samples
def _value(info: Any) -> Any:
    """A valid value of a msgspec type (nested messages are built the same way, unsigned)."""
    if isinstance(info, msgspec.inspect.IntType):
        low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else 0)
        return max(low, 1) if info.le is None or info.le >= 1 else low
    if isinstance(info, msgspec.inspect.StrType):
        return "v" * max(1, info.min_length or 1)
    if isinstance(info, msgspec.inspect.BytesType):
        return b"\x07" * 16
    if isinstance(info, msgspec.inspect.BoolType):
        return False
    if isinstance(info, msgspec.inspect.NoneType):
        return None
    if isinstance(info, msgspec.inspect.UnionType):
        chosen = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _value(chosen[0] if chosen else info.types[0])
    if isinstance(info, (msgspec.inspect.VarTupleType, msgspec.inspect.FrozenSetType)):
        item = _value(info.item_type)
        return (item,) if isinstance(info, msgspec.inspect.VarTupleType) else frozenset({item})
    if isinstance(info, msgspec.inspect.TupleType):
        return tuple(_value(t) for t in info.item_types)
    if isinstance(info, msgspec.inspect.StructType):
        return _struct(info)
    raise AssertionError(f"no sample for {info!r}")


def _struct(info: msgspec.inspect.StructType) -> Any:
    values = {f.name: _value(f.type) for f in info.fields if f.name != "signature"}
    if "session" in values:
        values.update(session=SESSION, sender=SENDER)
    return info.cls(**values)


def sample(cls: type[Message], like: Message | None = None) -> Message:
    """An unsigned ``cls`` message from ``a0`` in ``s0``; fields it shares with ``like`` take ``like``'s values."""
    built = _struct(msgspec.inspect.type_info(cls))
    if like is None:
        return built
    shared = {name: getattr(like, name) for name in cls.__struct_fields__
              if name in like.__struct_fields__ and name not in ("signature", "session", "sender")}
    for name, value in shared.items():
        try:
            candidate = built.replace(**{name: value})
            msgspec.convert(msgspec.to_builtins(candidate), type=cls)  # still a well-formed cls
        except (msgspec.ValidationError, TypeError):
            continue
        built = candidate
    return built


def twin(cls: type[Message], tag: str) -> type[Message]:
    """A message type with exactly ``cls``'s fields under another tag (another kind or protocol)."""
    return type(cls)(f"Twin{cls.__name__}", (cls,), {}, frozen=True, tag=tag)


def authenticator(scheme: str) -> Authenticator:
    return SCHEMES[scheme]((SENDER, "a1"), seed="signatures")


# ------------------------------------------------------------------ the properties
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("cls", ALL_SIGNED, ids=lambda t: t.__struct_config__.tag)
def test_a_signature_binds_session_kind_and_protocol(cls: type[Message], scheme: str) -> None:
    auth = authenticator(scheme)
    signed = auth.signer(SENDER).sign(sample(cls))
    signature = signed.signature  # type: ignore[attr-defined]
    assert auth.verify(signed)
    # another session
    assert not auth.verify(signed.replace(session="s1"))
    # another signer claims it
    assert not auth.verify(signed.replace(sender="a1"))
    # every other signed kind, of this protocol or another, with the shared fields equal
    for other in ALL_SIGNED:
        if other is cls:
            continue
        relabeled = sample(other, like=signed).replace(signature=signature)
        assert not auth.verify(relabeled), (cls.__name__, other.__name__)
    # identical fields, only the kind differs / only the protocol differs
    protocol, kind = signature_domain(cls)
    values = {name: getattr(signed, name) for name in cls.__struct_fields__}
    for tag in (f"{protocol}.{kind}-copy", f"{protocol}-copy.{kind}"):
        copy = twin(cls, tag)(**values)
        assert signing_bytes(copy) != signing_bytes(signed)
        assert not auth.verify(copy), tag


@pytest.mark.parametrize("cls", ALL_SIGNED, ids=lambda t: t.__struct_config__.tag)
def test_the_signed_bytes_start_with_the_explicit_domain(cls: type[Message]) -> None:
    message = sample(cls)
    decoded = msgspec.msgpack.decode(signing_bytes(message))
    protocol, kind = signature_domain(cls)
    assert decoded[:4] == [SIGNATURE_DOMAIN, protocol, kind, SESSION]
    assert f"{protocol}.{kind}" == cls.__struct_config__.tag and protocol and kind
    fields = [name for name in cls.__struct_fields__ if name not in ("session", "signature")]
    assert len(decoded[4]) == len(fields)
    # the signature field itself is never covered
    assert signing_bytes(message) == signing_bytes(message.replace(signature=b"\x01" * 16))


def test_no_two_signed_kinds_share_a_domain() -> None:
    domains = [signature_domain(t) for t in ALL_SIGNED]
    assert len(set(domains)) == len(domains)
    protocols = {protocol: {signature_domain(t)[0] for t in TYPES[protocol]} for protocol, _ in SIGNED}
    # each protocol signs in its own namespace
    for protocol, namespaces in protocols.items():
        assert len(namespaces) == 1, protocol
    assert len({next(iter(ns)) for ns in protocols.values()}) == len(protocols)
