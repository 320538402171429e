"""The trainer on image data, whose in-memory split stores raw pixels (not model input)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from workbench.core.templates import make_project
from workbench.data import open_dataset
from workbench.data.link import default_settings, fit_model_to_data
from workbench.engine.compiler import compile_graph
from workbench.engine.config import TrainConfig
from workbench.engine.trainer import Trainer


def test_lenet_trains_on_an_image_folder(tmp_path: Path) -> None:
    for k, cls in enumerate(("dark", "light")):
        (tmp_path / cls).mkdir()
        for i in range(12):
            Image.new("L", (20, 20), 30 + 180 * k + i).save(tmp_path / cls / f"{i}.png")
    source = open_dataset(tmp_path)
    settings = default_settings(source)
    settings.augment.hflip = True
    graph = make_project("lenet").graph
    fit_model_to_data(graph, source, settings)
    prepared = source.prepare(settings)
    assert next(iter(prepared.train.iter_batches(4)))[0].dtype.is_floating_point
    result = Trainer(
        compile_graph(graph), prepared, TrainConfig(epochs=2, batch_size=8, device="cpu")
    ).fit()
    assert result.status == "finished" and result.epochs_done == 2
    assert 0.0 <= result.final["val_accuracy"] <= 1.0
