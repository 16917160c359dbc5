"""An ensemble of 13 simulated LLM agents reasons through questions, each step a real protocol run.

Scenario 4.2 of the seed document, with seeded stand-ins for LLMs (no model, no network):
each agent has a reasoning style and an accuracy that depends on the question's domain;
per question and step it produces an answer and a confidence from a seeded RNG.

Per question, chain-of-thought coordinated as a pipeline:

1. decomposition: agents propose how to split the problem; a strict majority vote picks one
   (a natural decomposition helps every agent, a poor one hurts);
2. intermediate step, then final step: ``iterative-categorical`` rounds: agents see the
   others' answers and confidences, adopt the confidence-weighted plurality, and stop after
   two stable rounds; a wrong intermediate answer makes the final step harder (errors propagate);
3. certification: the agents' final answers go to a Byzantine-mode weighted vote, each agent
   weighted by its accuracy on calibration questions.

Two adversaries: ``contrarian`` always pushes the most tempting wrong answer with
confidence 0.99, and ``equivocator`` tells half the group one answer and the other half
another (both through :mod:`mabeam.attacks`). The report compares the ensemble with the best
single agent and with a naive majority vote, both on answers each agent reached alone
(its own decomposition and intermediate result, no coordination). Deterministic by seed::

    python examples/llm_ensemble_reasoning.py --seed 0 --json ensemble.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mabeam.api.session import SessionResult, run_protocol, start_majority_vote, start_weighted_vote
from mabeam.attacks import MessageAdapter, make_attack
from mabeam.live.network import Latency, NetworkModel
from mabeam.protocols.iterative_categorical import CategoricalRefinement
from mabeam.protocols.weighted import WeightedVoting

#: style -> (count, base accuracy, domain it is strong in)
STYLES = {"math": (3, 0.62, "math"), "logic": (3, 0.60, "logic"), "science": (2, 0.58, "science"),
          "commonsense": (2, 0.60, "commonsense"), "creative": (1, 0.50, "wordplay")}
CONTRARIAN, EQUIVOCATOR = "contrarian", "equivocator"
DECOMPOSITIONS = ("direct", "stepwise", "case-split")
NETWORK = NetworkModel(latency=Latency.uniform(0.001, 0.03))


@dataclass(frozen=True)
class Step:
    prompt: str
    candidates: tuple[str, ...]
    truth: str
    distractor: str  # the tempting wrong answer


@dataclass(frozen=True)
class Question:
    qid: str
    domain: str
    text: str
    decomposition: str  # the decomposition that suits it
    steps: tuple[Step, Step]  # intermediate, final


def _q(qid: str, domain: str, text: str, decomposition: str, inter: tuple[str, str, str, str],
       final: tuple[str, str, str, str]) -> Question:
    def step(prompt: str, truth: str, distractor: str, others: str) -> Step:
        candidates = tuple(sorted({truth, distractor, *others.split("|")}))
        return Step(prompt, candidates, truth, distractor)

    return Question(qid, domain, text, decomposition, (step(*inter), step(*final)))


QUESTIONS = (
    _q("q1", "math", "A train covers 180 km between 9:00 and 11:30. Average speed (km/h)?", "stepwise",
       ("hours elapsed", "2.5", "2.3", "3|2"), ("speed", "72", "78", "60|90")),
    _q("q2", "math", "A bat and a ball cost 1.10 in total; the bat costs 1.00 more. Ball price?", "stepwise",
       ("equation", "b+(b+1)=1.1", "b+1=1.1", "2b=1"), ("ball", "0.05", "0.10", "0.01|0.55")),
    _q("q3", "logic", "All bloops are razzies; some razzies are lazzies. Are some bloops lazzies?",
       "case-split", ("counter-model exists", "yes", "no", "unknown"),
       ("conclusion", "not-necessarily", "yes", "no")),
    _q("q4", "logic", "Knights tell the truth, knaves lie. A says 'we are both knaves'. What is B?",
       "case-split", ("A's type", "knave", "knight", "unknown"), ("B", "knight", "knave", "unknown")),
    _q("q5", "science", "Ice floats on water at 0 degrees C. Is solid water denser than liquid?", "direct",
       ("density relation", "solid<liquid", "solid>liquid", "equal"), ("answer", "no", "yes", "same")),
    _q("q6", "science", "Two 60 W bulbs run 5 h a day for 30 days. Energy used (kWh)?", "stepwise",
       ("daily Wh", "600", "300", "120|60"), ("monthly kWh", "18", "9", "1.8|180")),
    _q("q7", "commonsense", "You put a wet towel in a closed plastic bag overnight. Is it dry by morning?",
       "direct", ("where water goes", "stays-in-bag", "evaporates-away", "absorbed"),
       ("dry?", "no", "yes", "partly")),
    _q("q8", "commonsense", "A shop opens at 9 and closes 8 hours later; you arrive at 4:45 pm. Open?",
       "stepwise", ("closing time", "17:00", "16:00", "18:00"), ("open?", "yes", "no", "unknown")),
    _q("q9", "wordplay", "Which word becomes shorter when you add two letters to it?", "direct",
       ("trick", "pun-on-short", "literal-length", "anagram"), ("word", "short", "shorten", "long|brief")),
    _q("q10", "math", "If 3 machines make 3 widgets in 3 minutes, how long do 100 machines take for 100?",
       "stepwise", ("rate per machine", "1/3min", "1/1min", "3/min"), ("minutes", "3", "100", "33|1")),
    _q("q11", "logic", "If it rains the match is off. The match is on. Did it rain?", "case-split",
       ("rule", "modus-tollens", "affirm-consequent", "none"), ("rained?", "no", "yes", "unknown")),
    _q("q12", "science", "A feather and a hammer are dropped on the Moon. Which lands first?", "direct",
       ("air resistance", "none", "some", "large"), ("first", "together", "hammer", "feather")),
)


@dataclass(frozen=True)
class Agent:
    name: str
    style: str
    accuracy: float
    strong_in: str

    def skill(self, question: Question, decomposition: str) -> float:
        bonus = 0.18 if self.strong_in == question.domain else -0.05
        plan = 0.07 if decomposition == question.decomposition else -0.1
        return max(0.05, min(0.95, self.accuracy + bonus + plan))


def ensemble() -> list[Agent]:
    agents = [Agent(f"{style}-{i}", style, acc, strong) for style, (count, acc, strong) in STYLES.items()
              for i in range(1, count + 1)]
    agents.append(Agent(EQUIVOCATOR, "creative", 0.45, "wordplay"))
    agents.append(Agent(CONTRARIAN, "contrarian", 0.0, "none"))
    return agents


def answer(agent: Agent, step: Step, domain: str, p: float, rng: random.Random) -> tuple[str, Fraction]:
    """One simulated completion: right with probability ``p``; mistakes lean to the distractor.
    Confidence is calibrated only roughly: right answers, and answers in the agent's own
    domain, tend to be surer."""
    if agent.name == CONTRARIAN:
        return step.distractor, Fraction(99, 100)
    sure = 0.2 if agent.strong_in == domain else 0.0  # more confident in its own domain
    if rng.random() < p:
        return step.truth, Fraction(round(min(0.99, rng.uniform(0.5, 0.8) + sure) * 100), 100)
    wrong = [c for c in step.candidates if c != step.truth]
    choice = step.distractor if rng.random() < 0.6 else rng.choice(wrong)
    return choice, Fraction(round(min(0.99, rng.uniform(0.3, 0.7) + sure / 2) * 100), 100)


def calibrate(agents: list[Agent], seed: int, trials: int = 40) -> dict[str, int]:
    """Accuracy on held-out calibration items -> an integer vote weight 1..11."""
    rng = random.Random(f"calibration/{seed}")
    weights = {}
    for agent in agents:
        right = 0
        for k in range(trials):
            question = QUESTIONS[k % len(QUESTIONS)]
            step = question.steps[1]
            given, _ = answer(agent, step, question.domain, agent.skill(question, question.decomposition), rng)
            right += given == step.truth
        weights[agent.name] = 1 + round(10 * right / trials)
    return weights


# ------------------------------------------------------------------ adversary plumbing
class Rewrite(MessageAdapter):
    """The conflicting twin of a message: the same slot, a different answer (and full confidence)."""

    def __init__(self, pick: Any) -> None:
        self.pick = pick  # current value -> the lie

    def conflicting(self, message: Any) -> Any:
        for field in ("answer", "value"):
            value = getattr(message, field, None)
            if isinstance(value, str):
                lie = self.pick(value)
                if lie is None or lie == value:
                    return None
                extra = {"confidence": (99, 100)} if field == "answer" else {}
                return message.replace(**{field: lie}, **extra)
        return None


def adversaries(protocol: Any, step: Step) -> dict[str, Any]:
    """contrarian: every message carries the distractor (fraction 0: nobody hears the honest one);
    equivocator: half the peers hear its own answer, the others the distractor (or another answer)."""
    other = next(c for c in step.candidates if c not in (step.truth, step.distractor))
    pushy = Rewrite(lambda _value: step.distractor)
    split = Rewrite(lambda value: step.distractor if value != step.distractor else other)
    return {CONTRARIAN: make_attack("equivocating", CONTRARIAN, protocol, pushy, fraction=0.0, overlap=0),
            EQUIVOCATOR: make_attack("equivocating", EQUIVOCATOR, protocol, split)}


def props(result: SessionResult) -> dict[str, str]:
    return {pid: v["status"] for pid, v in sorted(result.properties.items())}


def run_record(result: SessionResult) -> dict[str, Any]:
    """``agreement`` compares whole decisions; categorical decisions are (answer, rounds used)."""
    return {"status": result.status, "agreement": result.agreement, "virtual_seconds": round(result.duration, 6),
            "messages": result.messages.sent, "properties": props(result),
            "evidence": sorted({f"{e.kind} against {e.against}" for e in result.evidence})}


# ------------------------------------------------------------------ one question
def decompose(question: Question, agents: list[Agent], seed: int) -> tuple[str, dict[str, Any]]:
    rng = random.Random(f"decompose/{seed}/{question.qid}")
    proposals = {}
    for agent in agents:
        fits = 0.8 if agent.style in ("math", "logic") else 0.6
        if agent.name == CONTRARIAN:
            proposals[agent.name] = next(d for d in DECOMPOSITIONS if d != question.decomposition)
        elif rng.random() < fits:
            proposals[agent.name] = question.decomposition
        else:
            proposals[agent.name] = rng.choice(DECOMPOSITIONS)
    result = start_majority_vote(proposals, seed=seed, network=NETWORK, session=f"{question.qid}/plan")
    chosen = result.decided_value if result.decided_value is not None else "direct"
    return chosen, {"proposals": proposals, "decided": result.decided_value, "used": chosen, **run_record(result)}


def refine(question: Question, index: int, inputs: dict[str, tuple[str, Fraction]], seed: int,
           max_rounds: int) -> tuple[str | None, dict[str, str], dict[str, Any]]:
    """Iterative-categorical rounds on one step; the ensemble answer is the honest agents' most
    common decision (they agree whenever the step's ``agreement`` is true)."""
    step = question.steps[index]
    names = list(inputs)
    protocol = CategoricalRefinement(names, inputs, step.candidates, faulty=1, stable_rounds=2,
                                     max_rounds=max_rounds, session=f"{question.qid}/step{index}")
    observer = names[0]

    def summary(states: Any) -> dict[str, Any]:
        state = states[observer]
        return {"history": [{"round": h.round, "plurality": h.plurality, "support": round(float(h.support), 3),
                             "agreeing": h.agreeing, "received": h.received} for h in state.history]}

    result = run_protocol(protocol, seed=seed, network=NETWORK, byzantine=adversaries(protocol, step),
                          summarize=summary)
    honest = {a: ds[-1].value for a, ds in result.decisions.items() if ds and a not in (CONTRARIAN, EQUIVOCATOR)}
    answers = sorted({v[0] for v in honest.values()})
    majority = max(answers, key=lambda a: (sum(1 for v in honest.values() if v[0] == a), -answers.index(a))) \
        if answers else None
    return majority, {a: v[0] for a, v in honest.items()}, {
        "prompt": step.prompt, "truth": step.truth, "candidates": list(step.candidates),
        "initial": {a: [v[0], float(v[1])] for a, v in inputs.items()},
        "honest_answers": answers, "ensemble": majority, "answer_agreement": len(answers) == 1,
        "rounds_used": max((v[1] for v in honest.values()), default=0), "observer": observer,
        "history": result.extras["history"], **run_record(result)}


def certify(question: Question, ballots: dict[str, str], weights: dict[str, int],
            seed: int) -> tuple[str | None, dict[str, Any]]:
    """Weighted vote by calibrated accuracy on the agents' final answers (> 2/3 of the weight wins)."""
    step = question.steps[1]
    ballots = {name: ballots[name] for name in weights}
    bound = sum(sorted(weights.values(), reverse=True)[:2])  # tolerate the two heaviest members lying
    session = f"{question.qid}/certify"
    probe = WeightedVoting(list(ballots), ballots, weights, max_faulty_weight=bound, session=session)
    split = Rewrite(lambda value: step.distractor if value != step.distractor else step.truth)
    attack = {EQUIVOCATOR: make_attack("equivocating", EQUIVOCATOR, probe, split)}
    result = start_weighted_vote(ballots, weights, max_faulty_weight=bound, seed=seed, network=NETWORK,
                                 session=session, byzantine=attack)
    tally: dict[str, int] = {}
    for name, ballot in ballots.items():
        tally[ballot] = tally.get(ballot, 0) + weights[name]
    return result.decided_value, {"tally": dict(sorted(tally.items())), "total_weight": sum(weights.values()),
                                  "declared_faulty_weight": bound, "decided": result.decided_value,
                                  **run_record(result)}


def solo(question: Question, agents: list[Agent], plans: dict[str, str], seed: int) -> dict[str, str]:
    """The baseline: each agent reasons alone along its own decomposition and intermediate answer."""
    rng = random.Random(f"solo/{seed}/{question.qid}")
    out = {}
    for a in agents:
        skill = a.skill(question, plans[a.name])
        inter, _ = answer(a, question.steps[0], question.domain, skill, rng)
        penalty = 0.0 if inter == question.steps[0].truth else 0.3
        out[a.name], _ = answer(a, question.steps[1], question.domain, skill - penalty, rng)
    return out


def solve(question: Question, agents: list[Agent], weights: dict[str, int], seed: int,
          max_rounds: int) -> dict[str, Any]:
    rng = random.Random(f"answers/{seed}/{question.qid}")
    plan, plan_record = decompose(question, agents, seed)
    inter_inputs = {a.name: answer(a, question.steps[0], question.domain, a.skill(question, plan), rng) for a in agents}
    inter, _, inter_record = refine(question, 0, inter_inputs, seed, max_rounds)
    penalty = 0.0 if inter == question.steps[0].truth else 0.3  # a wrong intermediate result propagates
    final_inputs = {a.name: answer(a, question.steps[1], question.domain, a.skill(question, plan) - penalty, rng)
                    for a in agents}
    _, decided, final_record = refine(question, 1, final_inputs, seed, max_rounds)
    # each agent casts the answer it decided (the equivocator's ballot is its own first answer)
    ballots = {**{name: v[0] for name, v in final_inputs.items()}, **decided}
    certified, cert_record = certify(question, ballots, weights, seed)
    first = solo(question, agents, plan_record["proposals"], seed)
    counts = {c: sum(1 for v in first.values() if v == c) for c in question.steps[1].candidates}
    naive = max(question.steps[1].candidates, key=lambda c: (counts[c], -question.steps[1].candidates.index(c)))
    proposed = sorted({v[0] for v in final_inputs.values()})
    return {
        "qid": question.qid, "domain": question.domain, "question": question.text,
        "truth": question.steps[1].truth, "ensemble_answer": certified, "correct": certified == question.steps[1].truth,
        "naive_majority": naive, "naive_correct": naive == question.steps[1].truth,
        "solo_answers": first, "proposed_answers": proposed,
        "rounds_used": final_record["rounds_used"],
        # the votes must agree exactly; the refinement steps need not (crash-tolerant plurality
        # rounds promise no agreement), which the certification vote then settles
        "agreement": plan_record["agreement"] and cert_record["agreement"],
        "refinement_agreed": inter_record["answer_agreement"] and final_record["answer_agreement"],
        "pipeline": {"decomposition": plan_record, "intermediate": inter_record, "final": final_record,
                     "certification": cert_record},
    }


# ------------------------------------------------------------------ the scenario
def run(seed: int = 0, *, questions: int | None = None, max_rounds: int = 6) -> dict[str, Any]:
    """Every question through the pipeline; a JSON-ready report (no wall-clock fields)."""
    agents = ensemble()
    weights = calibrate(agents, seed)
    chosen = QUESTIONS[:questions] if questions else QUESTIONS
    results = [solve(q, agents, weights, seed, max_rounds) for q in chosen]
    per_agent = {a.name: sum(r["solo_answers"][a.name] == r["truth"] for r in results) / len(results)
                 for a in agents}
    honest = [a.name for a in agents if a.name not in (CONTRARIAN, EQUIVOCATOR)]
    best = max(honest, key=lambda a: (per_agent[a], a))
    properties = [v for r in results for step in r["pipeline"].values() for v in step["properties"].values()]
    return {
        "scenario": "llm-ensemble-reasoning", "seed": seed, "agents": [
            {"name": a.name, "style": a.style, "strong_in": a.strong_in, "weight": weights[a.name],
             "adversarial": a.name in (CONTRARIAN, EQUIVOCATOR)} for a in agents],
        "questions": results,
        "accuracy": {"ensemble": sum(r["correct"] for r in results) / len(results),
                     "naive_majority": sum(r["naive_correct"] for r in results) / len(results),
                     "best_single_agent": per_agent[best], "best_single_agent_name": best,
                     "per_agent": per_agent},
        "certified": sum(r["ensemble_answer"] is not None for r in results),
        "refinement_agreed": sum(r["refinement_agreed"] for r in results),
        "all_agree": all(r["agreement"] for r in results),
        "all_properties_hold": all(v != "violated" for v in properties),
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"LLM ensemble: {len(report['agents'])} agents (adversarial: {CONTRARIAN}, {EQUIVOCATOR}), "
             f"seed {report['seed']}; weights by calibration: "
             + ", ".join(f"{a['name']}={a['weight']}" for a in report["agents"])]
    for r in report["questions"]:
        p = r["pipeline"]
        mark = "OK " if r["correct"] else "BAD"
        lines.append(f"\n[{mark}] {r['qid']} ({r['domain']}): {r['question']}")
        lines.append(f"  decomposition: majority -> {p['decomposition']['decided']} "
                     f"({p['decomposition']['status']}, {p['decomposition']['messages']} msgs)")
        for key in ("intermediate", "final"):
            s = p[key]
            trail = " ".join(f"r{h['round']}:{h['plurality']}({h['support']:.2f})" for h in s["history"])
            lines.append(f"  {key:<13}: {s['prompt']!r} -> {s['ensemble']} (truth {s['truth']}), "
                         f"{s['rounds_used']} rounds, honest answers {s['honest_answers']}, "
                         f"{s['virtual_seconds']:.3f} s virtual, {s['messages']} msgs; {trail}")
        c = p["certification"]
        lines.append(f"  certification: weighted vote -> {c['decided']} ({c['status']}; tally {c['tally']} of "
                     f"{c['total_weight']}, > 2/3 needed); evidence {c['evidence'] or 'none'}")
        lines.append(f"  answer {r['ensemble_answer']} vs truth {r['truth']}; naive majority {r['naive_majority']}; "
                     f"votes agree {r['agreement']}, refiners agree {r['refinement_agreed']}")
    acc = report["accuracy"]
    lines.append(f"\naccuracy: ensemble {acc['ensemble']:.2f}, naive majority of solo answers "
                 f"{acc['naive_majority']:.2f}, best single agent {acc['best_single_agent']:.2f} "
                 f"({acc['best_single_agent_name']}); certified {report['certified']}/{len(report['questions'])}; "
                 f"honest refiners agreed on both steps in {report['refinement_agreed']}")
    lines.append(f"agreement in every vote: {report['all_agree']}; monitored properties hold: "
                 f"{report['all_properties_hold']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = parser.parse_args(argv)
    report = run(args.seed, questions=args.questions)
    print(render(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
            handle.write("\n")
    return 0 if report["all_properties_hold"] else 1


if __name__ == "__main__":
    sys.exit(main())
