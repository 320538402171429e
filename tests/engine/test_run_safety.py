"""Resume refuses what it cannot trust, and settles what a kill left half-done.

Runs are made with :func:`train_project` on real files (the CLI path); the damage is
then done by hand, as a kill, a disk fault or a person would leave it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.killed_runs import killed
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.config import TrainError
from workbench.engine.runs import RunDir, find_unfinished_run, train_project


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
    assert (
        entry["status"] == "failed"
        and entry["message"] == "interrupted before its first checkpoint"
    )
    with pytest.raises(TrainError, match="no unfinished run"):  # settled once and for all
        train_project(path, resume=True)


def test_a_new_run_settles_a_run_killed_before_any_checkpoint(tmp_path: Path) -> None:
    path, run = make(tmp_path, epochs=1)
    killed(run, path)
    run.last.unlink()
    run.best.unlink()
    train_project(path, epochs=1)  # a new run, not a resume: the killed one is no longer "running"
    entries = {e["id"]: e for e in load_project(path).runs}
    assert entries[run.id]["status"] == "failed"
    assert entries[run.id]["message"] == "interrupted before its first checkpoint"
    assert run.read_status()["status"] == "failed"
    assert list(entries.values())[-1]["status"] == "finished"


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


# --- item 2: resume trusts only what it recorded ---------------------------------------------


def zero_middle(path: Path, size: int = 200_000) -> None:
    """Overwrite ``size`` bytes in the middle of a file with zeros (a disk fault)."""
    data = bytearray(path.read_bytes())
    n = min(size, len(data) // 4)
    start = (len(data) - n) // 2
    data[start : start + n] = bytes(n)
    path.write_bytes(bytes(data))


def test_a_damaged_last_checkpoint_is_refused_and_best_is_offered(tmp_path: Path) -> None:
    from workbench.engine.runs import ResumeRefused

    path, run = make(tmp_path, epochs=2)
    killed(run, path)
    zero_middle(run.last)
    with pytest.raises(
        ResumeRefused, match=r"checkpoint last\.pt is damaged \(checksum mismatch\)"
    ) as info:
        train_project(path, resume=True)
    assert "\n" not in str(info.value) and info.value.run_id == run.id
    assert info.value.weights == run.best  # intact: a new run can start from it


def test_a_changed_dataset_file_is_refused(tmp_path: Path) -> None:
    from workbench.engine.runs import ResumeRefused

    path, run = make(tmp_path, epochs=2)
    killed(run, path)
    d = dict(np.load(tmp_path / "d.npz"))
    d["y"][:10] = 1 - d["y"][:10]
    np.savez(tmp_path / "d.npz", **d)
    with pytest.raises(
        ResumeRefused,
        match="the dataset changed since this run started: the file's contents changed",
    ) as info:
        train_project(path, resume=True)
    assert info.value.weights == run.last


def test_a_run_recorded_without_checksums_or_fingerprint_still_resumes(tmp_path: Path) -> None:
    path, run = make(tmp_path, epochs=2)
    killed(run, path)
    (run.checkpoints / "sha256.json").unlink()
    run.fingerprint_path.unlink()
    assert train_project(path, resume=True, epochs=3).epochs_done == 3


def test_a_kill_between_the_checksum_and_the_checkpoint_leaves_it_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.engine import checkpoint as ck

    target = tmp_path / "checkpoints" / "last.pt"
    ck.save_checkpoint({"model": {}, "epoch": 1}, target)

    def killed_write(path: object, write: object) -> None:
        raise KeyboardInterrupt  # the process dies before the rename

    monkeypatch.setattr(ck, "atomic_write", killed_write)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint({"model": {}, "epoch": 2}, target)
    monkeypatch.undo()
    assert ck.load_checkpoint(target)["epoch"] == 1  # the old file still matches a recorded sum


def test_a_new_run_starts_from_the_weights_of_an_old_one(tmp_path: Path) -> None:
    from workbench.engine.trainer import Callback, Trainer

    path, run = make(tmp_path, epochs=2)
    old = load_checkpoint(run.last)["model"]
    seen: dict[str, object] = {}

    class Look(Callback):
        def on_fit_start(self, trainer: Trainer) -> None:
            seen.update({k: v.clone() for k, v in trainer.model.state_dict().items()})

    result = train_project(path, from_run=run.id, epochs=1, callbacks=[Look()])
    assert result.run_id != run.id and result.epochs_done == 1
    assert all(bool((seen[k] == v).all()) for k, v in old.items())
    config = json.loads((result.run_dir / "config.json").read_text())
    assert config["from_run"] == {"run": run.id, "checkpoint": "last.pt", "epoch": 2}
    assert load_project(path).runs[-1]["from_run"]["run"] == run.id
    with pytest.raises(TrainError, match="no run 'nope'"):
        train_project(path, from_run="nope")
