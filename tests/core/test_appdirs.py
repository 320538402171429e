"""The package's own files are found from source and from a frozen bundle's data folder."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import workbench
from workbench.core import appdirs
from workbench.export import python_code

PACKAGE = Path(workbench.__file__).resolve().parent


def test_from_source_the_files_are_beside_the_modules() -> None:
    assert not appdirs.is_frozen()
    assert appdirs.package_dir() == PACKAGE
    assert appdirs.resource_path("user-guide.md").is_file()
    assert (appdirs.resource_path("icons") / "workbench-256.png").is_file()
    assert (appdirs.standalone_dir() / "train.py").is_file()
    assert "train.py" in python_code.TRAIN_MODULES


def test_frozen_the_files_are_in_the_bundles_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert appdirs.is_frozen()
    assert appdirs.package_dir() == tmp_path / "workbench"
    assert appdirs.resource_path("icons", "a.png") == tmp_path / "workbench/resources/icons/a.png"
    assert appdirs.standalone_dir() == tmp_path / "workbench" / "standalone"


def test_the_python_export_reads_the_standalone_modules_through_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in the bundle: the modules are data files under _MEIPASS, not beside the code.
    copy = tmp_path / "workbench" / "standalone"
    copy.mkdir(parents=True)
    for name in python_code.TRAIN_MODULES:
        (copy / name).write_bytes(b"# bundled " + name.encode() + b"\n")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    files = python_code._train_files()
    assert files["train.py"] == b"# bundled train.py\n"


def test_the_log_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path))
    assert appdirs.log_dir() == tmp_path
    monkeypatch.delenv("WORKBENCH_LOG_DIR")
    assert appdirs.log_dir().name in ("ModelWorkbench", "log", "Logs", "logs")
    assert "ModelWorkbench" in str(appdirs.log_dir())


def test_the_app_starts_no_worker_processes() -> None:
    """A frozen app's child process is the app again: data loads on threads, never in processes.

    The exported train.py (run by the user's own Python) is the one place with DataLoader
    workers; the application's modules must not start processes of their own.
    """
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("standalone/") or path.name.startswith("bench"):
            continue  # benchmarks start children on purpose; they never run in the window
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "num_workers":
                offenders.append(f"{rel}: num_workers=")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("multiprocessing", "subprocess") for n in names):
                    offenders.append(f"{rel}: imports {', '.join(n for n in names if n)}")
    assert offenders == ["__main__.py: imports multiprocessing"], offenders
