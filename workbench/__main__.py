"""``python -m workbench``: the same as the ``workbench`` command, and the frozen bundle's entry point."""

import multiprocessing
import os
import sys

from workbench.cli import main

if __name__ == "__main__":
    # In a frozen bundle a child process started by multiprocessing is this executable
    # again; freeze_support() makes such a child run its task instead of the app.
    multiprocessing.freeze_support()
    # A windowed Windows bundle has no console: print() must not fail there.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    sys.exit(main())
