"""The live asyncio runtime: real tasks and timers running the same protocol state machines."""

from .runtime import AsyncRuntime, run_async, run_live
from .transport import InProcessTransport, Transport

__all__ = ["AsyncRuntime", "InProcessTransport", "Transport", "run_async", "run_live"]
