"""The refinement mapping of every protocol, by registry name (one module per protocol)."""

from __future__ import annotations

from ..mapping import Mapping
from .adaptive import AdaptiveMapping
from .hierarchical import HierarchicalMapping
from .iterative import IterativeMapping
from .iterative_categorical import CategoricalMapping
from .majority import MajorityMapping
from .pbft import PbftMapping
from .weighted import WeightedMapping

MAPPINGS: dict[str, Mapping] = {m.protocol: m for m in (
    MajorityMapping(), WeightedMapping(), HierarchicalMapping(), IterativeMapping(), CategoricalMapping(),
    AdaptiveMapping(), PbftMapping(),
)}

__all__ = ["MAPPINGS"]
