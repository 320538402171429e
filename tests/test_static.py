"""Static checks that keep the codebase to its own standards: ruff lint and format everywhere, mypy on all of workbench (the UI included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_lint_is_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "workbench", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_on_all_of_workbench() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_applied() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "workbench", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
