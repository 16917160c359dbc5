"""A three-tier ML model-selection pipeline of 42 agents, each tier a real protocol run.

1. 7 domain experts (2 Byzantine) agree by PBFT (f = 2) on a shortlist of models.
2. 15 evaluators (3 Byzantine, one the representative) cast expertise-weighted votes
   on the certified shortlist; a Byzantine representative's altered certificate is refused.
3. 20 agents (3 Byzantine) refine numeric criteria for the chosen model by iterative
   refinement (approximate agreement) for 5 rounds.

Each tier's output is passed up only with a certificate of (n + f) // 2 + 1 Ed25519
signatures that the next tier verifies (spec/hierarchical.md). Deterministic by seed.

    python examples/hierarchical_ml_consensus.py --seed 0 --json report.json
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from typing import Any

from mabeam.api.pipeline import (
    ConsensusLevel,
    PipelineReport,
    RefinementLevel,
    WeightedLevel,
    render,
    run_pipeline,
)

SHORTLIST = ("vit-b16", "resnet50", "efficientnet-b4")
#: per model: (learning rate x 1e3 / 10, confidence threshold, augmentation strength), all in [0, 1]
CRITERIA = ("learning_rate", "confidence_threshold", "augmentation")
BASELINES = {"vit-b16": (0.30, 0.80, 0.55), "resnet50": (0.50, 0.70, 0.40), "efficientnet-b4": (0.40, 0.75, 0.60)}

EXPERTS = tuple(f"expert{i}" for i in range(7))
EVALUATORS = tuple(f"evaluator{i}" for i in range(15))
REFINERS = tuple(f"refiner{i}" for i in range(20))


def shortlist_proposal(_previous: Any) -> str:
    """Tier 1 proposes the shortlist (the first tier consumes no earlier output)."""
    return "shortlist=" + ",".join(SHORTLIST)


def evaluator_ballots(shortlist: str) -> dict[str, str]:
    """Tier 2 votes only among the certified shortlist: most evaluators measured the first
    model best, one measured the second; Byzantine evaluators push the last one."""
    candidates = shortlist.split("=", 1)[1].split(",")
    ballots = {e: candidates[0] for e in EVALUATORS}
    ballots["evaluator9"] = candidates[1]
    for bad in ("evaluator0", "evaluator7", "evaluator12"):
        ballots[bad] = candidates[-1]
    return ballots


def refinement_inputs(model: str) -> dict[str, tuple[Fraction, ...]]:
    """Tier 3 starts from the certified model's baseline criteria, each agent's estimate offset."""
    base = BASELINES[model]
    inputs = {}
    for i, agent in enumerate(REFINERS):
        offset = Fraction((i * 7) % 11 - 3, 50)  # -0.06 .. +0.14, deterministic
        inputs[agent] = tuple(min(Fraction(1), max(Fraction(0), Fraction(str(b)) + offset)) for b in base)
    return inputs


def levels() -> list[Any]:
    weights = {e: (2 if i < 9 else 1) for i, e in enumerate(EVALUATORS)}
    return [
        ConsensusLevel("domain-experts", EXPERTS, 2, shortlist_proposal,
                       byzantine={"expert5": "equivocating", "expert6": "silent"}),
        WeightedLevel("evaluators", weights, 3, evaluator_ballots,
                      byzantine={"evaluator0": "delaying", "evaluator7": "silent", "evaluator12": "delaying"}),
        RefinementLevel("refinement-team", REFINERS, 3, refinement_inputs, (0, 1), 5,
                        byzantine={"refiner17": "silent", "refiner18": "delaying", "refiner19": "silent"}),
    ]


def run(seed: int = 0, driver: str = "simulator") -> PipelineReport:
    return run_pipeline(levels(), driver=driver, seed=seed, session="ml-selection")  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--driver", choices=("simulator", "runtime"), default="simulator")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON (no wall-clock fields)")
    args = parser.parse_args(argv)
    report = run(args.seed, args.driver)
    print(render(report))
    criteria = dict(zip(CRITERIA, (round(float(x), 4) for x in report.output)))
    print(f"final criteria for {report.levels[1].certificate.value}: {criteria}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report.to_json(), handle, indent=2, sort_keys=True)
            handle.write("\n")
    return 0 if report.all_properties_hold else 1


if __name__ == "__main__":
    sys.exit(main())
