"""`workbench bench --builder` measures a frozen app too, which has no `python -c` to run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench import bench

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in executable is a shell script")
def test_a_frozen_app_times_its_own_first_paint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the bundle's executable: the same command line, run from source.
    exe = tmp_path / "workbench"
    exe.write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m workbench "$@"\n',
        encoding="utf-8",
    )
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.chdir(tmp_path)
    paint = bench._child_time(bench._FIRST_PAINT_CHILD, "first-paint")
    bare = bench._child_time(bench._BASELINE_CHILD, None)
    assert paint > 0 and bare > 0
