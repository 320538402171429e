"""Crash logs: the traceback goes to a file in the log folder, the user gets one line naming it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core import crashlog


def _raise() -> None:
    raise ValueError("the graph is\nbroken")


def test_a_crash_log_holds_the_traceback_and_the_one_line_names_it() -> None:
    try:
        _raise()
    except ValueError as e:
        line = crashlog.crash_message(e)
    log_dir = Path(os.environ["WORKBENCH_LOG_DIR"])
    logs = list(log_dir.glob("crash-*.log"))
    assert len(logs) == 1
    assert line == f"unexpected error: the graph is broken; the details are in {logs[0]}"
    text = logs[0].read_text(encoding="utf-8")
    assert text.startswith("Model Workbench ") and "command line: " in text
    assert "in _raise" in text and "ValueError: the graph is" in text


def test_old_logs_are_pruned(tmp_path: Path) -> None:
    for i in range(crashlog.KEEP + 5):
        (tmp_path / f"crash-2020010{i:02d}-000000.log").write_text("old", encoding="utf-8")
    path = crashlog.write_crash_log(ValueError, ValueError("x"), None, folder=tmp_path)
    logs = sorted(tmp_path.glob("crash-*.log"))
    assert len(logs) == crashlog.KEEP and path in logs


def test_an_unwritable_log_folder_still_gives_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(blocker / "logs"))  # a folder inside a file
    line = crashlog.crash_message(RuntimeError("boom"))
    assert line.startswith("unexpected error: boom (the crash log could not be written: ")


def test_a_bug_in_a_command_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.cli as cli

    def broken(args: object) -> int:
        raise KeyError("missing")

    monkeypatch.setattr(cli, "cmd_templates", broken)
    assert main(["templates"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("workbench: unexpected error: 'missing'; ")
    log = Path(err[0].rsplit(" ", 1)[-1])
    assert log.parent == Path(os.environ["WORKBENCH_LOG_DIR"]) and "KeyError" in log.read_text(
        encoding="utf-8"
    )
    assert sys.exc_info() == (None, None, None)
