"""Exact resume: a training process killed hard after epoch 2 and resumed ends with the same weights.

The killed run is a real child process that ends itself with ``os._exit(1)`` right after
epoch 2's ``last.pt`` is written (no cleanup, no ``finally`` blocks, status.json still
says "running"), as a crash or ``kill -9`` would leave it. The child imports this module
for :func:`job`, so parent and child build the model and data the same way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.engine.boring import same_weights, weights
from workbench.core.adapt import adapt_graph
from workbench.core.templates import make_project
from workbench.data.base import Split
from workbench.data.prepared import Prepared, TensorData
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.compiler import compile_graph
from workbench.engine.trainer import Callback, TrainConfig, Trainer, seed_everything

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
TIMING = ("epoch_seconds", "samples_per_s")


def save_dataset(path: Path) -> Path:
    """A small deterministic 3-class dataset on disk (what the child reads)."""
    g = torch.Generator().manual_seed(123)
    x = torch.randn(120, 8, generator=g)
    y = (x[:, :3] * torch.tensor([1.0, -1.0, 0.5])).argmax(1)
    torch.save({"x": x, "y": y}, path)
    return path


def noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Training augmentation that draws from the shuffle generator."""
    return x + 0.05 * torch.randn(x.shape, generator=generator)


def build(data_path: str | Path) -> tuple[torch.nn.Module, Prepared]:
    """The MLP template (with dropout) fitted to the dataset, initialised from SEED."""
    d = torch.load(data_path, weights_only=True)
    x, y = d["x"], d["y"]
    prepared = Prepared(
        "classification",
        ["a", "b", "c"],
        (8,),
        "float32",
        1,
        Split(np.arange(96), np.arange(96, 120), np.arange(0)),
        TensorData(x[:96], y[:96], augment=noise),
        TensorData(x[96:], y[96:]),
        TensorData(x[:0], y[:0]),
    )
    graph = make_project("mlp").graph
    adapt_graph(graph, (8,), "float32", "classification", 3)
    seed_everything(SEED)
    return compile_graph(graph), prepared


def config(epochs: int, schedule: str = "cosine") -> TrainConfig:
    """SGD with Nesterov momentum, warm-up and a schedule: plenty of state to get wrong."""
    return TrainConfig(
        epochs=epochs,
        batch_size=16,
        optimizer="sgd",
        momentum=0.9,
        nesterov=True,
        lr=0.05,
        weight_decay=1e-4,
        schedule=schedule,
        warmup_epochs=1,
        step_size=2,
        device="cpu",
        cpu_threads=1,
        seed=SEED,
    )


class KillAfter(Callback):
    """Ends the process at once when the given epoch's last.pt has been written."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        if kind == "last" and trainer.epoch == self.epoch:
            os._exit(1)


def job(data_path: str, run_dir: str, epochs: int, kill_after: int) -> None:
    """What the child process runs."""
    model, prepared = build(data_path)
    Trainer(model, prepared, config(epochs), [KillAfter(kill_after)], run_dir).fit()


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def without_timing(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def test_a_run_killed_after_epoch_2_resumes_to_the_same_weights(tmp_path: Path) -> None:
    data = save_dataset(tmp_path / "data.pt")
    run = tmp_path / "killed"
    child = run_child(
        f"from tests.engine.test_resume import job; job({str(data)!r}, {str(run)!r}, 5, 2)"
    )
    assert child.returncode == 1, child.stderr
    # what a hard kill leaves behind
    assert json.loads((run / "status.json").read_text())["status"] == "running"
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 2
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2

    model, prepared = build(data)
    resumed = Trainer.from_checkpoint(
        model, prepared, run / "checkpoints" / "last.pt", run_dir=run
    ).fit()
    resumed_weights = weights(model)

    model, prepared = build(data)
    reference = Trainer(model, prepared, config(5), run_dir=tmp_path / "reference").fit()

    assert resumed.epochs_done == reference.epochs_done == 5
    assert same_weights(resumed_weights, weights(model))
    assert same_weights(
        load_checkpoint(run / "checkpoints" / "last.pt")["model"],
        load_checkpoint(tmp_path / "reference" / "checkpoints" / "last.pt")["model"],
    )
    assert without_timing(resumed.history) == without_timing(reference.history)
    assert [
        json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()
    ] == [1, 2, 3, 4, 5]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


def test_training_more_epochs_continues_a_finished_run(tmp_path: Path) -> None:
    data = save_dataset(tmp_path / "data.pt")
    model, prepared = build(data)
    Trainer(model, prepared, config(2, "step"), run_dir=tmp_path / "short").fit()
    model, prepared = build(data)
    more = Trainer.from_checkpoint(
        model,
        prepared,
        tmp_path / "short" / "checkpoints" / "last.pt",
        run_dir=tmp_path / "short",
        epochs=4,
    ).fit()
    continued = weights(model)
    model, prepared = build(data)
    straight = Trainer(model, prepared, config(4, "step")).fit()
    assert more.epochs_done == 4 and same_weights(
        continued, weights(model)
    )  # a step schedule simply carries on
    assert without_timing(more.history) == without_timing(straight.history)


def test_training_more_restarts_a_cosine_that_reached_zero(tmp_path: Path) -> None:
    data = save_dataset(tmp_path / "data.pt")
    model, prepared = build(data)
    first = Trainer(model, prepared, config(2), run_dir=tmp_path / "run").fit()
    model, prepared = build(data)
    more = Trainer.from_checkpoint(
        model,
        prepared,
        tmp_path / "run" / "checkpoints" / "last.pt",
        run_dir=tmp_path / "run",
        epochs=4,
    ).fit()
    lrs = [row["lr"] for row in more.history]
    assert (
        lrs[1] < 0.1 * 0.05 and lrs[2] > 0.5 * 0.05 > lrs[3]
    )  # a fresh cycle over the 2 new epochs
    assert more.history[:2] == first.history


def test_a_checkpoint_for_another_model_is_refused(tmp_path: Path) -> None:
    data = save_dataset(tmp_path / "data.pt")
    model, prepared = build(data)
    Trainer(model, prepared, config(1), run_dir=tmp_path / "run").fit()
    other = torch.nn.Sequential(torch.nn.Linear(8, 3))
    with pytest.raises(Exception, match="does not match the model"):
        Trainer.from_checkpoint(other, prepared, tmp_path / "run" / "checkpoints" / "last.pt").fit()


# --- the command-line path: train_project on real files ------------------------------------

has_arrays = importlib.util.find_spec("workbench.data.arrays") is not None


def train_job(project: str, data: str, epochs: int, kill_after: int) -> None:
    """A child that runs ``workbench train`` and dies after an epoch's checkpoint."""
    from workbench.engine.runs import train_project

    train_project(project, data=data, epochs=epochs, callbacks=[KillAfter(kill_after)])


@pytest.mark.skipif(
    not has_arrays, reason="workbench.data.arrays (the .npz reader) has not landed yet"
)
def test_train_project_resume_after_a_hard_kill(tmp_path: Path) -> None:
    from workbench.core.project import load_project, save_project
    from workbench.engine.runs import find_unfinished_run, runs_root, train_project

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] - x[:, 2] > 0).astype(np.int64))
    project = make_project("mlp")
    project.training = {
        "batch_size": 16,
        "cpu_threads": 1,
        "seed": 3,
        "schedule": "onecycle",
        "device": "cpu",
    }
    save_project(project, tmp_path / "a.wbproj")
    shutil.copy(tmp_path / "a.wbproj", tmp_path / "b.wbproj")

    child = run_child(
        f"from tests.engine.test_resume import train_job; "
        f"train_job({str(tmp_path / 'a.wbproj')!r}, {str(tmp_path / 'd.npz')!r}, 4, 2)"
    )
    assert child.returncode == 1, child.stderr
    unfinished = find_unfinished_run(tmp_path / "a.wbproj")
    assert unfinished is not None and load_checkpoint(unfinished.last)["epoch"] == 2
    assert load_project(tmp_path / "a.wbproj").runs[0]["status"] == "running"

    with pytest.raises(Exception, match="cannot be changed"):
        train_project(tmp_path / "a.wbproj", resume=True, lr=0.1)
    resumed = train_project(tmp_path / "a.wbproj", resume=True, metrics_path=tmp_path / "m.jsonl")
    reference = train_project(tmp_path / "b.wbproj", data=tmp_path / "d.npz", epochs=4)

    assert resumed.resumed and resumed.run_id == unfinished.id and resumed.epochs_done == 4
    assert same_weights(
        load_checkpoint(resumed.run_dir / "checkpoints" / "last.pt")["model"],
        load_checkpoint(reference.run_dir / "checkpoints" / "last.pt")["model"],
    )
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r.get("epoch", r.get("split")) for r in rows] == [1, 2, 3, 4, "test"]
    runs = load_project(tmp_path / "a.wbproj").runs
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["epochs"] == 4
    assert find_unfinished_run(tmp_path / "a.wbproj") is None
    assert runs_root(tmp_path / "a.wbproj") == tmp_path / "a.runs"
