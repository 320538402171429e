"""Evaluating runs: the test split at the end of every run, and any run on any split on demand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.data.test_images import corrupt_inside
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.data import open_dataset
from workbench.data.link import default_settings, fit_model_to_data, store_settings
from workbench.engine.evaluation.result import EvaluationCancelled, EvaluationError
from workbench.engine.evaluation.run import NO_TEST_SPLIT, evaluate_run
from workbench.engine.runs import RunDir, train_project
from workbench.engine.session import continued_session
from workbench.engine.trainer import Callback, Trainer
from workbench.export import service


def arrays_project(tmp_path: Path, test_ratio: float = 0.15, n: int = 80) -> Path:
    """An MLP on a small learnable array dataset (two classes), stored as a project."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    project = make_project("mlp")
    path = tmp_path / "a.wbproj"
    source = open_dataset(tmp_path / "d.npz", None)
    settings = default_settings(source, None)
    settings.test_ratio = test_ratio
    fit_model_to_data(project.graph, source, settings)
    store_settings(project, settings, path)
    project.training.update(batch_size=16, cpu_threads=1, device="cpu", seed=0)
    save_project(project, path)
    return path


def split_size(path: Path, which: str) -> int:
    from workbench.data.link import settings_from_project

    settings = settings_from_project(load_project(path), path)
    assert settings is not None
    return len(getattr(open_dataset(settings.path).split(settings), which))


def test_every_run_ends_with_its_best_weights_evaluated_on_the_test_split(tmp_path: Path) -> None:
    path = arrays_project(tmp_path)
    result = train_project(path, epochs=2)
    test = result.test
    assert test is not None and test["split"] == "test"
    assert test["num_samples"] == split_size(path, "test") > 0
    assert test["checkpoint"] == "best.pt" and test["weights_epoch"] == result.best_epoch
    assert 0 <= test["accuracy"] <= 1 and "roc_auc" in test and "log_loss" in test

    run = RunDir(result.run_dir)
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert [row.get("epoch") for row in lines[:-1]] == [1, 2]
    assert lines[-1] == test  # the last line of metrics.jsonl
    assert [row["epoch"] for row in run.read_metrics()] == [1, 2]  # readers see the epochs
    assert run.read_test_metrics() == test
    full = run.read_test()
    assert full["confusion_matrix"] and set(full["per_class"]) == {"0", "1"}
    assert run.read_status()["message"].endswith(f"on {test['num_samples']} test samples")
    assert load_project(path).runs[-1]["test"] == test  # the project's runs entry

    # the export reads the best epoch's row, not the test line
    assert service.load_trained(path).metrics["epoch"] == result.best_epoch

    # on demand: the same weights on the same split give the same figures, sample by sample
    evaluation = evaluate_run(path, split="test", device="cpu")
    assert evaluation.run == result.run_id and evaluation.checkpoint == "best.pt"
    assert evaluation.to_json_dict()["accuracy"] == test["accuracy"]
    assert evaluation.record()["log_loss"] == pytest.approx(test["log_loss"])
    settings = open_dataset(tmp_path / "d.npz")
    from workbench.data.link import settings_from_project

    data_settings = settings_from_project(load_project(path), path)
    assert data_settings is not None
    assert evaluation.ids == settings.split(data_settings).test.tolist()  # indices into x


def test_continuing_a_run_evaluates_it_again_with_one_test_line(tmp_path: Path) -> None:
    path = arrays_project(tmp_path)
    first = train_project(path, epochs=2)
    run = RunDir(first.run_dir)
    more = continued_session(path, run, run.last, more_epochs=1)
    result = more.fit()
    assert result.test is not None and result.test["num_samples"] > 0
    lines = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert [row.get("epoch") for row in lines] == [1, 2, 3, None]
    assert lines[-1]["split"] == "test"
    assert more.start_entry()["test"] is None  # the old figures are cleared while it trains
    assert more.entry()["test"] == result.test


class StopInEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, trainer: Trainer, batch: int, loss: Any) -> None:
        if trainer.current_epoch == self.epoch:
            trainer.request_stop()


def test_a_stopped_run_is_evaluated_with_its_best_checkpoint(tmp_path: Path) -> None:
    path = arrays_project(tmp_path)
    result = train_project(path, epochs=5, callbacks=[StopInEpoch(2)])
    assert result.status == "stopped"
    assert result.test is not None and result.test["weights_epoch"] == 1
    assert result.test["num_samples"] == split_size(path, "test")
    assert RunDir(result.run_dir).read_test_metrics() == result.test


def test_a_dataset_without_a_test_split_says_so(tmp_path: Path) -> None:
    path = arrays_project(tmp_path, test_ratio=0.0)
    result = train_project(path, epochs=1)
    assert result.test == {"split": "test", "num_samples": 0, "note": NO_TEST_SPLIT}
    run = RunDir(result.run_dir)
    assert run.read_test_metrics() is None and not run.test_path.exists()
    assert NO_TEST_SPLIT in run.read_status()["message"]
    assert load_project(path).runs[-1]["test"]["note"] == NO_TEST_SPLIT
    with pytest.raises(EvaluationError, match=r"d\.npz has no test split \(its test ratio is 0\)"):
        evaluate_run(path, device="cpu")
    val = evaluate_run(path, split="val", device="cpu")
    assert val.split == "val" and val.num_samples == split_size(path, "val")


def test_one_line_errors(tmp_path: Path) -> None:
    path = arrays_project(tmp_path)
    with pytest.raises(EvaluationError, match="no trained run to evaluate"):
        evaluate_run(path, device="cpu")
    result = train_project(path, epochs=1)
    with pytest.raises(EvaluationError, match="has no run 'nope'"):
        evaluate_run(path, "nope", device="cpu")
    with pytest.raises(EvaluationError, match="unknown split 'dev'"):
        evaluate_run(path, split="dev", device="cpu")
    with pytest.raises(EvaluationError, match="unknown device 'tpu'"):
        evaluate_run(path, device="tpu")
    best = RunDir(result.run_dir).best
    data = bytearray(best.read_bytes())
    data[len(data) // 2] ^= 0xFF
    best.write_bytes(bytes(data))
    with pytest.raises(EvaluationError, match="damaged") as info:
        evaluate_run(path, device="cpu")
    assert "\n" not in str(info.value)


def test_cancelling_stops_between_batches(tmp_path: Path) -> None:
    path = arrays_project(tmp_path, test_ratio=0.5)
    train_project(path, epochs=1)
    steps: list[str] = []
    done: list[tuple[int, int]] = []

    def progress(n: int, total: int) -> None:
        if steps and steps[-1].startswith("Evaluating"):
            done.append((n, total))

    with pytest.raises(EvaluationCancelled):
        evaluate_run(
            path,
            device="cpu",
            batch_size=4,
            progress=progress,
            cancelled=lambda: bool(done),
            log=steps.append,
        )
    assert len(done) == 1 and done[0][0] == 4 < done[0][1]


# --- image folders: streamed, a sample that fails to decode keeps the others' ids -------------


def shaded_folder(root: Path, per_class: int = 12) -> Path:
    """Dark and light noisy images, one folder per class."""
    rng = np.random.default_rng(0)
    for name, value in (("dark", 30), ("light", 200)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = (value + rng.integers(0, 40, (24, 24, 3))).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(root / name / f"{i:02d}.png")
    return root


def test_an_image_split_is_streamed_and_a_broken_file_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shaded_folder(tmp_path / "shaded")
    project = tmp_path / "l.wbproj"
    from workbench.cli import main

    assert main(["new", "--template", "lenet", str(project)]) == 0
    result = train_project(
        project, data=folder, epochs=1, batch_size=8, seed=0, device="cpu", lr=0.01
    )
    assert result.test is not None and result.test["num_samples"] == 4  # 15 % of 12, per class
    # after training, damage the pixels of a test image of the first class (its header stays
    # intact, so the scan still counts it and the split stays the same: found only when decoded)
    from workbench.data.link import settings_from_project

    settings = settings_from_project(load_project(project), project)
    assert settings is not None
    source = open_dataset(folder)
    test_files = [source.files[i] for i in source.split(settings).test]
    broken = test_files[0]
    corrupt_inside(Path(broken))

    # the split is streamed with the run's recorded preprocessing: nothing is prepared
    # whole, and only the split's files are decoded
    from workbench.data import image_pipeline
    from workbench.data.images import ImageSource

    def no_prepare(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an image split must be streamed, not prepared whole")

    decoded: list[str] = []
    real = image_pipeline.decode_image

    def counting(src: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(str(src))
        return real(src, *args, **kwargs)

    monkeypatch.setattr(ImageSource, "prepare", no_prepare)
    monkeypatch.setattr(image_pipeline, "decode_image", counting)
    evaluation = evaluate_run(project, device="cpu", batch_size=2)
    assert sorted(decoded) == sorted(test_files)
    assert evaluation.num_samples == len(test_files) - 1 and broken not in evaluation.ids
    assert sorted(evaluation.ids) == sorted(f for f in test_files if f != broken)
    for sample, true in zip(evaluation.ids, evaluation.y_true, strict=True):
        assert Path(sample).parent.name == evaluation.labels[int(true)]  # ids match their labels
    assert any("could not be decoded" in note for note in evaluation.notes)
    assert any("dataset changed" in note for note in evaluation.notes)


def test_an_evaluation_on_the_cpu_uses_the_threads_the_run_trained_with(tmp_path: Path) -> None:
    import torch

    path = arrays_project(tmp_path)  # trains with cpu_threads=1
    train_project(path, epochs=1)
    before = torch.get_num_threads()
    seen: list[int] = []
    try:
        torch.set_num_threads(3)
        evaluate_run(
            path,
            split="val",
            device="cpu",
            progress=lambda *_: seen.append(torch.get_num_threads()),
        )
        # the last progress call comes after the last batch (the earlier ones may be the
        # dataset being read)
        assert seen[-1] == 1 and torch.get_num_threads() == 3  # and put back afterwards
    finally:
        torch.set_num_threads(before)


def test_per_sample_rows_fill_one_array_in_order() -> None:
    import torch

    from workbench.engine.evaluation.run import _Rows

    rows = _Rows(5)
    rows.add(torch.arange(6, dtype=torch.float32).reshape(3, 2))
    rows.add(np.array([[6.0, 7.0], [8.0, 9.0]], dtype=np.float32))
    assert rows.array is not None and rows.array.shape == (5, 2)  # made once, for the split
    first = rows.array
    assert rows.values().tolist() == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    rows.add(torch.tensor([[10.0, 11.0]]))  # more than announced still fits
    assert rows.values()[-1].tolist() == [10, 11] and rows.array is not first

    fewer = _Rows(4)  # a streamed split whose broken images were left out
    fewer.add(np.array([3, 1]))
    assert fewer.values().tolist() == [3, 1]
