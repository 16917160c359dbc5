"""The refinement mapping of every protocol, by registry name (one module per protocol)."""

from __future__ import annotations

from ..mapping import Mapping
from .majority import MajorityMapping

MAPPINGS: dict[str, Mapping] = {m.protocol: m for m in (
    MajorityMapping(),
)}

__all__ = ["MAPPINGS"]
