"""Atomic writes: the whole file or the old one, and sensible permissions."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from workbench.core.fileio import atomic_write, atomic_write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def broken(f: object) -> None:
        f.write(b"half")  # type: ignore[attr-defined]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_new_files_are_readable_by_others_and_replaced_files_keep_their_mode(
    tmp_path: Path,
) -> None:
    new = tmp_path / "new.wbproj"
    atomic_write_text(new, "x")
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's 0o600
    os.chmod(new, 0o640)
    atomic_write_text(new, "y")
    assert stat.S_IMODE(new.stat().st_mode) == 0o640 and new.read_text() == "y"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
        (OSError("odd"), "odd"),
    ],
)
def test_os_error_text_names_the_cause(error: OSError, text: str) -> None:
    from workbench.core.fileio import os_error_text

    assert os_error_text(error) == text


def test_saving_a_project_on_a_read_only_file_system_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.core import project as proj

    def refuse(path: object, text: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(proj, "atomic_write_text", refuse)
    with pytest.raises(proj.ProjectError, match=r"cannot be saved \(read-only file system\)$"):
        proj.save_project(proj.Project(), tmp_path / "a.wbproj")
