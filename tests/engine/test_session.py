"""One training session for the command line and the window: set up, trained, recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.engine.boring import Recorder
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.data import open_dataset
from workbench.data.link import (
    default_settings,
    fit_model_to_data,
    settings_from_project,
    store_settings,
)
from workbench.engine.config import TrainConfig
from workbench.engine.evaluation.run import TestEvaluation
from workbench.engine.session import continued_session, new_session, record_run
from workbench.engine.tensorboard_log import TensorBoardLogger
from workbench.engine.trainer import BestWeights, EarlyStopping, ModelCheckpoint, RunRecorder


def make(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    project = make_project("mlp")
    path = tmp_path / "a.wbproj"
    source = open_dataset(tmp_path / "d.npz", None)
    settings = default_settings(source, None)
    fit_model_to_data(project.graph, source, settings)
    store_settings(project, settings, path)
    save_project(project, path)
    return path


def test_a_new_session_trains_records_and_continues(tmp_path: Path) -> None:
    path = make(tmp_path)
    project = load_project(path)
    settings = settings_from_project(project, path)
    assert settings is not None
    lines: list[str] = []
    config = TrainConfig(epochs=2, batch_size=16, cpu_threads=1, device="cpu")
    rec = Recorder()
    session = new_session(path, project.graph, settings, config, [rec], log=lines.append)
    kinds = [type(cb) for cb in session.trainer.callbacks]
    assert kinds == [
        BestWeights,
        EarlyStopping,
        TestEvaluation,
        RunRecorder,
        TensorBoardLogger,
        ModelCheckpoint,
        Recorder,
    ]
    assert session.run.read_meta() == {"number": 1}
    assert config.seed is not None and lines[0] == "Reading d.npz…"
    record_run(path, session.run, session.start_entry())
    assert load_project(path).runs[-1]["status"] == "running"
    result = session.fit()
    record_run(path, session.run, session.entry())
    entry = load_project(path).runs[-1]
    assert entry["id"] == session.run.id and entry["status"] == "finished" and entry["epochs"] == 2
    assert entry["monitor"] == result.monitor and "final" in entry and "started" in entry

    more = continued_session(path, session.run, session.run.last, more_epochs=1)
    assert more.continued and more.fit().epochs_done == 3
    assert "started" not in more.entry() and more.start_entry()["status"] == "running"
