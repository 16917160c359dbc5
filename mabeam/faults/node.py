"""One node of a fault run in its own OS process: ``python -m mabeam.faults.node SPEC.json``.

Why a process of its own: kill -9 has to kill a real process, with its
sockets and whatever it had not written. The node builds its protocol
(:mod:`mabeam.faults.builds`, the spec's mutant if it names one), listens
with TLS on a port of its own (port 0: the harness learns it), prints ``{"port", "pid"}``, waits for ``go`` on
stdin with the run's end (machine-wide monotonic time; a restarted node has
it in its spec and goes at once), runs its agents until then, serving its peers meanwhile, and
logs everything to its JSON-lines log (:mod:`mabeam.faults.log`). A PBFT
replica keeps its durable state in its SQLite store and recovers from it when
restarted. Its last log record (``end``) holds its result: status, decisions
and rejections by reason (an outsider's refused connections among them).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..core.messages import MessageCodec
from ..runtime.keygen import load_cluster
from ..runtime.runtime import AsyncRuntime
from ..runtime.store import DurableLog, SqliteStore
from .builds import build, signed
from .log import LoggingTransport, LogObserver, NodeLog, process_id


def _protocol(spec: dict[str, Any], local: tuple[str, ...]) -> Any:
    auth = request = None
    if signed(spec["protocol"]):
        auth = load_cluster(spec["keys"], local).authenticator(local)
    if spec.get("request"):
        from ..protocols.pbft import Request

        request = MessageCodec((Request,)).decode(bytes.fromhex(spec["request"]))
    return build(spec["protocol"], spec["n"], auth=auth, request=request, mutant=spec.get("mutant"),
                 inputs=spec.get("inputs", "clear"))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Why: the whole life of one node; ``main`` only reads the spec and prints."""
    local = tuple(spec["local"])
    protocol = _protocol(spec, local)
    log = NodeLog(spec["log"], spec["incarnation"])
    log.write("start", None, f"pid {process_id()} hosts {', '.join(local)}", local=list(local), pid=process_id(),
              mutant=spec.get("mutant"))
    keys = load_cluster(spec["keys"], local)
    transport = LoggingTransport(protocol, local, tls=keys.tls_credentials(local), port=spec["port"])
    transport.attach(log)
    await transport.start()
    print(json.dumps({"port": transport.address[1], "pid": process_id()}), flush=True)
    end_at = spec["end_at"]
    if end_at is None:  # a first incarnation waits for "go END_AT": every node is listening
        end_at = float((await asyncio.to_thread(sys.stdin.readline)).split()[1])
    transport.connect({a: (host, port) for a, (host, port) in spec["book"].items()})
    options: dict[str, Any] = {}
    store = None
    if protocol.durable_type is not None and spec.get("store"):
        store = SqliteStore(spec["store"])
        options["durable"] = DurableLog(store, protocol)
    timeout = max(0.1, end_at - time.monotonic())
    runtime = AsyncRuntime(protocol, local=local, transport=transport, timeout=timeout, stop_when_decided=False,
                           observers=[LogObserver(log)], **options)
    try:
        result = await runtime.run()
    finally:
        if store is not None:
            store.close()
    summary = {"status": result.status, "rejected": dict(result.rejected),
               "decisions": {a: [repr(d.value) for d in ds] for a, ds in result.decisions.items()}}
    log.write("end", None, f"{result.status}; rejected {dict(result.rejected)}", result=summary)
    log.close()
    return summary


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
