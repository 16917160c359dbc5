"""Writing the report: ``report.md``, a self-contained ``report.html`` (plots inlined) and ``report.json``."""

from __future__ import annotations

import base64
import html
import json
import platform
from pathlib import Path
from typing import Any

from .judge import FAIL, PASS, Verdict

MARK = {PASS: "PASS", FAIL: "FAIL", "not-measured": "not measured"}


def document(verdicts: list[Verdict], score: dict[str, Any], figures: dict[str, Any], plots: dict[str, Path],
             meta: dict[str, Any]) -> dict[str, Any]:
    return {"report": "mabeam validate", **meta, "readiness": score,
            "criteria": [v.to_json() for v in verdicts], "plots": {k: p.name for k, p in plots.items()},
            "measurements": figures}


def markdown(doc: dict[str, Any]) -> str:
    r = doc["readiness"]
    lines = [f"# mabeam validation report ({doc['mode']})", "",
             f"mabeam {doc['version']}, Python {doc['python']}, {doc['machine']}; {doc['seconds']:.0f} s.", "",
             f"**Readiness score: {r['score']:.0%}** ({r['passed']}/{r['total']} criteria passed; the scenario "
             f"document calls a system production ready at {r['threshold']:.0%}: "
             f"{'ready' if r['ready'] else 'not ready'}).", ""]
    if r["failing"]:
        lines.append("Failing: " + ", ".join(_name(doc, i) for i in r["failing"]) + ".")
    if r["not_measured"]:
        lines.append("Not measured: " + ", ".join(_name(doc, i) for i in r["not_measured"]) + ".")
    lines += ["", "| id | criterion | status | measured | source |", "|---|---|---|---|---|"]
    for c in doc["criteria"]:
        lines.append(f"| {c['id']} | {_cell(c['criterion'])} | {MARK[c['status']]} | {_cell(c['figure'])} | "
                     f"{_cell(c['source'])} |")
    lines += ["", "## How each criterion is measured", ""]
    lines += [f"- **{c['id']}**: {c['measure']}" for c in doc["criteria"]]
    if doc["plots"]:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}](plots/{file})" for name, file in doc["plots"].items()]
    else:
        lines += ["", "Plots: not drawn (install matplotlib: `pip install mabeam[report]`)."]
    lines += ["", "## Examples run", "", "| example | exit | seconds |", "|---|---|---|"]
    for e in (doc["measurements"].get("examples") or {}).values():
        lines.append(f"| `{e['command']}` | {e['exit_code']} | {e['seconds']:.1f} |")
    lines += ["", "Everything measured is in `report.json` (`measurements`); each example's output and JSON report "
              "are under `examples/`.", ""]
    return "\n".join(lines)


def _name(doc: dict[str, Any], cid: str) -> str:
    quote = next(c["criterion"] for c in doc["criteria"] if c["id"] == cid)
    return f"{cid} ({quote})"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def html_page(doc: dict[str, Any], plots: dict[str, Path]) -> str:
    r = doc["readiness"]
    rows = "\n".join(
        f"<tr class='{c['status']}'><td>{c['id']}</td><td>{html.escape(c['criterion'])}</td>"
        f"<td class='status'>{MARK[c['status']]}</td><td>{html.escape(c['figure'])}</td>"
        f"<td class='muted'>{html.escape(c['source'])}</td></tr>" for c in doc["criteria"])
    images = "\n".join(
        f"<figure><img alt='{name}' src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        f"<figcaption>{name}</figcaption></figure>" for name, path in plots.items())
    missing = ", ".join(html.escape(_name(doc, i)) for i in r["failing"]) or "none"
    unmeasured = ", ".join(html.escape(_name(doc, i)) for i in r["not_measured"]) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mabeam validation report</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1d232b; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ border: 1px solid #d6dbe1; padding: .3rem .5rem;
vertical-align: top; text-align: left; }} th {{ background: #eef1f4; }}
tr.pass td.status {{ color: #1e7b34; font-weight: 600; }} tr.fail td.status {{ color: #b3261e; font-weight: 700; }}
tr.not-measured td.status {{ color: #8a6d00; font-weight: 600; }} .muted {{ color: #5b6572; }}
figure {{ display: inline-block; margin: .5rem; }} img {{ max-width: 720px; border: 1px solid #d6dbe1; }}
.score {{ font-size: 1.3rem; font-weight: 700; }}
</style></head><body>
<h1>mabeam validation report ({doc['mode']})</h1>
<p class="muted">mabeam {doc['version']}, Python {doc['python']}, {html.escape(doc['machine'])};
{doc['seconds']:.0f} s</p>
<p class="score" id="readiness">Readiness score: {r['score']:.0%} ({r['passed']}/{r['total']} criteria passed;
ready at {r['threshold']:.0%}: {'yes' if r['ready'] else 'no'})</p>
<p>Failing: {missing}.<br>Not measured: {unmeasured}.</p>
<table id="criteria"><thead><tr><th>id</th><th>criterion</th><th>status</th><th>measured</th><th>source</th></tr>
</thead><tbody>
{rows}
</tbody></table>
<h2>Plots</h2>
{images or '<p>not drawn: install matplotlib (pip install mabeam[report])</p>'}
</body></html>
"""


def write(out: Path, doc: dict[str, Any], plots: dict[str, Path]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "report.md", "html": out / "report.html", "json": out / "report.json"}
    paths["markdown"].write_text(markdown(doc), encoding="utf-8")
    paths["html"].write_text(html_page(doc, plots), encoding="utf-8")
    paths["json"].write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
    return paths


def machine() -> str:
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
