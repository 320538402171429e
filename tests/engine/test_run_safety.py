"""Resume refuses what it cannot trust, and settles what a kill left half-done.

Runs are made with :func:`train_project` on real files (the CLI path); the damage is
then done by hand, as a kill, a disk fault or a person would leave it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.config import TrainError
from workbench.engine.runs import RunDir, find_unfinished_run, train_project


def dead_pid() -> int:
    """The id of a process that has ended."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(out.stdout)


def make(tmp_path: Path, epochs: int = 2) -> tuple[Path, RunDir]:
    """A project trained for ``epochs`` on a small .npz dataset; its run."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] - x[:, 2] > 0).astype(np.int64))
    project = make_project("mlp")
    project.training = {"batch_size": 16, "cpu_threads": 1, "seed": 3, "device": "cpu"}
    path = tmp_path / "a.wbproj"
    save_project(project, path)
    result = train_project(path, data=tmp_path / "d.npz", epochs=epochs)
    return path, RunDir(result.run_dir)


def killed(run: RunDir, path: Path) -> None:
    """Make the run look like its process was killed while it trained."""
    status = run.read_status()
    status.update(status="running", pid=dead_pid())
    run.status_path.write_text(json.dumps(status))
    project = load_project(path)
    project.runs[-1]["status"] = "running"
    save_project(project, path)


# --- item 3: a kill during the first checkpoint write ---------------------------------------


def test_a_run_killed_between_best_and_last_resumes_from_best(tmp_path: Path) -> None:
    path, run = make(tmp_path, epochs=2)
    killed(run, path)
    run.last.unlink()  # best.pt was written, the copy to last.pt was not
    assert find_unfinished_run(path) is not None
    result = train_project(path, resume=True, epochs=3)
    assert result.resumed and result.run_id == run.id and result.epochs_done == 3
    assert load_checkpoint(run.last)["epoch"] == 3
    assert load_project(path).runs[-1]["status"] == "finished"


def test_a_run_killed_before_any_checkpoint_is_marked_failed(tmp_path: Path) -> None:
    path, run = make(tmp_path, epochs=1)
    killed(run, path)
    run.last.unlink()
    run.best.unlink()
    with pytest.raises(TrainError, match="interrupted before its first checkpoint") as info:
        train_project(path, resume=True)
    assert "\n" not in str(info.value)
    assert run.read_status()["status"] == "failed"
    entry = load_project(path).runs[-1]
    assert entry["status"] == "failed" and entry["message"] == "interrupted before its first checkpoint"
    with pytest.raises(TrainError, match="no unfinished run"):  # settled once and for all
        train_project(path, resume=True)


def test_a_live_run_without_a_checkpoint_is_left_alone(tmp_path: Path) -> None:
    import os

    path, run = make(tmp_path, epochs=1)
    killed(run, path)
    status = run.read_status()
    status["pid"] = os.getppid()  # alive
    run.status_path.write_text(json.dumps(status))
    run.last.unlink()
    run.best.unlink()
    with pytest.raises(TrainError, match="still training"):
        train_project(path, resume=True)
    assert run.read_status()["status"] == "running"
