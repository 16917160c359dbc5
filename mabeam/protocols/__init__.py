"""Protocol state machines. Each module imports only :mod:`mabeam.core`."""
