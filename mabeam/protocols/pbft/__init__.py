"""PBFT: Byzantine consensus with view change (spec: ``spec/pbft.md``)."""

from .build import (
    CATCH_UP_BOUNDS, CHECKPOINT_BOUNDS, EXPOSURE_BOUNDS, STANDARD_BOUNDS, VIEW_CHANGE_BOUNDS, build, build_checked,
    make_config,
)
from .replica import PHASES, PBFTReplica

__all__ = ["CATCH_UP_BOUNDS", "CHECKPOINT_BOUNDS", "EXPOSURE_BOUNDS", "PHASES", "PBFTReplica", "STANDARD_BOUNDS", "VIEW_CHANGE_BOUNDS", "build", "build_checked", "make_config"]

from ...core.catalog import ProtocolEntry  # noqa: E402
from .mutants import MUTANTS  # noqa: E402
from .properties import PROPERTIES  # noqa: E402


def _primaries_first(protocol: object, f: int) -> frozenset[str]:
    """The Byzantine replicas are the primaries of views 0..f-1: the faulty primary is the interesting case."""
    agents = getattr(protocol, "agents")
    return frozenset(agents[:f])


ENTRY = ProtocolEntry(
    name="pbft",
    summary="PBFT Byzantine consensus with checkpoints and view change (n >= 3f+1)",
    fault_model="byzantine",
    factory=build_checked,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=4,
    default_faulty=1,
    check_defaults={"network": "duplicating"},
    faulty_agents=_primaries_first,
)
