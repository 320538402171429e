"""Atomic file writes: a temporary file beside the target, fsync, then a rename.

Either the old file or the complete new one is on disk, never a half-written one. Every
save in the workbench (projects, settings, checkpoints, runs, exports) goes through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: A temporary file of :func:`atomic_write`: ``.<target name>.<8 random characters>.tmp`` (mkstemp's).
TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")
#: A temporary file untouched for this long belongs to no live write (a write keeps touching it).
STALE_SECONDS = 60.0

#: Said in our words: a read-only file system is not a permission problem (the fix differs).
#: Other causes use the system's own text ("No space left on device"…).
_REASONS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def os_error_text(e: OSError) -> str:
    """Why an operating-system call failed, in a few words, for a one-line message.

    ``read-only file system`` is said as such (not ``permission denied``): the fix differs.
    """
    reason = _REASONS.get(e.errno) if isinstance(e.errno, int) else None
    if reason is None and isinstance(e, PermissionError):
        reason = "permission denied"
    if reason is None:
        reason = e.strerror or str(e) or type(e).__name__
    return reason


def unwritable_reason(folder: str | os.PathLike[str]) -> str:
    """Why a folder that ``os.access`` calls unwritable cannot be written, in a few words.

    A read-only mount says so (``statvfs``'s read-only flag): the fix is another place, not
    other permissions.
    """
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):  # no statvfs on Windows
        pass
    return "permission denied"


def replace_retrying(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], attempts: int = 10
) -> None:
    """``os.replace`` that waits out a reader holding ``dst`` open (a sharing violation on Windows)."""
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, mode: int | None = None
) -> None:
    """Create or replace ``path`` with what ``write(binary_file)`` writes, atomically.

    Args:
        path: The target file; its folder must exist.
        write: Writes the contents to the open binary file it is given.
        mode: File permissions to set. By default a replaced file keeps its permissions
            and a new one gets ``0o644`` (mkstemp's own ``0o600`` would hide a saved
            project from the owner's group and from tools running as another user).
    """
    p = Path(path)
    if mode is None:
        try:
            mode = p.stat().st_mode & 0o7777
        except OSError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        if os.name != "nt":
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        replace_retrying(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def copy_atomic(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy a file through a temporary file and a rename."""
    with open(src, "rb") as source:
        atomic_write(dst, lambda f: shutil.copyfileobj(source, f))


def remove_stale_temporaries(
    folder: str | os.PathLike[str], *, target: str | None = None, older_than: float = STALE_SECONDS
) -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder`` (not in sub-folders).

    Only names of :data:`TEMPORARY`'s form are touched (of ``target`` only, when given), and
    only when unmodified for ``older_than`` seconds, so a write in progress in another
    process keeps its file. Errors are ignored: this is tidying, never a reason to fail.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = TEMPORARY.match(entry.name)
        if m is None or (target is not None and m.group("target") != target):
            continue
        try:
            if (
                not entry.is_file(follow_symlinks=False)
                or now - entry.stat(follow_symlinks=False).st_mtime < older_than
            ):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def process_alive(pid: object) -> bool | None:
    """Whether process ``pid`` exists: True, False, or None when it cannot be told (Windows).

    This process counts as alive (one of its threads may be the writer).
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return None  # os.kill(pid, 0) would not just probe there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
