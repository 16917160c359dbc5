"""Z3 proofs of each protocol's quorum and threshold arithmetic, importable only as ``mabeam.models``.

The directory is installed under that one name (setuptools ``package-dir``), so
each model is loaded once; importing it as a top-level ``models`` package from a
checkout would load every file a second time, under another name.
"""

if __name__ != "mabeam.models":
    raise ImportError("import the Z3 models as mabeam.models (e.g. mabeam.models.majority), not as models")
