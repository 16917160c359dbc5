"""Trace validation: the code's runs checked against the TLA+ specs of ``tla/`` by TLC.

The technique of Cirstea, Kuppe, Loillier and Merz, "Validating Traces of
Distributed Programs Against TLA+ Specifications" (2024). One module per job:

- :mod:`.observe`: a run as a sequence of global states (simulator or checker);
  :mod:`.live`: the same for the asyncio runtime;
- :mod:`.mapping` and :mod:`.mappings`: the refinement mapping of each protocol,
  from those states to its spec's variables;
- :mod:`.export`: the trace as a TLA+ module that constrains the spec;
- :mod:`.run`: TLC on that module, and its verdict (accepted / rejected at step k);
- :mod:`.validate`: the whole path for a seeded simulator run or a checker trace.
"""

from __future__ import annotations

from .mappings import MAPPINGS
from .run import Verdict, tlc_available
from .validate import validate_checker_file, validate_checker_trace, validate_live, validate_run, validate_simulation

__all__ = ["MAPPINGS", "Verdict", "tlc_available", "validate_checker_file", "validate_checker_trace",
           "validate_live", "validate_run", "validate_simulation"]
