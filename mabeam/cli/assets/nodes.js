// Shared by the trace page and the explorer: one row per agent with its state, decisions and timers.
"use strict";
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function renderNodes(tbody, nodes) {
  tbody.replaceChildren();
  for (const n of nodes) {
    const classes = [n.changed ? "changed" : "", n.crashed ? "crashed" : "", n.byzantine ? "byzantine" : ""];
    const row = el("tr", {"data-agent": n.agent, "class": classes.filter(Boolean).join(" ")});
    row.append(el("td", {"class": "agent"}, n.agent), el("td", {"class": "state"}, n.state),
               el("td", {"class": "decided"}, n.decided.join(", ")), el("td", {"class": "timers"}, n.timers.join("; ")));
    tbody.append(row);
  }
}
