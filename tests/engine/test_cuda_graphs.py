"""The training step captured in a CUDA graph (issue #13).

Everywhere: the capture decision (which settings and models train eagerly, and why) and the
trainer's plumbing around a graph, with a stand-in for CUDA's capture and replay that runs
on the CPU. The stand-in does what a CUDA graph does to the run's state: the capture runs
nothing; each replay starts from gradients that are written rather than added to, and
must find the very tensors the capture saw (parameters, the learning-rate tensors the
schedule updates in place, the static input and target). It fails loudly where the
trainer would break a real graph (a replaced tensor, a rate that is a plain number).

On a CUDA GPU (``needs_cuda``): graphed runs against eager ones for every optimizer and
schedule, bf16, clipping and the L1 penalty, batch norm with a partial last batch,
streamed batches, stop/pause/resume, and a graphed run resuming an eager one and back.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from tests.engine.boring import Recorder, make_prepared
from workbench.engine import train_step
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.config import OPTIMIZER_SPECS, TrainConfig, TrainError
from workbench.engine.train_step import (
    WARMUP_STEPS,
    EagerStep,
    Forward,
    GraphedForward,
    GraphedStep,
    StepBody,
    match_optimizer_state,
    model_blocks_capture,
    plan_step,
)
from workbench.engine.trainer import Callback, ProgressBar, Trainer, seed_everything

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CPU = torch.device("cpu")
GRAPH_OPTIMIZERS = [n for n, s in OPTIMIZER_SPECS.items() if s.graph_settings is not None]


# --- a stand-in for CUDA graphs on the CPU --------------------------------------------------


class FakeGraphs:
    """Capture records what it is given without running it; replay runs it, as a graph would.

    Each replay first checks that the tensors a real graph captured by address are still
    the same objects: the parameters and (for a training step) every group's learning-rate
    tensor, which the schedule must update in place.
    """

    def __init__(self, fail: str | None = None, fail_forward: str | None = None) -> None:
        self.fail, self.fail_forward = fail, fail_forward
        self.warmups = 0
        self.captures = 0
        self.replays = 0
        self.forward_captures = 0
        self.forward_replays = 0

    @contextlib.contextmanager
    def warmup(self) -> Iterator[None]:
        self.warmups += 1
        yield

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        forward = "GraphedForward" in fn.__qualname__
        if forward and self.fail_forward:
            raise RuntimeError(self.fail_forward)
        if not forward and self.fail:
            raise RuntimeError(self.fail)
        owner = next(o for o in reversed(_capturing) if isinstance(o, GraphedForward) == forward)
        model = owner.model if isinstance(owner, GraphedForward) else owner.body.model
        params = [id(p) for p in model.parameters()]
        lrs: list[Any] = []
        if isinstance(owner, GraphedStep):
            lrs = [g["lr"] for g in owner.body.optimizer.param_groups]
            assert all(isinstance(lr, torch.Tensor) for lr in lrs), (
                "a captured step needs the rate as a tensor"
            )
            self.captures += 1
        else:
            assert not model.training and not torch.is_grad_enabled()
            self.forward_captures += 1

        def replay() -> None:
            assert [id(p) for p in model.parameters()] == params, "a parameter was replaced"
            if isinstance(owner, GraphedStep):
                groups = owner.body.optimizer.param_groups
                assert all(g["lr"] is lr for g, lr in zip(groups, lrs, strict=True)), (
                    "the learning rate was replaced rather than updated in place"
                )
                self.replays += 1
            else:
                assert not model.training, "validation replayed in training mode"
                self.forward_replays += 1
            fn()

        return replay


_capturing: list[GraphedStep | GraphedForward] = []


@pytest.fixture
def fake_graphs(monkeypatch: pytest.MonkeyPatch) -> FakeGraphs:
    """Make the CPU count as able to capture, with :class:`FakeGraphs` as the backend."""
    fake = FakeGraphs()
    monkeypatch.setattr(train_step, "graphs_available", lambda device: True)
    monkeypatch.setattr(train_step, "make_graph_backend", lambda device: fake)
    for cls in (GraphedStep, GraphedForward):
        monkeypatch.setattr(cls, "__init__", _remembered(cls.__init__))
    return fake


def _remembered(init: Callable[..., None]) -> Callable[..., None]:
    def remember(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _capturing.append(self)

    return remember


def mlp(features: int = 4, classes: int = 2, extra: nn.Module | None = None) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(features, 16)]
    if extra is not None:
        layers.append(extra)
    layers += [nn.ReLU(), nn.Linear(16, classes)]
    return nn.Sequential(*layers)


def train(
    graphs: str,
    model_fn: Callable[[], nn.Module] = mlp,
    callbacks: tuple[Callback, ...] = (),
    run_dir: Path | None = None,
    n_train: int = 90,
    n_val: int = 20,
    **options: Any,
) -> tuple[Trainer, Recorder]:
    """Train from seed 0 with CUDA graphs ``graphs``; returns the trainer and its recorder."""
    seed_everything(0)
    prepared = make_prepared(n_train=n_train, n_val=n_val)
    model = model_fn()
    config = dict(epochs=3, batch_size=16, lr=0.05, device="cpu", cuda_graphs=graphs, seed=0)
    config.update(options)
    rec = Recorder()
    trainer = Trainer(model, prepared, TrainConfig(**config), [rec, *callbacks], run_dir)
    trainer.fit()
    return trainer, rec


def losses(rec: Recorder) -> torch.Tensor:
    return torch.stack([loss.float() for loss in rec.losses])


def weights(trainer: Trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in trainer.model.parameters()])


# --- the decision -----------------------------------------------------------------------------


def test_the_plan_by_device_and_mode() -> None:
    model = mlp()
    auto_cpu = plan_step(TrainConfig(), CPU, model)
    assert not auto_cpu.graphs and not auto_cpu.tell  # nothing to say on a CPU under auto
    on_cpu = plan_step(TrainConfig(cuda_graphs="on"), CPU, model)
    assert not on_cpu.graphs and on_cpu.tell
    assert on_cpu.log_line() == "eager: CUDA graphs need a CUDA GPU; this run trains on cpu"
    off = plan_step(TrainConfig(cuda_graphs="off"), CPU, model)
    assert off.reason == "CUDA graphs are off in the training settings" and not off.tell
    assert plan_step(TrainConfig(cuda_graphs="off"), torch.device("cuda"), model).tell


def test_the_plan_falls_back_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_step, "graphs_available", lambda device: True)
    model = mlp()
    plan = plan_step(TrainConfig(), CPU, model)
    assert plan.graphs and plan.reason == "" and plan.tell
    assert plan.log_line().startswith("training step: captured in a CUDA graph")
    fp16 = plan_step(TrainConfig(amp="fp16"), CPU, model)
    assert not fp16.graphs and "fp16" in fp16.reason and "bf16" in fp16.reason
    assert plan_step(TrainConfig(amp="bf16"), CPU, model).graphs
    adagrad = plan_step(TrainConfig(optimizer="adagrad"), CPU, model)
    assert (
        adagrad.log_line() == "eager: torch's Adagrad has no variant that a CUDA graph can capture"
    )
    for name in GRAPH_OPTIMIZERS:
        assert plan_step(TrainConfig(optimizer=name), CPU, model).graphs, name
    assert set(OPTIMIZER_SPECS) - set(GRAPH_OPTIMIZERS) == {"adagrad"}
    for settings in (dict(grad_clip=1.0), dict(l1=1e-4), dict(schedule="onecycle")):
        assert plan_step(TrainConfig(**settings), CPU, model).graphs, settings


def test_models_that_cannot_be_captured_say_which_layer() -> None:
    assert model_blocks_capture(mlp()) == ""
    assert model_blocks_capture(mlp(extra=nn.BatchNorm1d(16))) == ""
    cumulative = mlp(extra=nn.BatchNorm1d(16, momentum=None))
    assert model_blocks_capture(cumulative) == (
        "the layer 1 averages its batch statistics cumulatively, reading a counter on the CPU every step"
    )
    sparse = nn.Sequential(nn.Embedding(10, 4, sparse=True), nn.Flatten(), nn.Linear(4, 2))
    assert "sparse gradients" in model_blocks_capture(sparse)
    assert "the layer 0" in model_blocks_capture(sparse)


@pytest.mark.parametrize("template", ["mlp", "lenet", "resnet", "rnn", "gru", "transformer"])
def test_no_template_is_refused_before_trying(template: str) -> None:
    from workbench.core.templates import make_project
    from workbench.engine.compiler import compile_graph

    assert model_blocks_capture(compile_graph(make_project(template).graph)) == ""


class HostReads(TorchDispatchMode):
    """Records the operators that make the host wait for the device (which a CUDA graph's
    capture refuses): reading a value (``item``, ``bool``), data-dependent shapes."""

    WAITS = frozenset(
        {
            "aten._local_scalar_dense",
            "aten.nonzero",
            "aten.masked_select",
            "aten.unique",
            "aten._unique2",
            "aten.unique_consecutive",
            "aten.equal",
            "aten.is_nonzero",
            "aten.repeat_interleave",
        }
    )

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = str(func.overloadpacket)
        if name in self.WAITS:
            self.found.add(name)
        return func(*args, **(kwargs or {}))


class NoStep(torch.optim.SGD):
    """An optimizer whose step does nothing: torch's own capturable steps run only on CUDA."""

    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        return None


@pytest.mark.parametrize("template", ["mlp", "lenet", "resnet", "rnn", "gru", "transformer"])
def test_no_template_step_or_validation_makes_the_host_wait(template: str) -> None:
    """What the graphs capture besides the optimizer (forward, loss, L1 penalty, backward,
    clipping; validation's forward and loss) reads no value back on the host."""
    from workbench.engine.bench_gpu import TemplateData
    from workbench.engine.optim import l1_penalty

    data = TemplateData(template, 8, CPU, 0)
    model = data.model(0)
    loss_fn = nn.CrossEntropyLoss() if data.classes is not None else nn.MSELoss()
    params = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in params if p.dim() >= 2]
    body = StepBody(
        model,
        NoStep(params, lr=0.1),
        loss_fn,
        "cpu",
        None,
        1e-4,
        lambda: l1_penalty(weights),
        1.0,
        params,
    )
    model.train()
    with HostReads() as reads:
        body(data.x, data.y)
    assert reads.found == set(), template
    model.eval()
    forward = Forward(model, loss_fn, "cpu")
    with torch.inference_mode(), HostReads() as reads:
        forward(data.x, data.y)
    assert reads.found == set(), template


def test_on_refuses_a_model_it_cannot_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_step, "graphs_available", lambda device: True)
    with pytest.raises(
        TrainError,
        match="CUDA graphs are on, but torch's Adagrad .*: set CUDA graphs to auto or off",
    ):
        train("on", optimizer="adagrad")
    trainer, _ = train("auto", optimizer="adagrad", epochs=1)
    assert trainer.step_mode == "eager" and "Adagrad" in trainer.step_reason
    assert trainer.notes[-1].startswith("eager: torch's Adagrad")


def test_an_optimizer_this_torch_cannot_make_capturable_trains_eagerly(
    fake_graphs: FakeGraphs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.engine import optim

    real = optim.make_optimizer

    def refuse(params: Any, config: TrainConfig, fused: bool = True, graph: bool = False) -> Any:
        if graph:
            raise TypeError("__init__() got an unexpected keyword argument 'capturable'")
        return real(params, config, fused)

    monkeypatch.setattr("workbench.engine.trainer.make_optimizer", refuse)
    trainer, _ = train("auto", epochs=1)
    assert trainer.status == "finished" and trainer.step_mode == "eager"
    assert trainer.step_reason == (
        "torch could not make adam capturable "
        "(__init__() got an unexpected keyword argument 'capturable')"
    )
    assert fake_graphs.captures == 0 and fake_graphs.forward_captures == 0
    with pytest.raises(TrainError, match="CUDA graphs are on, but torch could not make adam"):
        train("on", epochs=1)


def test_on_without_a_gpu_trains_eagerly_and_says_so() -> None:
    out = io.StringIO()
    trainer, _ = train("on", callbacks=(ProgressBar(out),), epochs=1)
    assert trainer.status == "finished" and trainer.step_mode == "eager"
    assert "note: eager: CUDA graphs need a CUDA GPU; this run trains on cpu" in out.getvalue()
    assert isinstance(trainer._step, EagerStep)


# --- the trainer around a graph (the CPU stand-in) --------------------------------------------


@pytest.mark.parametrize("optimizer", GRAPH_OPTIMIZERS)
def test_a_graphed_run_matches_an_eager_one_for_every_optimizer(
    optimizer: str, fake_graphs: FakeGraphs
) -> None:
    options = dict(optimizer=optimizer, weight_decay=1e-3, momentum=0.5, n_val=70)
    eager, eager_rec = train("off", **options)
    graphed, graphed_rec = train("auto", **options)
    assert graphed.step_mode == "graph" and graphed.step_reason == ""
    step = graphed._step
    assert isinstance(step, GraphedStep)
    # 90 samples in batches of 16: 5 full batches and a partial one per epoch
    assert fake_graphs.captures == 1 and fake_graphs.warmups == WARMUP_STEPS + 1  # + validation
    assert step.replayed == 3 * 5 - WARMUP_STEPS and step.eager_steps == WARMUP_STEPS + 3
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))
    torch.testing.assert_close(weights(graphed), weights(eager))
    # validation, 70 samples in batches of 32: the first batch eager (warm-up), the second
    # captured, then replayed; the partial one eager
    assert fake_graphs.forward_captures == 1 and fake_graphs.forward_replays == 1 + 2 + 2
    for key in ("val_loss", "val_accuracy", "val_f1"):
        assert [r[key] for r in graphed.history] == pytest.approx([r[key] for r in eager.history])


@pytest.mark.parametrize(
    "schedule",
    [
        dict(schedule="cosine", warmup_epochs=1),
        dict(schedule="onecycle"),
        dict(schedule="step", step_size=1, step_gamma=0.5),
        dict(schedule="exponential", exp_gamma=0.7),
        dict(schedule="plateau", plateau_patience=0, plateau_factor=0.5),
    ],
)
def test_learning_rate_schedules_update_the_captured_rate_in_place(
    schedule: dict[str, Any], fake_graphs: FakeGraphs
) -> None:
    eager, eager_rec = train("off", epochs=4, **schedule)
    graphed, graphed_rec = train("auto", epochs=4, **schedule)
    assert fake_graphs.replays > 10
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))
    assert [r["lr"] for r in graphed.history] == pytest.approx([r["lr"] for r in eager.history])
    assert [r["lr"] for r in graphed.history] == [r["lr"] for r in eager.history]
    if schedule["schedule"] != "plateau":  # (the loss keeps improving here)
        assert len({r["lr"] for r in graphed.history}) > 1  # the rate did change
    assert isinstance(graphed.optimizer.param_groups[0]["lr"], torch.Tensor)  # type: ignore[union-attr]


def test_clipping_the_l1_penalty_dropout_and_batch_norm_inside_the_graph(
    fake_graphs: FakeGraphs,
) -> None:
    def model() -> nn.Module:
        return nn.Sequential(
            nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2)
        )

    options = dict(grad_clip=0.5, l1=1e-3, n_train=81)  # 81 = 5 × 16 + 1: batch norm drops the 1
    eager, eager_rec = train("off", model, **options)
    graphed, graphed_rec = train("auto", model, **options)
    assert graphed.drop_last and fake_graphs.replays == 3 * 5 - WARMUP_STEPS
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))
    torch.testing.assert_close(
        graphed.model.state_dict()["1.running_var"], eager.model.state_dict()["1.running_var"]
    )


def test_an_augmented_image_folder_and_early_stopping_in_a_graphed_run(
    fake_graphs: FakeGraphs, tmp_path: Path
) -> None:
    from PIL import Image

    from workbench.core.templates import make_project
    from workbench.data import open_dataset
    from workbench.data.link import default_settings, fit_model_to_data
    from workbench.engine.compiler import compile_graph

    for k, cls in enumerate(("dark", "light")):
        (tmp_path / cls).mkdir()
        for i in range(30):
            Image.new("L", (20, 20), 30 + 180 * k + i).save(tmp_path / cls / f"{i}.png")
    source = open_dataset(tmp_path)
    settings = default_settings(source)
    settings.augment.hflip = True  # drawn per batch from the split's own generator
    graph = make_project("lenet").graph
    fit_model_to_data(graph, source, settings)

    def run(graphs: str) -> tuple[Trainer, Recorder]:
        seed_everything(0)
        prepared = source.prepare(settings)
        rec = Recorder()
        config = TrainConfig(
            epochs=8, batch_size=8, device="cpu", cuda_graphs=graphs, seed=0, lr=0.01
        )
        config.early_stop, config.patience = True, 1
        trainer = Trainer(compile_graph(graph), prepared, config, [rec])
        trainer.fit()
        return trainer, rec

    eager, eager_rec = run("off")
    graphed, graphed_rec = run("auto")
    assert graphed.step_mode == "graph" and fake_graphs.replays > 0
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))
    assert graphed.epoch == eager.epoch and graphed.stopped_early == eager.stopped_early


def test_a_failed_capture_goes_on_eagerly_and_says_why(
    fake_graphs: FakeGraphs, tmp_path: Path
) -> None:
    fake_graphs.fail = "operation not permitted when stream is capturing\nmore detail"
    out = io.StringIO()
    eager, eager_rec = train("off")
    graphed, graphed_rec = train("auto", callbacks=(ProgressBar(out),), run_dir=tmp_path / "run")
    reason = (
        "capturing the training step in a CUDA graph failed "
        "(operation not permitted when stream is capturing)"
    )
    assert graphed.status == "finished"
    assert graphed.step_mode == "eager" and graphed.step_reason == reason
    assert graphed.notes[-1] == f"eager: {reason}"
    assert out.getvalue().count(f"note: eager: {reason}") == 1
    config = (tmp_path / "run" / "config.json").read_text()
    assert reason in config
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_a_failed_validation_capture_goes_on_eagerly(mode: str, fake_graphs: FakeGraphs) -> None:
    fake_graphs.fail_forward = "not capturable"
    eager, _ = train("off")
    graphed, _ = train(mode)
    assert graphed.status == "finished" and graphed.step_mode == "graph"
    note = "eager validation: capturing validation in a CUDA graph failed (not capturable)"
    assert graphed.notes.count(note) == 1
    assert [r["val_loss"] for r in graphed.history] == pytest.approx(
        [r["val_loss"] for r in eager.history]
    )


def test_a_failed_capture_under_on_fails_the_run(fake_graphs: FakeGraphs) -> None:
    fake_graphs.fail = "cudaErrorStreamCaptureUnsupported"
    with pytest.raises(TrainError, match=r"CUDA graphs are on, but capturing .*failed \(cudaError"):
        train("on")


def test_a_non_finite_loss_in_a_graphed_run_is_reported_as_in_an_eager_one(
    fake_graphs: FakeGraphs,
) -> None:
    with pytest.raises(TrainError) as eager_error:
        train("off", lr=100, momentum=0.99, epochs=20, optimizer="sgd", n_train=600)
    with pytest.raises(TrainError) as graphed_error:
        train("auto", lr=100, momentum=0.99, epochs=20, optimizer="sgd", n_train=600)
    assert str(graphed_error.value) == str(eager_error.value)
    assert "became" in str(graphed_error.value)


def test_the_windows_log_gets_a_failed_capture_once(
    fake_graphs: FakeGraphs, tmp_path: Path
) -> None:
    from tests.engine.test_session import make
    from workbench.core.project import load_project
    from workbench.data.link import settings_from_project
    from workbench.engine.job import TrainJob
    from workbench.engine.run_progress import RunProgress

    fake_graphs.fail = "captures are not allowed here"
    path = make(tmp_path)
    project = load_project(path)
    config = TrainConfig(epochs=2, batch_size=16, cpu_threads=1, device="cpu")
    job = TrainJob(
        path, config, graph=project.graph.copy(), settings=settings_from_project(project, path)
    )
    outcome = job.run(lambda done, total: None, lambda: False)
    assert outcome.status == "finished", outcome.message
    progress = RunProgress()
    lines = [line for event in job.feed.take() for line in progress.apply(event)]
    start = next(i for i, line in enumerate(lines) if line.startswith("Note: training step"))
    failed = [
        i
        for i, line in enumerate(lines)
        if line.startswith("Note: eager: capturing the training step")
    ]
    assert len(failed) == 1 and failed[0] > start
    assert "(captures are not allowed here)" in lines[failed[0]]


class StopAt(Callback):
    def __init__(self, batch: int, pause: bool = False) -> None:
        self.at, self.pause = batch, pause
        self.paused_seen = False

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        if trainer.global_step != self.at:
            return
        if not self.pause:
            trainer.request_stop()
            return
        trainer.request_pause()

        def resume_when_paused() -> None:
            self.paused_seen = trainer.wait_paused(30)
            trainer.resume()

        threading.Thread(target=resume_when_paused, daemon=True).start()


def test_stop_and_pause_at_batch_boundaries_in_a_graphed_run(fake_graphs: FakeGraphs) -> None:
    stopped, rec = train("auto", callbacks=(StopAt(9),))
    assert stopped.status == "stopped" and stopped.global_step == 9 and len(rec.losses) == 9
    assert stopped.message.startswith("stopped at epoch 2, batch 3")
    pause = StopAt(9, pause=True)
    paused, paused_rec = train("auto", callbacks=(pause,))
    plain, plain_rec = train("off")
    assert pause.paused_seen and paused.status == "finished"
    torch.testing.assert_close(losses(paused_rec), losses(plain_rec))


@pytest.mark.parametrize(("first", "then"), [("auto", "off"), ("off", "auto"), ("auto", "auto")])
def test_graphed_and_eager_runs_resume_each_other_exactly(
    first: str, then: str, fake_graphs: FakeGraphs, tmp_path: Path
) -> None:
    options = dict(optimizer="nadam", schedule="cosine", epochs=4)
    whole, _ = train("off", **options)
    run = tmp_path / "run"
    half, _ = train(first, callbacks=(StopAtEpoch(2),), run_dir=run, **options)
    assert half.status == "stopped"
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 2
    group = state["optimizer"]["param_groups"][0]
    assert isinstance(group["lr"], float) and isinstance(group["initial_lr"], float)
    seed_everything(0)
    resumed = Trainer.from_checkpoint(
        mlp(), make_prepared(n_train=90, n_val=20), run / "checkpoints" / "last.pt", run_dir=run
    )
    resumed.config.cuda_graphs = then
    resumed.fit()
    assert resumed.epoch == 4 and resumed.step_mode == ("graph" if then == "auto" else "eager")
    torch.testing.assert_close(weights(resumed), weights(whole))
    assert [r["train_loss"] for r in resumed.history] == pytest.approx(
        [r["train_loss"] for r in whole.history]
    )


def test_train_more_captures_again_and_matches_eager(fake_graphs: FakeGraphs) -> None:
    eager, eager_rec = train("off", epochs=2)
    graphed, graphed_rec = train("auto", epochs=2)
    for trainer in (eager, graphed):
        trainer.extend(2)
        trainer.fit()
        assert trainer.epoch == 4
    assert fake_graphs.captures == 2  # a new optimizer: captured again
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec))
    torch.testing.assert_close(weights(graphed), weights(eager))
    assert sum(note.startswith("training step: captured") for note in graphed.notes) == 1


class StopAtEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if metrics["epoch"] == self.epoch:
            trainer.request_stop()


def test_step_counters_move_to_where_the_optimizer_keeps_them() -> None:
    model = nn.Linear(3, 2)
    opt = torch.optim.NAdam(model.parameters(), foreach=False)
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    state = opt.state[model.weight]
    assert state["step"].device.type == "cpu"
    opt.param_groups[0]["capturable"] = True
    match_optimizer_state(opt)  # the CPU is the parameters' device here: nothing to move
    assert state["step"].dtype == torch.float32
    state["step"] = torch.tensor(3.0, dtype=torch.float64)
    match_optimizer_state(opt)
    assert state["step"].dtype == torch.float32 and float(state["step"]) == 3.0


# --- on a CUDA GPU ------------------------------------------------------------------------------


def cuda_train(
    graphs: str, model_fn: Callable[[], nn.Module] = mlp, **options: Any
) -> tuple[Trainer, Recorder]:
    options.setdefault("device", "cuda")
    return train(graphs, model_fn, **options)


@needs_cuda
@pytest.mark.parametrize("optimizer", GRAPH_OPTIMIZERS)
def test_cuda_graphed_losses_match_eager_for_every_optimizer(optimizer: str) -> None:
    options = dict(optimizer=optimizer, weight_decay=1e-3, momentum=0.5, n_train=200, n_val=100)
    eager, eager_rec = cuda_train("off", **options)
    graphed, graphed_rec = cuda_train("on", **options)
    assert graphed.step_mode == "graph", graphed.step_reason
    assert isinstance(graphed._step, GraphedStep) and graphed._step.replayed > 20
    forward = graphed._forward
    assert isinstance(forward, GraphedForward) and forward.mode == "graph", forward.reason
    assert forward.replayed >= 2
    for key in ("val_loss", "val_accuracy"):
        assert [r[key] for r in graphed.history] == pytest.approx(
            [r[key] for r in eager.history], rel=1e-4, abs=1e-5
        )
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weights(graphed).cpu(), weights(eager).cpu(), rtol=1e-4, atol=1e-5)


@needs_cuda
@pytest.mark.parametrize(
    "schedule",
    [
        dict(schedule="cosine", warmup_epochs=1),
        dict(schedule="onecycle"),
        dict(schedule="step", step_size=1, step_gamma=0.5),
        dict(schedule="plateau", plateau_patience=0, plateau_factor=0.5),
    ],
)
def test_cuda_graphed_losses_match_eager_for_every_schedule(schedule: dict[str, Any]) -> None:
    eager, eager_rec = cuda_train("off", epochs=4, n_train=200, **schedule)
    graphed, graphed_rec = cuda_train("on", epochs=4, n_train=200, **schedule)
    assert graphed.step_mode == "graph", graphed.step_reason
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec), rtol=1e-4, atol=1e-5)
    assert [r["lr"] for r in graphed.history] == pytest.approx([r["lr"] for r in eager.history])


@needs_cuda
def test_cuda_graphs_with_bf16_clipping_l1_batch_norm_and_a_partial_batch() -> None:
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")

    def model() -> nn.Module:
        return nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))

    options = dict(amp="bf16", grad_clip=0.5, l1=1e-4, n_train=201)
    eager, eager_rec = cuda_train("off", model, **options)
    graphed, graphed_rec = cuda_train("on", model, **options)
    assert graphed.step_mode == "graph", graphed.step_reason
    torch.testing.assert_close(losses(graphed_rec), losses(eager_rec), rtol=2e-2, atol=2e-2)
    fp16, _ = cuda_train("auto", amp="fp16", epochs=1)
    assert fp16.step_mode == "eager" and "fp16" in fp16.step_reason


@needs_cuda
def test_cuda_graphs_with_dropout_and_streamed_batches() -> None:
    seed_everything(0)
    prepared = make_prepared(n_train=256, n_val=64)
    config = TrainConfig(epochs=3, batch_size=32, device="cuda", cuda_graphs="on", lr=0.05)
    trainer = Trainer(mlp(extra=nn.Dropout(0.2)), prepared, config)
    trainer._place = lambda data: (data, True)  # type: ignore[method-assign]  # per-batch pinned copies
    result = trainer.fit()
    assert result.status == "finished" and trainer.step_mode == "graph", trainer.step_reason
    assert math.isfinite(result.final["train_loss"])
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


@needs_cuda
def test_cuda_graphs_stop_pause_and_resume_each_other(tmp_path: Path) -> None:
    stopped, rec = cuda_train("on", callbacks=(StopAt(9),))
    assert stopped.status == "stopped" and len(rec.losses) == 9
    pause = StopAt(9, pause=True)
    paused, paused_rec = cuda_train("on", callbacks=(pause,))
    assert pause.paused_seen and paused.status == "finished"
    whole, _ = cuda_train("off", epochs=4, n_train=200)
    for first, then in (("on", "off"), ("off", "on")):
        run = tmp_path / f"{first}-{then}"
        half, _ = cuda_train(first, callbacks=(StopAtEpoch(2),), run_dir=run, epochs=4, n_train=200)
        assert half.status == "stopped"
        seed_everything(0)
        resumed = Trainer.from_checkpoint(
            mlp(),
            make_prepared(n_train=200, n_val=20),
            run / "checkpoints" / "last.pt",
            run_dir=run,
        )
        resumed.config.cuda_graphs = then
        resumed.fit()
        assert resumed.step_mode == ("graph" if then == "on" else "eager")
        torch.testing.assert_close(
            weights(resumed).cpu(), weights(whole).cpu(), rtol=1e-4, atol=1e-5
        )


@needs_cuda
@pytest.mark.parametrize("template", ["mlp", "lenet", "resnet", "rnn", "gru", "transformer"])
def test_every_template_trains_with_cuda_graphs_or_says_why(template: str) -> None:
    from workbench.engine.bench_gpu import TemplateData

    data = TemplateData(template, 512, torch.device("cuda"), 0)
    config = TrainConfig(epochs=2, batch_size=64, device="cuda", cuda_graphs="auto", seed=0)
    trainer = Trainer(data.model(0), data.prepared(), config)
    result = trainer.fit()
    assert result.status == "finished" and math.isfinite(result.final["train_loss"])
    print(f"{template}: {trainer.step_mode} {trainer.step_reason}")  # shown with -s / -rA
    if trainer.step_mode == "graph":
        assert isinstance(trainer._step, GraphedStep) and trainer._step.replayed > 0
    else:
        assert trainer.step_reason.startswith("capturing the training step")
