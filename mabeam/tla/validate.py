"""The whole path: a run (seeded simulator run, asyncio runtime run, checker counterexample) -> mapping -> TLC
-> verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from .mapping import Configuration, Mapping
from .mappings import MAPPINGS
from .observe import RunTrace, checker_trace
from .run import Verdict, run_trace


def mapping_for(protocol: str) -> Mapping:
    try:
        return MAPPINGS[protocol]
    except KeyError:
        raise ConfigurationError(f"no trace mapping for {protocol!r}; known: {', '.join(sorted(MAPPINGS))}") from None


def exported(mapping: Mapping, run: RunTrace) -> tuple[list[dict[str, Any]], list[str | None], list[str]]:
    """The mapped states, acting agents and event descriptions of ``run``."""
    states = mapping.states(run)
    return states, [o.actor for o in run.observations], [o.event for o in run.observations]


def validate_run(mapping: Mapping, config: Configuration, run: RunTrace, **options: Any) -> Verdict:
    states, actors, events = exported(mapping, run)
    return run_trace(mapping, config.cfg, states, actors, events, source=run.source, **options)


def validate_simulation(protocol: str, seed: int, *, faults: bool = False, **options: Any
                        ) -> tuple[Verdict, RunTrace]:
    """``mabeam tla validate PROTOCOL --seed S [--faults]``: one seeded run, validated."""
    mapping = mapping_for(protocol)
    config, run = mapping.simulate(seed, faults)
    return validate_run(mapping, config, run, **options), run


def validate_live(protocol: str, seed: int, *, faults: bool = False, **options: Any) -> tuple[Verdict, RunTrace]:
    """``mabeam tla validate PROTOCOL --runtime``: one run of the asyncio runtime, validated."""
    mapping = mapping_for(protocol)
    config, run = mapping.run_live(seed, faults)
    return validate_run(mapping, config, run, **options), run


def checker_run(model: Any, trace: Any, source: str) -> tuple[Mapping, Configuration, RunTrace]:
    mapping = mapping_for(model.protocol.name)
    config = mapping.checker_configuration(model)
    return mapping, config, checker_trace(model, trace, source)


def validate_checker_trace(model: Any, trace: Any, source: str = "checker trace", **options: Any) -> Verdict:
    mapping, config, run = checker_run(model, trace, source)
    return validate_run(mapping, config, run, **options)


def load_checker_traces(path: Path, prop: str | None = None) -> list[tuple[Any, Any, str]]:
    """(model, trace, source) for every counterexample in a ``mabeam check --trace-out`` file."""
    from ..api.verify import build_model
    from ..checker import replay_actions

    data = json.loads(Path(path).read_text())
    info = data["model"]
    overrides = {k: v for k, v in info.items() if k in ("network", "drops", "duplicates") and v is not None}
    model = build_model(info["protocol"], info["agents"], info["faulty"], mutant=info.get("mutant"), **overrides)
    out = []
    for entry in data["properties"]:
        if "trace" not in entry or (prop and entry["id"] != prop):
            continue
        trace = replay_actions(model, [s["action"] for s in entry["trace"]["steps"]])
        mutant = f" of mutant {info['mutant']}" if info.get("mutant") else ""
        out.append((model, trace, f"checker counterexample to {entry['id']}{mutant}"))
    if not out:
        raise ConfigurationError(f"{path} holds no counterexample trace" + (f" for {prop}" if prop else ""))
    return out


def validate_checker_file(path: Path, prop: str | None = None, **options: Any) -> list[Verdict]:
    return [validate_checker_trace(model, trace, source, **options)
            for model, trace, source in load_checker_traces(path, prop)]
