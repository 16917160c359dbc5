"""The ``mabeam`` command line (``mabeam --help``)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
