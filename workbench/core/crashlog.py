"""Crash logs: an unexpected exception is written to a file in the user's log folder.

The command line prints one line naming the file; the window shows it in a dialog
(``workbench.ui.app``). The log holds the traceback, the version, the platform and the
command line, so a user can attach it to a report.
"""

from __future__ import annotations

import platform
import sys
import time
import traceback
from pathlib import Path
from types import TracebackType

from workbench.core.appdirs import is_frozen, log_dir
from workbench.core.fileio import atomic_write_text, os_error_text

#: Crash logs kept in the folder; older ones are removed when a new one is written.
KEEP = 20


def crash_text(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    """The log's text: what ran, where, and the full traceback."""
    from workbench import __version__

    header = [
        f"Model Workbench {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"python {platform.python_version()} on {platform.platform()}"
        + (" (frozen application)" if is_frozen() else ""),
        "command line: " + " ".join(sys.argv),
        "",
    ]
    return "\n".join(header) + "".join(traceback.format_exception(exc_type, exc, tb))


def write_crash_log(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    folder: Path | None = None,
) -> Path:
    """Write the crash log and return its path.

    Raises:
        OSError: the log folder cannot be made or written.
    """
    folder = log_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"crash-{stamp}.log"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"crash-{stamp}-{n}.log"
    atomic_write_text(path, crash_text(exc_type, exc, tb))
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("crash-*.log"), key=lambda p: p.name)
    for old in logs[:-KEEP]:
        try:
            old.unlink()
        except OSError:
            pass  # an old log that cannot go is harmless


def crash_message(exc: BaseException, tb: TracebackType | None = None) -> str:
    """One line for the user: what went wrong and where the details are (or why they are not)."""
    what = " ".join(str(exc).split()) or type(exc).__name__
    if len(what) > 200:
        what = what[:197] + "..."
    try:
        path = write_crash_log(type(exc), exc, tb if tb is not None else exc.__traceback__)
    except OSError as e:
        return f"unexpected error: {what} (the crash log could not be written: {os_error_text(e)})"
    return f"unexpected error: {what}; the details are in {path}"
