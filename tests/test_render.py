"""Counterexamples you can read: node states in text traces, explanations, Mermaid, the HTML page, and the
explorer's state API (the browser itself is exercised in tests/test_browser.py, slow tier)."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mabeam.api.registry import get
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.checker.mermaid import mermaid
from mabeam.checker.render import render_trace, trace_document, trace_views
from mabeam.cli.explore import StateSpace, make_server
from mabeam.cli.main import main
from mabeam.cli.pages import trace_page

ROOT = Path(__file__).resolve().parent.parent


def failure(protocol: str, prop: str, **options: object) -> object:
    entry = get(protocol)
    model = build_model(entry, **options)  # type: ignore[arg-type]
    return check(model, entry.properties).result_for(prop)


def test_step_zero_says_who_started_with_what_and_each_step_shows_the_changed_states() -> None:
    r = failure("majority", "MAJ-S1", mutant="forget-decision")
    text = render_trace(r.trace, r)
    assert "a0 starts: voting [a0:x]  → broadcast Vote(value='x')" in text
    assert "a2 starts: voting [a2:y]  → broadcast Vote(value='y')" in text
    assert "1. a0 receives Vote(value='y') from a1  → DECIDE 'x'" in text
    assert "a0: decided [a0:x, a1:y] decided='x'  [decided 'x']" in text
    assert "why: the last state violates it" in text and "decisions so far: a0 'x', 'y'" in text


def test_a_stuttering_liveness_counterexample_names_the_undecided_and_the_fair_actions() -> None:
    r = failure("majority", "MAJ-L1", mutant="wait-for-everyone")
    text = render_trace(r.trace, r)
    assert r.status == "violated" and r.trace.loop_start is None
    assert "no fair action is enabled" in text and "fair actions enabled at the end: none" in text
    assert "correct agents still undecided:" in text


def test_a_lasso_explains_its_fair_cycle() -> None:
    """Two-phase commit whose coordinator re-arms its timeout forever instead of aborting: a fair cycle."""
    from examples.tutorial.two_phase_commit import ENTRY, CoordinatorState, TwoPhaseCommit
    from mabeam import SetTimer, Step
    from mabeam.checker import ActorModel, CheckConfig

    class Retry(TwoPhaseCommit):
        def count_vote(self, state: CoordinatorState, vote: object) -> Step:
            return Step(state)  # never counts

        def on_timer(self, agent: str, state: CoordinatorState, timer: str) -> Step:
            return Step(state, (SetTimer(timer, 1.0),))  # and never gives up

    from mabeam import Membership

    model = ActorModel(Retry(Membership.with_roles(coordinator=1, participant=1)), CheckConfig())
    r = check(model, ENTRY.properties).result_for("2PC-L1")
    assert r.status == "violated" and r.trace.loop_start is not None
    text = render_trace(r.trace, r)
    assert "⟲" in text and "forever (a fair cycle)" in text
    assert "coordinator0: timer 'give-up' fires (taken in the cycle)" in text
    assert "the cycle is fair" in text


def test_choices_read_as_choices() -> None:
    r = failure("examples.tutorial.two_phase_commit:ENTRY", "2PC-S1", mutant="commit-on-majority")
    views = trace_views(r.trace)
    assert {v.kind for v in views} >= {"initial", "choice", "deliver"}
    assert any(re.fullmatch(r"participant\d chooses vote=(yes|no)", v.text) for v in views)


def test_mermaid_draws_deliveries_as_arrows_and_the_verdict() -> None:
    r = failure("majority", "MAJ-S1", mutant="forget-decision")
    text = mermaid(r.trace, r, title="majority forget-decision")
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram" and "    participant a0 as a0" in lines
    assert "    a1->>a0: 1. Vote(value='y')" in lines and "    Note over a0: DECIDE 'y'" in lines
    assert lines[-1].strip() == "Note over a0,a2: MAJ-S1 Agreement: violated"
    assert not any(";" in line.split(":", 1)[-1] for line in lines if "->>" in line)


def test_the_html_page_is_self_contained_and_carries_every_step() -> None:
    r = failure("majority", "MAJ-S1", mutant="forget-decision")
    page = trace_page(trace_document(r.trace, r, title="t</script><b>"))
    assert "http://" not in page and "https://" not in page and "<link" not in page
    data = page.split('<script type="application/json" id="trace-data">')[1].split("</script>")[0]
    doc = json.loads(data)
    assert len(doc["steps"]) == 3 and doc["property"]["id"] == "MAJ-S1" and doc["explanation"]
    assert doc["steps"][2]["nodes"][0]["state"].startswith("decided") and doc["steps"][2]["nodes"][0]["changed"]
    assert "<title>t&lt;/script&gt;&lt;b&gt;</title>" in page


def test_check_and_replay_write_the_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {k: tmp_path / f"cex.{k}" for k in ("json", "html", "mmd")}
    code = main(["check", "majority", "--mutant", "forget-decision", "-q", "--trace-out", str(files["json"]),
                 "--html", str(files["html"]), "--mermaid", str(files["mmd"])])
    assert code == 1 and all(f.stat().st_size > 200 for f in files.values())
    again = tmp_path / "again.html"
    assert main(["replay", str(files["json"]), "--property", "MAJ-S1", "--html", str(again)]) == 0
    assert "MAJ-S1" in again.read_text()
    code = main(["check", "majority", "--html", str(tmp_path / "witness.html"), "-q"])
    assert code == 0 and "MAJ-R1" in (tmp_path / "witness.html").read_text()  # no failure: the witness
    capsys.readouterr()


@pytest.fixture()
def explorer() -> Iterator[str]:
    model = build_model("examples/tutorial/two_phase_commit.py:ENTRY", 3)
    server = make_server(StateSpace(model, model.protocol.properties, "test"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_the_explorer_serves_states_and_successors(explorer: str) -> None:
    with urllib.request.urlopen(explorer + "api/state") as response:
        state = json.load(response)
    texts = [s["text"] for s in state["successors"]]
    assert "participant0 chooses vote=no" in texts and "coordinator0: timer 'give-up' fires" in texts
    assert [n["state"] for n in state["nodes"]] == ["collecting yes=[]", "working", "working"]
    chosen = state["successors"][texts.index("participant0 chooses vote=no")]
    assert chosen["changed"] == ["participant0"]
    with urllib.request.urlopen(explorer + f"api/state?id={chosen['id']}") as response:
        after = json.load(response)
    assert after["nodes"][1]["state"] == "aborted (voted no)" and after["nodes"][1]["decided"] == ["'abort'"]
    assert any(p["id"] == "2PC-R2" and p["holds"] for p in after["properties"])
    with urllib.request.urlopen(explorer) as response:
        assert b"api/state" in response.read()
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(explorer + "api/state?id=ffff")


def test_the_explorer_refuses_anything_but_loopback() -> None:
    from mabeam.core.errors import ConfigurationError

    model = build_model("majority")
    with pytest.raises(ConfigurationError, match="loopback"):
        make_server(StateSpace(model, model.protocol.properties, "t"), "0.0.0.0", 0)
