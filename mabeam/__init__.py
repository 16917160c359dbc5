"""mabeam: formally specified multi-agent coordination protocols."""

__version__ = "0.1.0"
