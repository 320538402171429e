"""The training loop: pure Python + torch, reporting through callbacks whose hooks do nothing by default.

A :class:`Trainer` trains a compiled model on :class:`~workbench.data.prepared.Prepared`
data. Stop and pause are flags that anyone (a GUI thread, a callback, Ctrl-C handling)
may set; the loop checks them at batch boundaries. Nothing in the loop waits for the
device per batch: losses stay tensors until the end of the epoch (callbacks that want
numbers may sync themselves), metrics accumulate on the device, and the data is batched
by index from tensors already on the device.

The loop itself only trains, validates and honours the flags. Best-epoch tracking and
restore-best (:class:`BestWeights`), early stopping (:class:`EarlyStopping`) and, with a
``run_dir``, the checkpoints (:class:`ModelCheckpoint`), the run's record
(:class:`RunRecorder`: config.json, metrics.jsonl, status.json) and its TensorBoard curves
(:class:`~workbench.engine.tensorboard_log.TensorBoardLogger`) are callbacks the trainer
puts before the caller's, as is a session's evaluation of the best weights on the test
split when the run ends (:class:`~workbench.engine.evaluation.run.TestEvaluation`). A run
resumed from ``last.pt`` ends with exactly the weights an
uninterrupted run would have (CPU, same seed).

The callbacks live in :mod:`workbench.engine.callbacks` (this module re-exports them);
where the data goes on the device, the check that the model fits the data and the torch
settings a run changes and puts back (threads, determinism) in
:mod:`workbench.engine.placement`; the training step in :mod:`workbench.engine.train_step`.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.core.text import first_line
from workbench.data.prepared import Prepared, SplitData
from workbench.engine import placement, train_step
from workbench.engine.callbacks import (
    BestWeights,
    Callback,
    EarlyStopping,
    MetricsLogger,
    ModelCheckpoint,
    ProgressBar,
    RunRecorder,
)
from workbench.engine.checkpoint import (
    FORMAT,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from workbench.engine.config import TrainConfig, TrainError
from workbench.engine.devices import DeviceError, resolve_device
from workbench.engine.metrics import MetricAccumulator
from workbench.engine.optim import (
    LRSchedule,
    l1_penalty,
    make_loss,
    make_optimizer,
    resolve_loss,
    standardized_loss,
)
from workbench.engine.runs import RunDir
from workbench.engine.train_step import (
    EagerStep,
    Forward,
    GraphedForward,
    GraphedStep,
    StepBody,
    StepPlan,
    match_optimizer_state,
)

#: Batches between checks for a non-finite loss (each check reads one flag from the device).
FINITE_CHECK_EVERY = 25


# --- results and helpers -----------------------------------------------------------------


@dataclass
class FitResult:
    """How a run ended."""

    status: str  # finished, stopped (by request); failures raise TrainError
    message: str
    epochs_done: int
    history: list[dict[str, Any]]
    monitor: str
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    run_dir: Path | None = None
    final: dict[str, Any] = field(default_factory=dict)  # the last epoch's row
    #: The test split's figures (see :class:`~workbench.engine.evaluation.run.TestEvaluation`),
    #: or ``{"split": "test", "num_samples": 0, "note": ...}`` saying why there are none;
    #: None when the trainer does not evaluate the test split.
    test: dict[str, Any] | None = None


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and every GPU); call before building the model."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _NonFinite(Exception):
    def __init__(self, epoch: int, batch: int, value: float, what: str = "loss") -> None:
        super().__init__(f"{what} {value} at epoch {epoch}, batch {batch}")
        self.epoch, self.batch, self.value, self.what = epoch, batch, value, what


class _FiniteWatch:
    """Checks recent batch losses for NaN/inf every few batches without stalling a GPU.

    On the CPU the check is immediate. On CUDA the flag is copied to pinned host memory
    without blocking and read at the next check, when the copy has long finished.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.pending: tuple[torch.Tensor, Any] | None = None

    def reset(self) -> None:
        self.pending = None

    def check(self, window: list[torch.Tensor]) -> bool:
        """True when a non-finite loss was seen (in this window on CPU, an earlier one on CUDA)."""
        bad = ~torch.isfinite(torch.stack(window)).all()
        if not self.cuda:
            return bool(bad)
        found = False
        if self.pending is not None:
            host, event = self.pending
            event.synchronize()
            found = bool(host)
        host = torch.empty((), dtype=torch.bool, pin_memory=True)
        host.copy_(bad, non_blocking=True)
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(self.device))
        self.pending = (host, event)
        return found


_SHAPE_HINTS = (
    "shape",
    "size mismatch",
    "must match the size",
    "Expected input batch_size",
    "expected input",
    "mat1 and mat2",
    "channels",
    "dimension",
    "out of bounds",
    "Target",
    "expected scalar type",
)


# --- the trainer ---------------------------------------------------------------------------


class Trainer:
    """Trains ``model`` on ``prepared`` data as ``config`` says, reporting to ``callbacks``.

    Args:
        model: The model (for example from :func:`~workbench.engine.compiler.compile_graph`).
            Seed with :func:`seed_everything` before building it for a reproducible init.
        prepared: The dataset; its ``train`` split trains and its ``val`` split validates.
        config: Hyperparameters; the defaults when None.
        callbacks: Receive the hooks of :class:`Callback`, in this order, after the
            trainer's own (:class:`BestWeights`, :class:`EarlyStopping` and, with a
            ``run_dir``, the test evaluation when asked for, :class:`RunRecorder`, the TensorBoard curves and
            :class:`ModelCheckpoint`).
        run_dir: Record the run here (config.json, metrics.jsonl, status.json and
            checkpoints/); None keeps everything in memory.
        evaluate_test: With a ``run_dir``, evaluate the best weights on the test split
            when the run ends (:class:`~workbench.engine.evaluation.run.TestEvaluation`);
            every session's run does.

    The run starts with :meth:`fit`. Other threads may call :meth:`request_stop`,
    :meth:`request_pause` and :meth:`resume` while it runs.
    """

    def __init__(
        self,
        model: nn.Module,
        prepared: Prepared,
        config: TrainConfig | None = None,
        callbacks: Sequence[Callback] = (),
        run_dir: str | os.PathLike[str] | None = None,
        *,
        evaluate_test: bool = False,
    ) -> None:
        self.model = model
        self.prepared = prepared
        self.config = config if config is not None else TrainConfig()
        self.config.validate()
        self.run = RunDir(run_dir) if run_dir is not None else None
        # the metrics row and the curves are written before the checkpoints, the status once
        # last.pt is written
        recording: list[Callback] = []
        if self.run is not None:
            from workbench.engine.tensorboard_log import TensorBoardLogger

            recording = [RunRecorder(), TensorBoardLogger(), ModelCheckpoint()]
        if recording and evaluate_test:
            from workbench.engine.evaluation.run import TestEvaluation

            # before the run record, so that the status written at the end includes it
            recording.insert(0, TestEvaluation())
        #: The callbacks in the order their hooks run: the run's own (best weights, early
        #: stopping, the test evaluation, checkpoints, the run record), then the caller's.
        self.callbacks: list[Callback] = [BestWeights(), EarlyStopping(), *recording, *callbacks]
        #: Extra information for the run's config.json (graph, data settings…).
        self.run_info: dict[str, Any] = {}
        try:
            self.device = resolve_device(self.config.device)
        except DeviceError as e:
            raise TrainError(str(e)) from None
        if self.config.seed is None:
            self.config.seed = random.SystemRandom().randrange(2**31)
        self.seed: int = self.config.seed
        # progress, readable from any thread
        self.status = "ready"  # running, finished, stopped, failed
        self.message = ""
        self.epoch = 0  # completed epochs
        self.current_epoch = 0  # the epoch in progress (1-based)
        self.batch = 0  # batches done in the current epoch
        self.phase = "setup"  # setup, train, validate, done
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.stopped_early = False
        self.notes: list[str] = []
        #: The test split's figures once the run ended (see :attr:`FitResult.test`).
        self.test_record: dict[str, Any] | None = None
        #: The test split's :class:`~workbench.engine.evaluation.result.Evaluation`, sample
        #: by sample, once the run ended.
        self.test_evaluation: Any = None
        # built in _setup
        self.optimizer: torch.optim.Optimizer | None = None
        self.schedule: LRSchedule | None = None
        self.scaler: Any = None
        #: Whether the training step is captured in a CUDA graph, and why not (from _setup).
        self.step_plan: StepPlan | None = None
        self._step: EagerStep | GraphedStep | None = None
        self._forward: Forward | None = None
        self.generator = torch.Generator()
        self._pending_state: dict[str, Any] | None = None
        self._extend_to: int | None = None
        #: The state at the last epoch when the model was given the best epoch's weights (for extend()).
        self.last_state: dict[str, Any] | None = None
        # control flags
        self._stop = False
        self._pause = False
        self._resume_event = threading.Event()
        self._resume_event.set()
        self._paused_event = threading.Event()

    # --- control (thread-safe) ------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the run to end at the next batch boundary (it also ends a pause)."""
        self._stop = True
        self._resume_event.set()

    def request_pause(self) -> None:
        """Ask the run to wait at the next batch boundary until :meth:`resume`."""
        self._resume_event.clear()
        self._pause = True

    def resume(self) -> None:
        """Continue a paused run."""
        self._pause = False
        self._resume_event.set()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`request_stop` was called."""
        return self._stop

    @property
    def is_paused(self) -> bool:
        """True while the loop is waiting in a pause."""
        return self._paused_event.is_set()

    def wait_paused(self, timeout: float | None = None) -> bool:
        """Block until the loop is actually paused; False on timeout."""
        return self._paused_event.wait(timeout)

    # --- information -----------------------------------------------------------------------

    @property
    def num_train(self) -> int:
        """Training samples."""
        return len(self.prepared.train)

    @property
    def drop_last(self) -> bool:
        """Drop a final batch of one sample when the model has batch norm (it cannot train on one)."""
        if self._has_batch_norm is None:
            self._has_batch_norm = any(
                isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.model.modules()
            )
        bs = self.config.batch_size
        return self._has_batch_norm and self.num_train > bs and self.num_train % bs == 1

    _has_batch_norm: bool | None = None

    @property
    def batches_per_epoch(self) -> int:
        """Optimizer steps per epoch."""
        n, bs = self.num_train, self.config.batch_size
        return n // bs if self.drop_last else -(-n // bs)

    @property
    def lr(self) -> float:
        """The learning rate in use (of the first parameter group)."""
        if self.optimizer is None:
            return self.config.lr
        lr = self.optimizer.param_groups[0]["lr"]
        if isinstance(lr, torch.Tensor) and self.schedule is not None:
            return float(self.schedule.current_lr)  # a device tensor: no sync to read it
        return float(lr)

    @property
    def step_mode(self) -> str:
        """``graph`` when the training step is replayed as a CUDA graph, else ``eager``."""
        step = self._step
        if step is None:
            plan = self.step_plan
            return "graph" if plan is not None and plan.graphs else "eager"
        return step.mode

    @property
    def step_reason(self) -> str:
        """Why the step is eager (one line), or ``""`` when it is a CUDA graph."""
        step = self._step
        if isinstance(step, GraphedStep) and step.mode == "eager":
            return step.reason
        plan = self.step_plan
        return "" if plan is None or plan.graphs else plan.reason

    @property
    def monitor(self) -> str:
        """The metric that picks the best epoch (``val_loss`` unless configured)."""
        m = self.config.monitor
        if m.startswith("val_") and len(self.prepared.val) == 0:
            return "train_loss"
        return m

    def metric_keys(self) -> list[str]:
        """The keys of a metrics-log row, in order."""
        names = self.config.metric_names(self.prepared.task)
        keys = ["epoch", "train_loss", "val_loss"]
        keys += [
            f"val_top{self.config.top_k}_accuracy" if n == "top_k_accuracy" else f"val_{n}"
            for n in names
        ]
        return [*keys, "lr", "epoch_seconds", "samples_per_s"]

    # --- checkpoints -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly (safe for ``weights_only`` loading)."""
        if self.optimizer is None or self.schedule is None:
            raise TrainError("the trainer has not started; there is no state to save")
        return {
            "format": FORMAT,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizer": _plain_rates(self.optimizer.state_dict()),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_state(self.generator),
            "history": [dict(row) for row in self.history],
            "best": {"monitor": self.monitor, "value": self.best_value, "epoch": self.best_epoch},
            "stopped_early": self.stopped_early,
            "config": self.config.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` output when :meth:`fit` starts."""
        self._pending_state = state

    def save_checkpoint(self, path: str | os.PathLike[str], kind: str = "last") -> Path:
        """Write the full state to ``path`` atomically and tell the callbacks."""
        p = Path(path)
        save_checkpoint(self.state_dict(), p)
        self.call_hook("on_checkpoint", p, kind)
        return p

    def extend(self, more_epochs: int) -> None:
        """Make the next :meth:`fit` train ``more_epochs`` more epochs ("train N more").

        It continues from the end of the last finished epoch (``last.pt`` when the run
        is recorded), not from the best weights the model may hold after the run.
        """
        if not _is_whole(more_epochs) or more_epochs < 1:
            raise TrainError(f"train at least one more epoch (got {more_epochs!r})")
        if self.status == "running":
            raise TrainError("the run is still training")
        if self.optimizer is None:
            raise TrainError("the trainer has not trained yet: call fit() first")
        if self.run is not None and self.run.last.exists():
            state = load_checkpoint(self.run.last)
        elif self.last_state is not None:
            state = self.last_state
        else:
            state = self.state_dict()
        self.config.epochs = int(state["epoch"]) + more_epochs
        self._pending_state, self._extend_to = state, self.config.epochs
        self._stop = self._pause = False
        self._resume_event.set()

    @classmethod
    def from_checkpoint(
        cls,
        model: nn.Module,
        prepared: Prepared,
        path: str | os.PathLike[str],
        callbacks: Sequence[Callback] = (),
        run_dir: str | os.PathLike[str] | None = None,
        epochs: int | None = None,
        device: str | None = None,
        *,
        evaluate_test: bool = False,
        cuda_graphs: str | None = None,
    ) -> Trainer:
        """A trainer that continues the run saved at ``path``.

        Args:
            model: A freshly built model of the same architecture.
            prepared: The same data (same split and preprocessing).
            path: A ``last.pt`` checkpoint.
            callbacks: As for the constructor.
            run_dir: Where the run is recorded (usually ``path``'s run folder).
            epochs: A new total number of epochs: more than the checkpoint's continues a
                finished run ("train N more epochs").
            device: Train on another device than the checkpoint's configuration says.
            evaluate_test: As for the constructor.
            cuda_graphs: Capture the step in a CUDA graph or not (``auto``, ``on``, ``off``)
                instead of as the run did: graphed and eager runs continue each other.
        """
        state = load_checkpoint(path)
        config = TrainConfig.from_dict(state["config"], device=device, cuda_graphs=cuda_graphs)
        done = int(state["epoch"])
        if epochs is not None:
            if epochs < done:
                raise TrainError(f"the run already trained {done} epochs; ask for more than that")
            config.epochs = epochs
        trainer = cls(model, prepared, config, callbacks, run_dir, evaluate_test=evaluate_test)
        trainer.load_state_dict(state)
        if epochs is not None:
            trainer._extend_to = epochs
        return trainer

    # --- the run ---------------------------------------------------------------------------

    def call_hook(self, hook: str, *args: Any) -> None:
        """Call ``hook`` of every callback, in order (a callback without it is skipped:
        one that mirrors :class:`Callback` without subclassing it may lack a newer hook)."""
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, *args)

    def fit(self) -> FitResult:
        """Train until the configured epochs are done, early stopping triggers or a stop is requested.

        Returns:
            How the run ended (finished or stopped).

        Raises:
            TrainError: the run failed (NaN loss, out of memory, a shape error at run
                time, unreadable data…); the model holds the last good checkpoint's
                weights where there is one, and ``last.pt`` is left as it was.
            KeyboardInterrupt: passed on after the run was recorded as stopped.
        """
        self.status, self.message, self.phase = "running", "", "setup"
        with placement.global_settings(self.device, self.config):
            try:
                self._setup()
                self.call_hook("on_fit_start")
                while self.epoch < self.config.epochs and not self._stop and not self.stopped_early:
                    self._run_epoch()
                return self._finish()
            except KeyboardInterrupt as e:
                self._fail(e, "interrupted", status="stopped", convert=False)
                raise
            except _NonFinite as e:
                hint = (
                    f"lower the learning rate (now {self.lr:g}), normalise the inputs, "
                    "or turn on gradient clipping"
                )
                what = "NaN" if math.isnan(e.value) else "infinite"
                where = (
                    f"at epoch {e.epoch}, batch {e.batch}"
                    if e.what == "loss"
                    else f"at epoch {e.epoch}"
                )
                msg = f"{e.what} became {what} {where}: {hint}"
                raise self._fail(e, msg) from e
            except torch.OutOfMemoryError as e:
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                msg = (
                    f"out of memory on {self.device} {self._where()}: "
                    f"lower the batch size (now {self.config.batch_size}) or make the model smaller"
                )
                raise self._fail(e, msg) from e
            except TrainError as e:
                error = self._fail(e, str(e))
                if error is e:
                    raise
                raise error from e
            except (FileNotFoundError, PermissionError) as e:
                raise self._fail(
                    e, f"a data file could not be read {self._where()}: {first_line(e)}"
                ) from e
            except (RuntimeError, ValueError, IndexError, OSError) as e:
                text = first_line(e)
                if any(h.lower() in text.lower() for h in _SHAPE_HINTS):
                    msg = f"the model does not fit the data ({self._where()}): {text}"
                else:
                    msg = f"training failed {self._where()}: {text}"
                raise self._fail(e, msg) from e
            except BaseException as e:  # a programming error: record it, then let it show
                self._fail(
                    e, f"training failed: {type(e).__name__}: {first_line(e)}", convert=False
                )
                raise

    def _where(self) -> str:
        """Where the run is, for messages: ``at epoch 3, batch 17``."""
        if self.phase == "validate":
            return f"while validating epoch {self.current_epoch}"
        if self.phase == "train":
            return f"at epoch {self.current_epoch}, batch {self.batch + 1}"
        if self.phase == "test":
            return "while evaluating the test split"
        return "before training started" if self.phase == "setup" else f"after epoch {self.epoch}"

    def _setup(self) -> None:
        cfg, prep, dev = self.config, self.prepared, self.device
        if len(prep.train) == 0:
            raise TrainError(
                "the training split is empty: lower the validation and test ratios or add data"
            )
        resuming = self._pending_state is not None
        if not resuming:
            seed_everything(self.seed)
            self.generator.manual_seed(self.seed)
        self.model.to(dev)
        self.train_data, self._transfer_train = self._place(prep.train)
        self.val_data, self._transfer_val = self._place(prep.val)
        self.multi_label = prep.task == "classification" and _target_rank(prep.train) == 2
        loss_name = resolve_loss(prep.task, cfg, self.multi_label)
        self.loss_name = loss_name
        self.target_scale = target_scale_tensors(prep.task, prep.preprocessing, dev)
        self.loss_fn = make_loss(loss_name, cfg, prep.num_classes)
        if self.target_scale is not None:
            self.loss_fn = standardized_loss(self.loss_fn, *self.target_scale)
        placement.check_model_fits(self.model, prep, self.train_data, dev)
        if self.monitor not in self.metric_keys():
            raise TrainError(
                f"cannot monitor '{cfg.monitor}': this run reports {', '.join(k for k in self.metric_keys() if 'loss' in k or k.startswith('val_'))}"
            )
        plan = train_step.plan_step(cfg, dev, self.model)
        optimizer: torch.optim.Optimizer | None = None
        if plan.graphs:
            try:
                optimizer = make_optimizer(self.model.parameters(), cfg, graph=True)
            except (TrainError, TypeError, RuntimeError) as e:  # this torch lacks the variant
                plan = train_step.StepPlan(
                    False, f"torch could not make {cfg.optimizer} capturable ({first_line(e)})"
                )
        self.step_plan = plan
        if not plan.graphs and cfg.cuda_graphs == "on" and train_step.graphs_available(dev):
            raise TrainError(
                f"CUDA graphs are on, but {plan.reason}: set CUDA graphs to auto or off"
            )
        if plan.tell and plan.log_line() not in self.notes:  # once, also when trained more
            self.notes.append(plan.log_line())
        self.optimizer = optimizer or make_optimizer(self.model.parameters(), cfg)
        self.schedule = LRSchedule(self.optimizer, cfg, self.batches_per_epoch)
        self._autocast: torch.dtype | None = None
        self.scaler = None
        if cfg.amp != "off":
            if dev.type != "cuda":
                self.notes.append(
                    f"mixed precision ({cfg.amp}) needs a CUDA GPU; training on {dev} in float32"
                )
            elif cfg.amp == "bf16":
                if not torch.cuda.is_bf16_supported():
                    raise TrainError(
                        f"{torch.cuda.get_device_name(dev)} does not support bf16: use fp16 or off"
                    )
                self._autocast = torch.bfloat16
            else:
                self._autocast = torch.float16
                self.scaler = torch.amp.GradScaler("cuda")
        self._l1_params = (
            [p for p in self.model.parameters() if p.requires_grad and p.dim() >= 2]
            if cfg.l1 > 0
            else []
        )
        self._clip_params = (
            [p for p in self.model.parameters() if p.requires_grad] if cfg.grad_clip > 0 else []
        )
        self._step = self._make_step(plan)
        self._forward = self._make_forward(plan)
        self._batch_hooks = [
            cb.on_batch_end
            for cb in self.callbacks
            if type(cb).on_batch_end is not Callback.on_batch_end
        ]
        self._metrics = MetricAccumulator(
            prep.task,
            cfg.metric_names(prep.task),
            prep.num_classes,
            cfg.top_k,
            dev,
            self.multi_label,
            self.target_scale,
        )
        self._watch = _FiniteWatch(dev)
        if resuming:
            assert self._pending_state is not None
            self._restore(self._pending_state)
            self._pending_state = None
            self.schedule.apply(self.global_step)
        if self._extend_to is not None:
            self.schedule.extend(self._extend_to, self.global_step)
            self._extend_to = None
            self.stopped_early = False

    def _make_step(self, plan: StepPlan) -> EagerStep | GraphedStep:
        """The training step: eager, or captured in a CUDA graph after a few eager steps."""
        assert self.optimizer is not None
        cfg, dev = self.config, self.device
        l1_params = self._l1_params
        body = StepBody(
            self.model,
            self.optimizer,
            self.loss_fn,
            dev.type,
            self._autocast,
            cfg.l1,
            (lambda: l1_penalty(l1_params)) if cfg.l1 else None,
            cfg.grad_clip,
            self._clip_params,
        )
        to_device = self._to_device if self._transfer_train else None
        if not plan.graphs:
            return EagerStep(body, to_device, self.scaler)
        return GraphedStep(
            body,
            train_step.make_graph_backend(dev),
            dev,
            min(cfg.batch_size, self.num_train),
            to_device,
            on_fallback=self._graph_failed,
        )

    @property
    def val_batch_size(self) -> int:
        """Samples per validation batch: twice the training batch (no gradients to keep)."""
        return self.config.batch_size * 2

    def _make_forward(self, plan: StepPlan) -> Forward:
        """Validation's forward pass: eager, or a CUDA graph when the training step is one."""
        to_device = self._to_device if self._transfer_val else None
        dev, autocast = self.device, self._autocast
        if not plan.graphs:
            return Forward(self.model, self.loss_fn, dev.type, autocast, to_device)
        return GraphedForward(
            self.model,
            self.loss_fn,
            dev.type,
            autocast,
            to_device,
            train_step.make_graph_backend(dev),
            dev,
            min(self.val_batch_size, len(self.val_data)),
            on_fallback=lambda reason: self.note(f"eager validation: {reason}"),
        )

    def _graph_failed(self, reason: str) -> None:
        """A capture failed: under ``auto`` the run goes on eagerly and says so once."""
        if self.config.cuda_graphs == "on":
            raise TrainError(f"CUDA graphs are on, but {reason}: set CUDA graphs to auto or off")
        self.note(f"eager: {reason}")

    def note(self, text: str) -> None:
        """Tell the callbacks something during the run (it is kept in :attr:`notes` too)."""
        self.notes.append(text)
        self.call_hook("on_note", text)

    def _place(self, data: SplitData) -> tuple[SplitData, bool]:
        """Put in-memory data on the training device when it fits (:func:`.placement.place`)."""
        return placement.place(data, self.device, self.notes)

    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return placement.to_device(x, y, self.device)

    def _restore(self, state: dict[str, Any]) -> None:
        assert self.optimizer is not None and self.schedule is not None
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise TrainError(
                f"the checkpoint does not match the model (was the model edited?): {first_line(e)}"
            ) from None
        # The implementation flags (fused, foreach, capturable) suit this device and this
        # run's step (eager or a CUDA graph), not the checkpoint's; so does the rate's form,
        # a number or (for a graph) a tensor on the device that the graph reads.
        flags: list[dict[str, Any]] = [
            {k: g[k] for k in ("fused", "foreach", "capturable", "lr") if k in g}
            for g in self.optimizer.param_groups
        ]
        self.optimizer.load_state_dict(state["optimizer"])
        for group, kept in zip(self.optimizer.param_groups, flags, strict=True):
            saved_lr = group["lr"]
            group.update(kept)
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(float(saved_lr))
            else:
                group["lr"] = float(saved_lr)
        match_optimizer_state(self.optimizer)
        self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = [dict(row) for row in state["history"]]
        best = state.get("best") or {}
        self.best_value = best.get("value")
        self.best_epoch = best.get("epoch")
        self.stopped_early = bool(state.get("stopped_early", False))
        set_rng_state(state["rng"], self.generator)

    # --- one epoch -------------------------------------------------------------------------

    def _run_epoch(self) -> None:
        assert self.optimizer is not None and self.schedule is not None
        epoch = self.epoch + 1
        self.current_epoch, self.batch, self.phase = epoch, 0, "train"
        self.call_hook("on_epoch_start", epoch)
        t0 = time.perf_counter()
        paused = 0.0
        model, sched, step_fn = self.model, self.schedule, self._step
        assert step_fn is not None
        hooks, per_batch = self._batch_hooks, sched.per_batch
        step = self.global_step
        losses: list[torch.Tensor] = []
        sizes: list[int] = []
        self._watch.reset()
        model.train()
        sched.apply(step)
        batches = self.train_data.iter_batches(
            self.config.batch_size, shuffle=True, generator=self.generator, drop_last=self.drop_last
        )
        for i, (x, y) in enumerate(batches):
            if self._stop or self._pause:
                paused += self._wait_if_paused()
                if self._stop:
                    return
            if per_batch:
                sched.apply(step)
            loss = step_fn(x, y)
            losses.append(loss)
            sizes.append(x.shape[0])
            step += 1
            self.global_step, self.batch = step, i + 1
            for hook in hooks:
                hook(self, i, loss)
            if (i + 1) % FINITE_CHECK_EVERY == 0 and self._watch.check(
                losses[-FINITE_CHECK_EVERY:]
            ):
                self._raise_non_finite(losses, epoch)
        lr = self.lr
        # The epoch's one read of the training losses (also catches a NaN in the last few
        # batches). It waits for the device, so the time counts all the epoch's steps.
        host = torch.stack(losses).float().cpu().numpy().astype(np.float64)
        train_seconds = time.perf_counter() - t0 - paused
        if not np.isfinite(host).all():
            self._raise_non_finite(losses, epoch)
        n = int(sum(sizes))
        train_loss = float(np.dot(host, np.asarray(sizes, dtype=np.float64)) / n)
        row: dict[str, Any] = {k: None for k in self.metric_keys()}
        row.update(epoch=epoch, train_loss=train_loss)
        if len(self.val_data) > 0:
            self.phase = "validate"
            self.call_hook("on_validation_start")
            val = self._validate()
            if val is None:  # stopped during validation
                return
            vloss = val.get("val_loss", math.nan)
            if not math.isfinite(vloss):
                raise _NonFinite(epoch, self.batch, vloss, what="validation loss")
            self.call_hook("on_validation_end", val)
            row.update(val)
        seconds = time.perf_counter() - t0 - paused
        row.update(
            lr=lr,
            epoch_seconds=seconds,
            samples_per_s=n / train_seconds if train_seconds > 0 else 0.0,
        )
        self.phase = "epoch_end"
        self._end_epoch(row)

    def _raise_non_finite(self, losses: list[torch.Tensor], epoch: int) -> None:
        host = torch.stack(losses).float().cpu().numpy()
        bad = np.flatnonzero(~np.isfinite(host))
        index = int(bad[0]) if bad.size else len(losses) - 1
        raise _NonFinite(epoch, index + 1, float(host[index]))

    def _wait_if_paused(self) -> float:
        if not self._pause or self._stop:
            return 0.0
        start = time.perf_counter()
        self._paused_event.set()
        try:
            while self._pause and not self._stop:
                self._resume_event.wait(0.05)  # a timeout keeps Ctrl-C working
        finally:
            self._paused_event.clear()
        return time.perf_counter() - start

    def _validate(self) -> dict[str, float] | None:
        model, acc, forward = self.model, self._metrics, self._forward
        assert forward is not None
        acc.reset()
        model.eval()
        try:
            with torch.inference_mode():
                for x, y in self.val_data.iter_batches(self.val_batch_size):
                    if self._stop:
                        return None
                    # a graph's output and loss: read by the metrics before the next replay
                    acc.update(*forward(x, y))
        finally:
            model.train()
        return acc.compute("val_")

    def _end_epoch(self, row: dict[str, Any]) -> None:
        assert self.schedule is not None
        self.schedule.epoch_end(row.get(self.monitor))
        self.history.append(row)
        self.epoch = int(row["epoch"])
        # best weights, early stopping, checkpoints and the run record are callbacks before the caller's
        self.call_hook("on_epoch_end", row)

    # --- the end -----------------------------------------------------------------------------

    def _finish(self) -> FitResult:
        cfg = self.config
        self.phase = "done"
        best = ""
        if self.best_epoch is not None and self.best_value is not None:
            best = f"; best {self.monitor} {self.best_value:.4g} at epoch {self.best_epoch}"
        if self._stop:
            self.status = "stopped"
            where = (
                f"epoch {self.current_epoch}, batch {self.batch}"
                if self.current_epoch
                else "the start"
            )
            self.message = f"stopped at {where}{best}"
        elif self.stopped_early:
            self.status = "finished"
            self.message = (
                f"stopped early after epoch {self.epoch}: {self.monitor} has not improved "
                f"for {cfg.patience} epoch(s){best}"
            )
        else:
            self.status = "finished"
            self.message = f"finished {self.epoch} epoch(s){best}"
        self.call_hook(
            "on_fit_end"
        )  # BestWeights may restore the best epoch and add to the message
        return FitResult(
            status=self.status,
            message=self.message,
            epochs_done=self.epoch,
            history=list(self.history),
            monitor=self.monitor,
            best_epoch=self.best_epoch,
            best_value=self.best_value,
            stopped_early=self.stopped_early,
            run_dir=self.run.path if self.run is not None else None,
            final=dict(self.history[-1]) if self.history else {},
            test=self.test_record,
        )

    def _fail(
        self, error: BaseException, message: str, status: str = "failed", convert: bool = True
    ) -> TrainError:
        """Record a failed (or interrupted) run and tell the callbacks; returns the TrainError to raise.

        ``on_exception`` receives that TrainError (its ``__cause__`` is the original error),
        or the original error itself when ``convert`` is False (Ctrl-C, programming errors).
        """
        self.status, self.message = status, message
        if status == "failed" and self.run is not None and self.run.last.exists():
            with contextlib.suppress(Exception):  # keep the model usable: the last good weights
                state = load_checkpoint(self.run.last, self.device)
                self.model.load_state_dict(state["model"])
                self.message = message = (
                    f"{message} (the last good checkpoint, epoch {state['epoch']}, is kept)"
                )
        reported: BaseException = error
        result = (
            error
            if isinstance(error, TrainError) and str(error) == message
            else TrainError(message)
        )
        if result is not error:
            result.__cause__ = error
        if convert:
            reported = result
        for cb in self.callbacks:
            try:
                cb.on_exception(self, reported)
            except Exception:  # noqa: S112 - a broken callback must not hide the real error
                continue
        return result


def _plain_rates(state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer's state dict with its learning rates as numbers (a graphed run's are tensors)."""
    for group in state["param_groups"]:
        for key in ("lr", "initial_lr"):
            if isinstance(group.get(key), torch.Tensor):
                group[key] = float(group[key])
    return state


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _target_rank(data: SplitData) -> int:
    y = getattr(data, "y", None)
    if isinstance(y, torch.Tensor):
        return y.dim()
    return 1


def target_scale_tensors(
    task: str, preprocessing: dict[str, Any], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(mean, std)`` of standardized regression targets on ``device``, or None."""
    scale = preprocessing.get("target_scale") if task == "regression" else None
    if not isinstance(scale, dict):
        return None
    mean = torch.tensor(scale["mean"], dtype=torch.float32, device=device)
    std = torch.tensor(scale["std"], dtype=torch.float32, device=device)
    return mean, std


def evaluate(
    model: nn.Module,
    data: SplitData,
    task: str,
    metrics: Sequence[str],
    num_classes: int | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 256,
    top_k: int = 5,
    device: torch.device | str = "cpu",
    prefix: str = "",
    preprocessing: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on one split (for example the test split), in eval mode.

    ``preprocessing`` (the prepared data's) tells whether the model outputs standardized
    regression targets; the metrics are then in the targets' own units.
    """
    dev = torch.device(device)
    multi_label = task == "classification" and _target_rank(data) == 2
    scale = target_scale_tensors(task, preprocessing or {}, dev)
    if loss is None:
        loss = make_loss(resolve_loss(task, TrainConfig(), multi_label), TrainConfig(), num_classes)
        if scale is not None:
            loss = standardized_loss(loss, *scale)
    acc = MetricAccumulator(task, metrics, num_classes, top_k, dev, multi_label, scale)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for x, y in data.iter_batches(batch_size):
                x, y = x.to(dev), y.to(dev)
                out = model(x)
                acc.update(out, y, loss(out, y))
    finally:
        model.train(was_training)
    return acc.compute(prefix)


__all__ = [
    "BestWeights",
    "Callback",
    "EarlyStopping",
    "FitResult",
    "MetricsLogger",
    "ModelCheckpoint",
    "ProgressBar",
    "RunRecorder",
    "TrainConfig",
    "TrainError",
    "Trainer",
    "evaluate",
    "seed_everything",
]
