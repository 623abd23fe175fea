"""``python -m sklearn_nmfx``: the command line (see :mod:`sklearn_nmfx.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
