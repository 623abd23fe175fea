"""The ``sklearn-nmfx`` command's entry point, outside the package.

Importing :mod:`sklearn_nmfx.cli` first imports the package, and with it NumPy,
SciPy and scikit-learn: a second or more in which Ctrl-C would otherwise end the
program with a Python traceback, before :func:`sklearn_nmfx.cli.main` can catch
it. This module imports nothing heavy itself, so it can.
"""

import sys


def main():
    """Run ``sklearn-nmfx``; Ctrl-C while it starts is "interrupted" (status 130)."""
    try:
        from sklearn_nmfx.cli import main as cli_main
    except KeyboardInterrupt:
        print("sklearn-nmfx: interrupted", file=sys.stderr)
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
