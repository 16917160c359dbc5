"""Z3 bounded checks (installed as ``mabeam.models``)."""
