"""Exports are written beside their target and swapped in only once verified.

An export (a file, a weights + architecture pair, a code folder) is written under a
hidden temporary name in the target's folder, checked there, and then renamed over what
was at the target. Until that rename the previous export stays untouched; whatever stops
the export before it (a failure, Ctrl+C, a cancelled task) removes only the temporary
files.

A swap that takes more than one rename (two files, or a folder moved aside and the new
one moved in) runs under :func:`interrupts_held`, so a Ctrl+C that arrives meanwhile is
raised once the swap is complete: the target is always one whole export.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType


def staging_path(target: Path, tag: str = "staging", suffix: str | None = None) -> Path:
    """A hidden, unused name beside ``target`` ending in ``suffix`` (default: the target's):
    ``.net.onnx.1a2b3c4d.staging.onnx``."""
    end = target.suffix if suffix is None else suffix
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.{tag}{end}")


def remove_quietly(*paths: Path | None) -> None:
    """Remove these files or folders if they exist; errors are ignored (it is clean-up)."""
    for path in paths:
        if path is None:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold back Ctrl+C (SIGINT) until the block is done, then raise it as ``KeyboardInterrupt``.

    For a few renames that must happen together. Only the main thread receives signals,
    and only Python's own handler is replaced: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt
