"""Atomic writes: the whole file or the old one, and sensible permissions."""

from __future__ import annotations

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
def test_new_files_are_readable_by_others_and_replaced_files_keep_their_mode(tmp_path: Path) -> None:
    new = tmp_path / "new.wbproj"
    atomic_write_text(new, "x")
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's 0o600
    os.chmod(new, 0o640)
    atomic_write_text(new, "y")
    assert stat.S_IMODE(new.stat().st_mode) == 0o640 and new.read_text() == "y"
