"""The training loop: hook order, stop and pause, failures, early stopping, run records, devices."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.engine.boring import BoringModel, Recorder, make_prepared, same_weights, weights
from workbench.data.prepared import Prepared
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.devices import DeviceError, default_cpu_threads, list_devices, resolve_device
from workbench.engine.trainer import (
    Callback,
    MetricsLogger,
    ProgressBar,
    TrainConfig,
    Trainer,
    TrainError,
    evaluate,
    seed_everything,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def boring_trainer(
    callbacks: list[Callback] | None = None, run_dir: Path | None = None, **config: Any
) -> Trainer:
    """2 epochs of 3 batches (12 samples, batches of 4) unless told otherwise."""
    config.setdefault("epochs", 2)
    config.setdefault("batch_size", 4)
    config.setdefault("device", "cpu")
    config.setdefault("cpu_threads", 1)
    seed_everything(0)
    return Trainer(BoringModel(), make_prepared(), TrainConfig(**config), callbacks or [], run_dir)


# --- hooks -------------------------------------------------------------------------------


def test_hook_order_for_two_epochs_of_three_batches() -> None:
    rec = Recorder()
    result = boring_trainer([rec]).fit()
    epoch = ["batch_end 0", "batch_end 1", "batch_end 2", "validation_start", "validation_end"]
    assert rec.calls == [
        "fit_start",
        "epoch_start 1",
        *epoch,
        "epoch_end 1",
        "epoch_start 2",
        *epoch,
        "epoch_end 2",
        "fit_end finished",
    ]
    assert result.status == "finished" and result.epochs_done == 2


def test_hook_order_with_a_run_folder_puts_checkpoints_before_epoch_end(tmp_path: Path) -> None:
    rec = Recorder()
    boring_trainer([rec], tmp_path / "run", lr=0.05).fit()
    first = rec.calls.index("epoch_end 1")
    assert rec.calls[first - 3 : first + 1] == [
        "validation_end",
        "checkpoint best",
        "checkpoint last",
        "epoch_end 1",
    ]
    second = rec.calls.index("epoch_end 2")
    assert rec.calls[second - 1] == "checkpoint last"
    assert rec.calls[-1] == "fit_end finished"


def test_on_batch_end_gets_the_loss_as_a_detached_tensor() -> None:
    rec = Recorder()
    boring_trainer([rec]).fit()
    assert len(rec.losses) == 6
    assert all(
        isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in rec.losses
    )
    # the epoch's train_loss is the sample-weighted mean of its batch losses (all batches have 4 samples)
    assert rec.rows[0]["train_loss"] == pytest.approx(
        float(torch.stack(rec.losses[:3]).mean()), rel=1e-6
    )


def test_the_base_callback_hooks_do_nothing() -> None:
    rec = Recorder()
    result = boring_trainer([Callback(), rec]).fit()
    assert result.status == "finished" and rec.calls[-1] == "fit_end finished"


# --- stop and pause ------------------------------------------------------------------------


class StopAt(Callback):
    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        if (trainer.current_epoch, batch) == self.at:
            trainer.request_stop()


def test_stop_ends_within_one_batch_and_keeps_the_best_model(tmp_path: Path) -> None:
    rec = Recorder()
    trainer = boring_trainer([StopAt(2, 0), rec], tmp_path / "run", epochs=5)
    result = trainer.fit()
    assert result.status == "stopped" and result.message.startswith("stopped at epoch 2, batch 1")
    assert rec.calls[-3:] == ["epoch_start 2", "batch_end 0", "fit_end stopped"]
    best = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert best["epoch"] == 1
    # the model is back to the best (only finished) epoch, not the half-trained one
    assert same_weights(weights(trainer.model), best["model"])
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "stopped"


def test_pause_blocks_at_a_batch_boundary_and_resume_continues() -> None:
    rec = Recorder()
    paused_at: list[int] = []

    class PauseOnce(Callback):
        def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
            if trainer.current_epoch == 1 and batch == 1:
                trainer.request_pause()
                paused_at.append(len(rec.calls))

    class CountedWaits(threading.Event):  # the pause loop's checks, counted: no fixed sleep
        def __init__(self) -> None:
            super().__init__()
            self.waits, self.several = 0, threading.Event()

        def wait(self, timeout: float | None = None) -> bool:
            self.waits += 1
            if self.waits >= 5:
                self.several.set()
            return super().wait(timeout)

    trainer = boring_trainer([rec, PauseOnce()])
    trainer._resume_event = checks = CountedWaits()
    checks.set()
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(trainer.fit()))
    worker.start()
    assert trainer.wait_paused(timeout=60)
    calls_while_paused = len(rec.calls)
    assert checks.several.wait(timeout=30)  # the paused loop looked 5 times and stayed paused
    assert trainer.is_paused and len(rec.calls) == calls_while_paused == paused_at[0]
    trainer.resume()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert results[0].status == "finished" and rec.calls.count("batch_end 2") == 2


def test_stop_during_a_pause_ends_the_run() -> None:
    trainer = boring_trainer(epochs=50)

    class PauseFirst(Callback):
        def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
            trainer.request_pause()

    trainer.callbacks.append(PauseFirst())
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(trainer.fit()))
    worker.start()
    assert trainer.wait_paused(timeout=60)
    trainer.request_stop()
    worker.join(timeout=60)
    assert not worker.is_alive()  # a stop ends the pause (it would wait forever otherwise)
    assert results[0].status == "stopped" and results[0].epochs_done == 0


# --- failures ------------------------------------------------------------------------------


class PoisonAfter(Callback):
    """Makes the model's weights NaN after an epoch, so the next epoch's first loss is NaN."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if metrics["epoch"] == self.epoch:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(math.nan)


def test_nan_loss_fails_with_a_clear_message_and_keeps_the_last_good_checkpoint(
    tmp_path: Path,
) -> None:
    rec = Recorder()
    run = tmp_path / "run"
    trainer = boring_trainer([PoisonAfter(2), rec], run, epochs=5)
    with pytest.raises(
        TrainError, match=r"^loss became NaN at epoch 3, batch 1: lower the learning rate"
    ) as info:
        trainer.fit()
    assert "last good checkpoint, epoch 2, is kept" in str(info.value)
    assert rec.calls[-1] == "exception TrainError" and "fit_end" not in " ".join(rec.calls)
    last = load_checkpoint(run / "checkpoints" / "last.pt")
    assert last["epoch"] == 2 and all(torch.isfinite(v).all() for v in last["model"].values())
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and status["message"].startswith(
        "loss became NaN at epoch 3, batch 1"
    )
    assert trainer.status == "failed"


def test_nan_is_caught_within_the_epoch_without_reading_every_batch(tmp_path: Path) -> None:
    rec = Recorder()
    seed_everything(0)
    prepared = make_prepared(n_train=400)
    trainer = Trainer(
        BoringModel(),
        prepared,
        TrainConfig(epochs=3, batch_size=4, device="cpu"),
        [PoisonAfter(1), rec],
    )
    with pytest.raises(TrainError, match="loss became NaN at epoch 2, batch 1"):
        trainer.fit()
    second_epoch = rec.calls[rec.calls.index("epoch_start 2") :]
    assert 0 < sum(c.startswith("batch_end") for c in second_epoch) <= 25  # not all 100 batches


def test_a_model_that_does_not_fit_the_data_fails_before_training() -> None:
    trainer = Trainer(
        BoringModel(features=5), make_prepared(features=4), TrainConfig(epochs=1, device="cpu")
    )
    with pytest.raises(TrainError, match="^the model does not fit the data: mat1 and mat2"):
        trainer.fit()


def test_an_output_with_the_wrong_number_of_classes_is_named() -> None:
    trainer = Trainer(
        BoringModel(outputs=3), make_prepared(classes=2), TrainConfig(epochs=1, device="cpu")
    )
    with pytest.raises(
        TrainError, match="Output gives 3 values per sample but the data has 2 classes"
    ):
        trainer.fit()


def test_an_error_at_run_time_calls_on_exception_and_fails_the_run(tmp_path: Path) -> None:
    class Vanish(Callback):
        def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
            if epoch == 2:
                raise FileNotFoundError(2, "No such file or directory", "img_7.png")

    rec = Recorder()
    with pytest.raises(TrainError, match="a data file could not be read at epoch 2"):
        boring_trainer([Vanish(), rec], tmp_path / "run").fit()
    assert rec.calls[-1] == "exception TrainError"
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "failed"


def test_an_empty_training_split_is_refused() -> None:
    prepared = make_prepared(n_train=0)
    with pytest.raises(TrainError, match="training split is empty"):
        Trainer(BoringModel(), prepared, TrainConfig(device="cpu")).fit()


# --- early stopping ------------------------------------------------------------------------


class ScriptedValidation(Callback):
    """Stands in for a model whose validation loss follows a script (set in on_validation_end)."""

    def __init__(self, losses: list[float]) -> None:
        self.losses = losses
        self.snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        metrics["val_loss"] = self.losses[trainer.current_epoch - 1]

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        self.snapshots[metrics["epoch"]] = weights(trainer.model)


@pytest.mark.parametrize("with_run_dir", [False, True])
def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best(
    tmp_path: Path, with_run_dir: bool
) -> None:
    script = ScriptedValidation([1.0, 0.5, 0.49, 0.6, 0.7, 0.8, 0.9, 1.0])
    trainer = boring_trainer(
        [script],
        tmp_path / "run" if with_run_dir else None,
        epochs=8,
        early_stop=True,
        patience=2,
        min_delta=0.05,
        lr=0.1,
    )
    result = trainer.fit()
    # 0.49 is not better than 0.5 by min_delta, so epoch 2 stays best; epochs 3 and 4 use up the patience
    assert result.epochs_done == 4 and result.stopped_early and result.best_epoch == 2
    assert result.status == "finished" and "stopped early after epoch 4" in result.message
    assert same_weights(weights(trainer.model), script.snapshots[2])
    assert not same_weights(script.snapshots[4], script.snapshots[2])


def test_monitoring_a_metric_to_maximise() -> None:
    class Accuracy(Callback):
        def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
            metrics["val_accuracy"] = [0.5, 0.9, 0.8, 0.7][trainer.current_epoch - 1]

    result = boring_trainer(
        [Accuracy()], epochs=4, early_stop=True, patience=2, monitor="val_accuracy"
    ).fit()
    assert result.best_epoch == 2 and result.epochs_done == 4 and result.best_value == 0.9


def test_monitoring_an_unknown_metric_is_an_error() -> None:
    with pytest.raises(TrainError, match="cannot monitor 'val_r2'"):
        boring_trainer(monitor="val_r2").fit()


# --- the run folder ------------------------------------------------------------------------


def test_run_folder_layout_and_metrics_lines(tmp_path: Path) -> None:
    run = tmp_path / "run"
    boring_trainer(
        run_dir=run, metrics=["accuracy", "top_k_accuracy", "precision", "recall", "f1"], top_k=2
    ).fit()
    names = sorted(p.name for p in run.iterdir())
    assert [n for n in names if not n.startswith("events.out.tfevents.")] == [
        "checkpoints",
        "config.json",
        "metrics.jsonl",
        "status.json",
    ]
    assert len(names) == 5  # and one TensorBoard event file
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
        "sha256.json",
    ]
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in lines] == [1, 2]
    assert list(lines[0]) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_top2_accuracy",
        "val_precision",
        "val_recall",
        "val_f1",
        "lr",
        "epoch_seconds",
        "samples_per_s",
    ]
    assert lines[0]["val_top2_accuracy"] == 1.0  # two classes: the top 2 always hold the answer
    config = json.loads((run / "config.json").read_text())
    assert (
        config["training"]["batch_size"] == 4
        and config["seed"] == 0
        and config["task"] == "classification"
    )
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "finished" and status["epoch"] == 2


def test_regression_rows_report_mae_rmse_and_r2(tmp_path: Path) -> None:
    seed_everything(0)
    prepared = make_prepared("regression", n_train=64, n_val=32, targets=2)
    trainer = Trainer(
        BoringModel(4, 2), prepared, TrainConfig(epochs=3, batch_size=16, lr=0.05, device="cpu")
    )
    result = trainer.fit()
    assert list(result.final)[:6] == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_mae",
        "val_rmse",
        "val_r2",
    ]
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    again = evaluate(
        trainer.model, prepared.val, "regression", ["mae", "rmse", "r2"], prefix="val_"
    )
    for key in ("val_loss", "val_mae", "val_rmse", "val_r2"):
        assert again[key] == pytest.approx(result.final[key], rel=1e-5)
    assert again["val_rmse"] ** 2 == pytest.approx(again["val_loss"], rel=1e-5)  # MSE loss


def test_training_without_validation_data_monitors_the_training_loss() -> None:
    seed_everything(0)
    prepared = make_prepared(n_val=0)
    rec = Recorder()
    result = Trainer(
        BoringModel(), prepared, TrainConfig(epochs=2, batch_size=4, device="cpu"), [rec]
    ).fit()
    assert result.monitor == "train_loss" and "validation_end" not in rec.calls
    assert result.final["val_loss"] is None and result.final["val_accuracy"] is None


def test_metrics_logger_and_progress_bar(tmp_path: Path) -> None:
    out = io.StringIO()
    path = tmp_path / "m.jsonl"
    boring_trainer([MetricsLogger(path), ProgressBar(out)]).fit()
    assert [json.loads(line)["epoch"] for line in path.read_text().splitlines()] == [1, 2]
    text = out.getvalue()
    assert "\r" not in text  # not a terminal: a line per epoch
    assert text.count("epoch 1/2  train_loss") == 1 and "finished 2 epoch(s)" in text


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_in_place_on_a_terminal() -> None:
    out = FakeTty()
    boring_trainer([ProgressBar(out, interval=0.0)]).fit()
    assert "\repoch 1/2 [" in out.getvalue() and "3/3" in out.getvalue()


# --- options, reproducibility, devices -------------------------------------------------------


def test_the_same_seed_gives_the_same_weights_and_another_seed_does_not() -> None:
    def run(seed: int) -> dict[str, torch.Tensor]:
        seed_everything(seed)
        prepared = make_prepared(n_train=40)
        model = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 2)
        )
        trainer = Trainer(
            model,
            prepared,
            TrainConfig(epochs=2, batch_size=8, device="cpu", seed=seed, deterministic=True),
        )
        trainer.fit()
        return weights(trainer.model)

    assert same_weights(run(3), run(3))
    assert not same_weights(run(3), run(4))


def test_global_torch_settings_are_put_back() -> None:
    threads = torch.get_num_threads()
    boring_trainer(deterministic=True, cpu_threads=1).fit()
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize(
    "options",
    [
        {"l1": 1e-3},
        {"grad_clip": 0.5},
        {"weight_decay": 1e-2, "optimizer": "adamw"},
        {"loss": "bce_with_logits"},
        {"label_smoothing": 0.1},
        {"amp": "bf16"},
    ],
)
def test_training_options_run(options: dict[str, Any]) -> None:
    trainer = boring_trainer(**options)
    result = trainer.fit()
    assert result.status == "finished" and math.isfinite(result.final["train_loss"])
    if "amp" in options:  # on the CPU mixed precision is switched off with a note
        assert any("mixed precision" in note for note in trainer.notes)


def test_seed_none_draws_a_seed_and_records_it() -> None:
    trainer = boring_trainer(seed=None)
    assert isinstance(trainer.seed, int) and trainer.config.seed == trainer.seed


def test_devices_list_the_cpu_and_resolve_names() -> None:
    devices = list_devices()
    assert devices[0].id == "cpu" and "cores" in devices[0].label()
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(DeviceError, match="cuda:99"):
        resolve_device("cuda:99")
    assert default_cpu_threads() >= 1


def test_an_unavailable_device_is_a_train_error() -> None:
    with pytest.raises(TrainError, match="cuda:99"):
        boring_trainer(device="cuda:99")


@needs_cuda
def test_one_epoch_on_cuda_with_bf16_autocast_gives_a_finite_loss(tmp_path: Path) -> None:
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    rec = Recorder()
    seed_everything(0)
    prepared = make_prepared(n_train=256, n_val=64)
    trainer = Trainer(
        BoringModel(),
        prepared,
        TrainConfig(epochs=1, batch_size=32, device="cuda", amp="bf16"),
        [rec],
        tmp_path / "run",
    )
    result = trainer.fit()
    assert (
        result.status == "finished"
        and math.isfinite(result.final["train_loss"])
        and math.isfinite(result.final["val_loss"])
    )
    assert rec.losses[0].device.type == "cuda"
    assert next(trainer.model.parameters()).device.type == "cuda"
    assert (
        load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["model"][
            "layer.weight"
        ].device.type
        == "cpu"
    )


@needs_cuda
def test_fp16_with_a_grad_scaler_and_streamed_batches_on_cuda() -> None:
    seed_everything(0)
    prepared = make_prepared(n_train=256, n_val=64)
    trainer = Trainer(
        BoringModel(),
        prepared,
        TrainConfig(epochs=2, batch_size=32, device="cuda", amp="fp16", grad_clip=1.0),
    )
    trainer._place = lambda data: (data, True)  # type: ignore[method-assign]  # force the per-batch pinned copy path
    result = trainer.fit()
    assert result.status == "finished" and math.isfinite(result.final["train_loss"])
    assert trainer.scaler is not None


# --- train more, the benchmark ---------------------------------------------------------------


@pytest.mark.parametrize("restore_best", [False, True])
def test_extend_continues_a_finished_trainer_in_memory(restore_best: bool) -> None:
    def prepared_and_model() -> tuple[Any, torch.nn.Module]:
        seed_everything(0)
        return make_prepared(n_train=24), torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2)
        )

    options = dict(
        batch_size=4, lr=0.2, schedule="step", step_size=1, device="cpu", restore_best=restore_best
    )
    # epoch 1 is the best, so with restore_best the model ends on epoch 1's weights; more epochs must still
    # continue from epoch 2's
    script = [ScriptedValidation([0.1, 1.0, 1.0, 1.0])]
    prepared, model = prepared_and_model()
    trainer = Trainer(model, prepared, TrainConfig(epochs=2, **options), script)
    trainer.fit()
    assert trainer.best_epoch == 1
    trainer.extend(2)
    more = trainer.fit()
    prepared, model = prepared_and_model()
    straight_trainer = Trainer(model, prepared, TrainConfig(epochs=4, **options), script)
    straight = straight_trainer.fit()

    def strip(h):
        return [
            {k: v for k, v in row.items() if k not in ("epoch_seconds", "samples_per_s")}
            for row in h
        ]

    assert more.epochs_done == 4 and strip(more.history) == strip(straight.history)
    assert same_weights(weights(trainer.model), weights(straight_trainer.model))


def test_extend_needs_a_finished_trainer() -> None:
    trainer = boring_trainer()
    with pytest.raises(TrainError, match="has not trained yet"):
        trainer.extend(1)
    trainer.fit()
    with pytest.raises(TrainError, match="at least one more epoch"):
        trainer.extend(0)


def test_the_trainer_uses_fused_optimizer_kernels_on_the_cpu() -> None:
    trainer = boring_trainer(optimizer="adam")
    trainer.fit()
    assert trainer.optimizer is not None and trainer.optimizer.param_groups[0]["fused"] is True
    rms = boring_trainer(optimizer="rmsprop")
    rms.fit()
    assert rms.optimizer is not None and not rms.optimizer.param_groups[0].get("fused")


def test_the_training_benchmark_reports_both_loops() -> None:
    from workbench.engine.bench_train import format_train_results, run_train_benchmark

    lines: list[str] = []
    threads = torch.get_num_threads()
    results = run_train_benchmark(
        samples=512, batch_size=128, epochs=1, rounds=1, threads=1, progress=lines.append
    )
    assert results["workbench_samples_per_s"] > 0 and results["plain_samples_per_s"] > 0
    assert results["ratio"] == pytest.approx(
        results["workbench_samples_per_s"] / results["plain_samples_per_s"], rel=1e-3
    )
    assert len(lines) == 1 and "ratio" in format_train_results(results)
    assert torch.get_num_threads() == threads


class BreaksWhileTraining(torch.nn.Module):
    """Fits the data in eval mode but fails like a shape error on the last, smaller training batch."""

    def __init__(
        self,
        error: type[Exception] = RuntimeError,
        message: str = "mat1 and mat2 shapes cannot be multiplied (2x4 and 5x2)",
    ) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)
        self.error, self.text = error, message

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 2:
            raise self.error(self.text)
        return self.layer(x)


def test_a_shape_error_at_run_time_names_epoch_and_batch() -> None:
    prepared = make_prepared(n_train=14)  # batches of 4, 4, 4, 2
    trainer = Trainer(
        BreaksWhileTraining(), prepared, TrainConfig(epochs=2, batch_size=4, device="cpu")
    )
    with pytest.raises(
        TrainError, match=r"^the model does not fit the data \(at epoch 1, batch 4\): mat1 and mat2"
    ):
        trainer.fit()
    assert trainer.status == "failed"


def test_out_of_memory_asks_for_a_smaller_batch() -> None:
    model = BreaksWhileTraining(
        torch.OutOfMemoryError, "CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    trainer = Trainer(
        model, make_prepared(n_train=14), TrainConfig(epochs=1, batch_size=4, device="cpu")
    )
    with pytest.raises(
        TrainError,
        match=r"^out of memory on cpu at epoch 1, batch 4: lower the batch size \(now 4\)",
    ):
        trainer.fit()


# --- train_project: what `workbench train` runs --------------------------------------------------

has_tables = importlib.util.find_spec("workbench.data.tables") is not None
needs_tables = pytest.mark.skipif(
    not has_tables, reason="workbench.data.tables (the CSV reader) has not landed yet"
)


def regression_csv(path: Path, rows: int = 200) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.5 + 0.1 * rng.normal(size=rows)
    lines = ["a,b,c,target"] + [
        f"{a:.5f},{b:.5f},{c:.5f},{t:.5f}" for (a, b, c), t in zip(x, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def new_project(path: Path, template: str = "mlp", **training: Any) -> Path:
    from workbench.core.project import save_project
    from workbench.core.templates import make_project

    project = make_project(template)
    project.training = {"device": "cpu", "cpu_threads": 1, **training}
    save_project(project, path)
    return path


@needs_tables
def test_train_project_end_to_end_on_a_csv(tmp_path: Path) -> None:
    from workbench.core.project import load_project
    from workbench.engine.runs import list_runs, train_project

    csv = regression_csv(tmp_path / "data.csv")
    project = new_project(tmp_path / "reg.wbproj", lr=0.01, batch_size=16)
    result = train_project(
        project, data=csv, target="target", epochs=3, metrics_path=tmp_path / "m.jsonl"
    )
    assert result.status == "finished" and result.epochs_done == 3 and not result.resumed
    assert any("regression" in note for note in result.notes)  # the Output was fitted to the data
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert list(lines[0]) == [
        "epoch",
        "train_loss",
        "val_loss",
        "val_mae",
        "val_rmse",
        "val_r2",
        "lr",
        "epoch_seconds",
        "samples_per_s",
    ]
    saved = load_project(project)
    assert (
        saved.dataset is not None
        and saved.dataset["path"] == "data.csv"
        and saved.dataset["target"] == "target"
    )
    assert saved.runs[-1]["id"] == result.run_id and saved.runs[-1]["status"] == "finished"
    assert saved.runs[-1]["path"] == f"reg.runs/{result.run_id}"
    assert [r.id for r in list_runs(project)] == [result.run_id]
    config = json.loads((result.run_dir / "config.json").read_text())
    assert (
        config["data"]["target"] == "target"
        and config["graph"]["nodes"]
        and config["training"]["epochs"] == 3
    )
    # the second time the project knows its dataset
    again = train_project(project, epochs=1, lr=0.001, optimizer="sgd", batch_size=8, seed=5)
    assert again.status == "finished" and len(load_project(project).runs) == 2


@needs_tables
def test_train_project_errors_are_one_line_train_errors(tmp_path: Path) -> None:
    from workbench.core.project import load_project, save_project
    from workbench.engine.runs import train_project

    project = new_project(tmp_path / "p.wbproj")
    with pytest.raises(TrainError, match=r"^p.wbproj has no dataset: pass --data PATH"):
        train_project(project)
    with pytest.raises(TrainError, match="missing.csv: no such file"):
        train_project(project, data=tmp_path / "missing.csv")
    with pytest.raises(TrainError, match="no such file"):
        train_project(tmp_path / "nope.wbproj")
    csv = regression_csv(tmp_path / "d.csv")
    with pytest.raises(TrainError, match="unknown optimizer 'lion'"):
        train_project(project, data=csv, target="target", optimizer="lion")
    assert load_project(project).dataset is None  # a command that fails changes nothing
    with pytest.raises(TrainError, match="no unfinished run"):
        train_project(project, resume=True)
    # a model edited after the data was attached
    train_project(project, data=csv, target="target", epochs=1)
    p = load_project(project)
    out = p.graph.of_type("Output")[0]
    p.graph.set_params(out.id, {"task": "regression", "num_targets": 3})
    save_project(p, project)
    with pytest.raises(
        TrainError, match="Output gives 3 values per sample but the data has 1 target"
    ):
        train_project(project, epochs=1)
    assert load_project(project).runs[-1]["status"] == "failed"


def _large_regression(standardize: bool) -> tuple[Prepared, torch.Tensor, torch.Tensor]:
    """House prices in currency: targets around 300,000 with a spread of 80,000."""
    from workbench.data.base import target_scale

    prep = make_prepared("regression", n_train=400, n_val=100, features=4, seed=3)
    for part in (prep.train, prep.val):
        part.y = part.y * 80_000 + 300_000  # type: ignore[attr-defined]
    if standardize:
        prep.preprocessing["target_scale"] = target_scale(prep.train.y.numpy())  # type: ignore[attr-defined]
    return prep, prep.val.x, prep.val.y  # type: ignore[attr-defined]


def test_regression_targets_of_any_size_train_alike_and_metrics_stay_in_their_units() -> None:
    from workbench.engine.metrics import compute_metrics

    results = {}
    for standardize in (False, True):
        prep, xv, yv = _large_regression(standardize)
        model = BoringModel(4, 1)
        config = TrainConfig(
            epochs=30, batch_size=32, lr=0.01, seed=0, device="cpu", restore_best=False
        )
        result = Trainer(model, prep, config).fit()
        results[standardize] = result.final
        if standardize:
            scale = prep.preprocessing["target_scale"]
            with torch.no_grad():
                pred = model.eval()(xv) * scale["std"][0] + scale["mean"][0]
            expected = compute_metrics(pred, yv, "regression", ["mae", "rmse", "r2"], prefix="val_")
            # MAE and RMSE in currency, computed from the de-standardized outputs
            assert result.final["val_mae"] == pytest.approx(expected["val_mae"], rel=1e-4)
            assert result.final["val_rmse"] == pytest.approx(expected["val_rmse"], rel=1e-4)
            again = evaluate(
                model, prep.val, "regression", ["mae"], preprocessing=prep.preprocessing
            )
            assert again["mae"] == pytest.approx(expected["val_mae"], rel=1e-4)
    # raw targets this large barely move in 30 epochs; standardized ones are learned
    assert results[False]["val_r2"] < 0.0
    assert results[True]["val_r2"] > 0.95
