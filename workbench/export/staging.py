"""Exports are written beside their target and swapped in only once verified.

An export (a file, a weights + architecture pair, a code folder) is written under a
hidden temporary name in the target's folder, checked there, and then renamed over what
was at the target. Until that rename the previous export stays untouched; whatever stops
the export before it (a failure, Ctrl+C, a cancelled task) removes only the temporary
files.

A swap that takes more than one rename (two files, or a folder moved aside and the new
one moved in) runs under :func:`interrupts_held`, so a Ctrl+C that arrives meanwhile is
raised once the swap is complete: the target is always one whole export.
:func:`watch_interrupts` makes sure the command line notices a Ctrl+C that Python or a
library swallowed.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any


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
    """Hold back Ctrl+C (SIGINT) until the block is done, then deliver it to the handler that was there.

    For a few renames that must happen together. Only the main thread receives signals:
    elsewhere, or where SIGINT is ignored, this does nothing.
    """
    previous = (
        signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    if not callable(previous):
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(
                signal.SIGINT
            )  # the handler runs now (KeyboardInterrupt by default)


@contextlib.contextmanager
def watch_interrupts() -> Iterator[Callable[[], bool]]:
    """Yield ``interrupted()``: True once Ctrl+C was pressed in the block (for the command line).

    Ctrl+C still raises ``KeyboardInterrupt`` at once. Where Python or a library swallows
    it (raised inside a garbage-collection callback it is only reported as "Exception
    ignored"; torch's exporter turns it into its own error) the export still stops at its
    next stage when given ``cancelled=interrupted``, and that report is not printed.
    """
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed.is_set
        return

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        pressed.set()
        raise KeyboardInterrupt

    def on_unraisable(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            pressed.set()
        else:
            hook(unraisable)

    handler, hook = signal.signal(signal.SIGINT, on_sigint), sys.unraisablehook
    sys.unraisablehook = on_unraisable
    try:
        yield pressed.is_set
    finally:
        sys.unraisablehook = hook
        signal.signal(signal.SIGINT, handler)


def replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, moving an existing ``target`` away only for the swap.

    A Ctrl+C meanwhile is raised once the swap is over (:func:`interrupts_held`), so the
    target is never missing and no half-removed old folder is left beside it.
    """
    with interrupts_held():
        if not target.exists():
            new.replace(target)
            return
        backup = new.with_name(new.name + ".old")
        target.replace(backup)
        try:
            new.replace(target)
        except BaseException:
            backup.replace(target)
            raise
        shutil.rmtree(backup, ignore_errors=True)
