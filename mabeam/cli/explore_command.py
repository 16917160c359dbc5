"""The ``mabeam explore`` verb: build the model, start the loopback server, say where it listens."""

from __future__ import annotations

import argparse
import sys

from ..api.registry import get
from ..api.verify import build_model
from .explore import StateSpace, serve
from .output import print_json


def explore(args: argparse.Namespace) -> int:
    entry = get(args.protocol)
    model = build_model(entry, args.agents, args.faulty, mutant=args.mutant)
    title = (f"mabeam explore: {entry.name}, {model.protocol.n} agents"
             + (f", mutant {args.mutant}" if args.mutant else ""))
    space = StateSpace(model, entry.properties, title)

    def ready(url: str) -> None:
        if args.json:
            print_json({"url": url, "protocol": entry.name, "agents": model.protocol.n})
        else:
            print(f"{title}\nserving on {url} (loopback only); Ctrl-C to stop", flush=True)
        sys.stdout.flush()
        if args.open:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(space, args.host, args.port, ready)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0
