"""``python -m mabeam.cli``: the same as the ``mabeam`` command."""

import sys

from .main import main

sys.exit(main())
