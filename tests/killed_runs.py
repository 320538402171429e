"""Runs that look killed: a recorded run whose process has ended while its status says running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from workbench.core.project import load_project, save_project
from workbench.engine.runs import RunDir


def dead_pid() -> int:
    """The id of a process that has ended."""
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def killed(run: RunDir, path: Path) -> None:
    """Make the project's last run look like its process was killed while it trained."""
    status = run.read_status()
    status.update(status="running", pid=dead_pid())
    run.status_path.write_text(json.dumps(status))
    project = load_project(path)
    project.runs[-1]["status"] = "running"
    save_project(project, path)
