"""``mabeam explore``: walk a protocol's state space in the browser, from the initial state.

Like Stateright's Explorer: the page shows the node states of the current world,
the properties that hold there, and every enabled action as a button leading to
its successor; the path taken is kept so you can step back. The server holds the
model and answers ``GET /api/state?id=<fingerprint>`` with one world's view and
successors; worlds are remembered by fingerprint as they are met.

It binds to the loopback interface only: the page executes nothing, but the
state space of a protocol under development is nobody else's business.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..checker.model import ActorModel, World
from ..checker.render import action_text, node_views
from ..core.errors import ConfigurationError
from ..core.interpret import describe_effects
from ..core.properties import Kind, Property
from .pages import explore_page

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class StateSpace:
    """The worlds met so far and how to show one of them (thread-safe: one request at a time)."""

    def __init__(self, model: ActorModel, properties: tuple[Property, ...], title: str) -> None:
        self.model, self.title = model, title
        self.properties = tuple(p for p in properties if p.kind in (Kind.ALWAYS, Kind.SOMETIMES, Kind.EVENTUALLY)
                                and p.applies(model.protocol))
        self.initial = model.initial()
        self._worlds: dict[str, World] = {}
        self._lock = threading.Lock()
        self.remember(self.initial)

    def remember(self, world: World) -> str:
        key = f"{self.model.fingerprint(world):016x}"
        self._worlds.setdefault(key, world)
        return key

    def state(self, key: str | None) -> dict[str, Any]:
        """One world as JSON: node states, messages in flight, property values, successors."""
        with self._lock:
            world = self.initial if key is None else self._worlds.get(key)
            if world is None:
                raise KeyError(key)
            return self._describe(world)

    def _describe(self, world: World) -> dict[str, Any]:
        model = self.model
        nodes = node_views(model, world, None)
        snap = model.snapshot(world)
        successors = []
        for t in model.transitions(world):
            changed = [n.agent for n, m in zip(nodes, node_views(model, t.world, nodes)) if m.changed]
            successors.append({"id": self.remember(t.world), "text": action_text(t.action), "kind": t.action.kind,
                               "actor": t.action.agent, "fair": t.fair, "changed": changed,
                               "effects": describe_effects(t.effects, timers=False)})
        return {
            "id": self.remember(world),
            "nodes": [{**asdict(n), "changed": False} for n in nodes],
            "in_flight": [f"{env.message.describe()} from {env.message.sender} to {env.to}"
                          for env in model.in_flight(world)],
            "properties": [{"id": p.id, "name": p.name, "kind": p.kind.value, "holds": p.holds(snap)}
                           for p in self.properties],
            "successors": successors,
        }


def _handler(space: StateSpace) -> type[BaseHTTPRequestHandler]:
    page = explore_page(space.title).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server hook name
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
            elif url.path == "/api/state":
                key = parse_qs(url.query).get("id", [None])[0]
                try:
                    body = json.dumps(space.state(key)).encode("utf-8")
                except KeyError:
                    self._send(404, "text/plain", b"unknown state id")
                    return
                self._send(200, "application/json", body)
            else:
                self._send(404, "text/plain", b"not found")

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a request log line per click would bury the terminal."""

    return Handler


def make_server(space: StateSpace, host: str = "127.0.0.1", port: int = 0) -> HTTPServer:
    """An HTTP server for ``space`` on loopback (``port`` 0: any free port; see ``server_port``)."""
    if host not in LOOPBACK:
        raise ConfigurationError(f"explore serves on the loopback interface only ({', '.join(LOOPBACK)}), "
                                 f"not {host!r}")
    try:
        return HTTPServer((host, port), _handler(space))
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(space: StateSpace, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve until interrupted; ``ready(url)`` is called once the socket listens."""
    server = make_server(space, host, port)
    name = str(server.server_address[0])
    url = f"http://{'[' + name + ']' if ':' in name else name}:{server.server_port}/"
    ready(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
