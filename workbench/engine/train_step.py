"""One training step (forward, loss, backward, optimizer step), eager or replayed as a CUDA graph.

The models people build here are small, and on a GPU their step is a few dozen tiny
kernels: the time goes to launching them from Python, not to the math. A
:class:`GraphedStep` captures the whole step once in a CUDA graph and then replays it
per batch: ``static_x.copy_(x); static_y.copy_(y); graph.replay()``.

What that needs, and how each part of a run keeps working:

- Fixed shapes: the graph is captured for the full batch; a batch of another shape
  (the last, partial one of an epoch) takes an eager step on the same model, optimizer
  and gradient tensors, so results do not depend on which batches were replayed.
- The optimizer built capturable (its step counters live on the device) with the
  learning rate a tensor on the device, which the schedule updates in place between
  replays (see :data:`~workbench.engine.config.OptimizerSpec.graph_settings`).
- Lazy state (the optimizer's moments, cuDNN's algorithm choice, autograd's buffers)
  created before capture: the first :data:`WARMUP_STEPS` steps of every
  :meth:`~workbench.engine.trainer.Trainer.fit` are ordinary eager steps on a side
  stream, as PyTorch's documentation prescribes. They train like any other step.
- Gradient clipping, the L1 penalty and bf16 autocast (without its weight cache) are
  plain tensor work inside the graph; dropout draws from the graph-safe generator;
  batch norm updates its running statistics in place. fp16's loss scaler reads a flag on
  the CPU every step, so fp16 trains eagerly.
- Losses, the non-finite check, pause, stop, checkpoints and resume stay in the
  trainer's loop around the step, which returns each batch's loss as a tensor, as the
  eager step does.

Validation's forward pass and loss are captured likewise (:class:`GraphedForward`, in
eval mode without autograd) when the training step is; the metrics accumulate from its
outputs outside the graph.

:func:`plan_step` decides from the settings, the device and the model whether to capture
(plain Python, tested on the CPU). A capture that fails at run time falls back to eager
steps with the reason, or fails the run when CUDA graphs are ``on``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from workbench.core.text import first_line
from workbench.engine.config import OPTIMIZER_SPECS, TrainConfig

#: Eager steps before the capture (PyTorch's documentation uses three).
WARMUP_STEPS = 3

Batch = tuple[torch.Tensor, torch.Tensor]
#: A validation batch's model output, target on the device and loss.
Batch3 = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


# --- the decision ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepPlan:
    """Whether a run captures its training step, and why not."""

    graphs: bool
    #: Why the step is eager (one line, for the log); empty when it is captured.
    reason: str = ""
    #: True when the reason is worth a line in the log (auto on a CPU says nothing).
    tell: bool = True

    def log_line(self) -> str:
        """The run log's line about the step."""
        if self.graphs:
            return (
                "training step: captured in a CUDA graph after "
                f"{WARMUP_STEPS} eager warm-up steps, then replayed per batch"
            )
        return f"eager: {self.reason}"


def graphs_available(device: torch.device) -> bool:
    """True when ``device`` can capture and replay CUDA graphs."""
    return device.type == "cuda" and hasattr(torch.cuda, "CUDAGraph")


def plan_step(config: TrainConfig, device: torch.device, model: nn.Module) -> StepPlan:
    """Capture the training step in a CUDA graph, or train eagerly, and why.

    ``auto`` and ``on`` capture where the device, the settings and the model allow it;
    the caller turns a refusal under ``on`` into an error.
    """
    mode = config.cuda_graphs
    if mode == "off":
        return StepPlan(
            False, "CUDA graphs are off in the training settings", device.type == "cuda"
        )
    if not graphs_available(device):
        return StepPlan(
            False, f"CUDA graphs need a CUDA GPU; this run trains on {device}", mode == "on"
        )
    if config.amp == "fp16":
        return StepPlan(
            False,
            "fp16 mixed precision scales the loss with a check read on the CPU every step "
            "(bf16 needs no scaling and keeps CUDA graphs)",
        )
    spec = OPTIMIZER_SPECS.get(config.optimizer)
    if spec is not None and spec.graph_settings is None:
        return StepPlan(False, f"torch's {spec.title} has no variant that a CUDA graph can capture")
    reason = model_blocks_capture(model)
    if reason:
        return StepPlan(False, reason)
    return StepPlan(True)


def model_blocks_capture(model: nn.Module) -> str:
    """Why ``model``'s training step cannot be captured, or ``""``.

    Only what is certain before trying: anything else that cannot be captured (a layer
    reading a value on the CPU, shapes that depend on the data) fails the capture itself,
    which the step reports.
    """
    for name, m in model.named_modules():
        where = f"the layer {name.split('.')[-1] or type(m).__name__}"
        if (
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats
            and m.momentum is None
        ):
            return f"{where} averages its batch statistics cumulatively, reading a counter on the CPU every step"
        if isinstance(m, nn.Embedding | nn.EmbeddingBag) and m.sparse:
            return f"{where} has sparse gradients, which the captured optimizers do not take"
    return ""


# --- the steps ---------------------------------------------------------------------------------


class StepBody:
    """Forward, loss (plus the L1 penalty), backward, clipping and the optimizer step.

    Every tensor it touches outside the batch lives as long as the run, so a graph that
    captured it replays correctly; the gradients are written, not accumulated, when they
    start as None.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        device_type: str,
        autocast: torch.dtype | None = None,
        l1: float = 0.0,
        l1_penalty: Callable[[], torch.Tensor] | None = None,
        clip: float = 0.0,
        clip_params: Sequence[torch.Tensor] = (),
    ) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.device_type, self.autocast = device_type, autocast
        self.l1, self.l1_penalty = l1, l1_penalty
        self.clip, self.clip_params = clip, list(clip_params)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's loss and what is minimized (the loss plus the L1 penalty)."""
        if self.autocast is not None:
            # no weight cache: a graph must not keep casts made during its capture
            with torch.autocast(self.device_type, dtype=self.autocast, cache_enabled=False):
                loss = self.loss_fn(self.model(x), y)
        else:
            loss = self.loss_fn(self.model(x), y)
        if self.l1 and self.l1_penalty is not None:
            return loss, loss + self.l1 * self.l1_penalty()
        return loss, loss

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step on ``(x, y)``; returns the detached loss."""
        loss, total = self.loss(x, y)
        total.backward()
        if self.clip:
            nn.utils.clip_grad_norm_(self.clip_params, self.clip)
        self.optimizer.step()
        return loss.detach()


class EagerStep:
    """The step as PyTorch runs it by default: every kernel launched from Python."""

    mode = "eager"

    def __init__(
        self,
        body: StepBody,
        to_device: Callable[[torch.Tensor, torch.Tensor], Batch] | None = None,
        scaler: Any = None,
    ) -> None:
        self.body, self.to_device, self.scaler = body, to_device, scaler

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step; returns the detached loss of the batch."""
        if self.to_device is not None:
            x, y = self.to_device(x, y)
        body, opt = self.body, self.body.optimizer
        opt.zero_grad(set_to_none=True)
        if self.scaler is None:
            return body(x, y)
        loss, total = body.loss(x, y)
        scaler = self.scaler
        scaler.scale(total).backward()
        if body.clip:
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(body.clip_params, body.clip)
        scaler.step(opt)
        scaler.update()
        return loss.detach()


class GraphBackend(Protocol):
    """How graphed steps warm up, capture and replay (CUDA, or a test's stand-in on the CPU)."""

    def warmup(self) -> contextlib.AbstractContextManager[None]:
        """The context of the eager steps before a capture."""
        ...

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Capture ``fn`` without running it; returns what replays it.

        ``fn`` leaves its results in tensors made before the capture, which each replay
        overwrites.
        """
        ...


class CudaGraphs:
    """Capture and replay on a CUDA device (``torch.cuda.graph``)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stream = torch.cuda.Stream(device)
        self.graphs: list[Any] = []

    @contextlib.contextmanager
    def warmup(self) -> Iterator[None]:
        """Run on a side stream, ordered after and before the current stream's work."""
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        try:
            with torch.cuda.stream(self.stream):
                yield
        finally:
            current.wait_stream(self.stream)

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Capture ``fn`` into a new graph (only this thread's CUDA calls are checked, so
        another thread's work, a data loader's copies say, cannot spoil the capture)."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            fn()
        self.graphs.append(graph)  # keeps it (and its memory pool) alive
        return graph.replay


def _same_layout(a: torch.Tensor, static: torch.Tensor) -> bool:
    return a.shape == static.shape and a.dtype == static.dtype


def _copy_into(static: torch.Tensor, value: torch.Tensor) -> None:
    """Copy a batch into a static tensor without waiting: from pinned memory when on the host."""
    if value.device.type == "cpu" and static.device.type == "cuda" and not value.is_pinned():
        value = value.pin_memory()
    static.copy_(value, non_blocking=True)


class GraphedStep:
    """The training step captured once in a CUDA graph and replayed per batch.

    Args:
        body: The step to capture.
        backend: Capture and replay (:class:`CudaGraphs` on a GPU).
        device: Where the static input and target tensors live.
        batch_size: The shape captured: batches of another size take an eager step.
        to_device: Moves a batch for an eager step (None when batches are on the device).
        on_fallback: Told the one-line reason when the capture failed and the run goes on
            eagerly; it may raise to fail the run instead.
        warmup: Eager steps before the capture.
    """

    def __init__(
        self,
        body: StepBody,
        backend: GraphBackend,
        device: torch.device,
        batch_size: int,
        to_device: Callable[[torch.Tensor, torch.Tensor], Batch] | None = None,
        on_fallback: Callable[[str], None] | None = None,
        warmup: int = WARMUP_STEPS,
    ) -> None:
        self.body, self.backend, self.device = body, backend, device
        self.batch_size, self.to_device = batch_size, to_device
        self.on_fallback, self.warmup_left = on_fallback, warmup
        self.replay: Callable[[], None] | None = None
        self.static: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        #: "graph" once captured; "eager" after a failed capture.
        self.mode = "graph"
        self.reason = ""
        #: Steps run each way (for tests and the benchmark).
        self.replayed = 0
        self.eager_steps = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One step; returns the detached loss of the batch (a tensor of its own)."""
        if self.static is not None:
            xs, ys, loss = self.static
            if _same_layout(x, xs) and _same_layout(y, ys):
                _copy_into(xs, x)
                _copy_into(ys, y)
                assert self.replay is not None
                self.replay()
                self.replayed += 1
                return loss.clone()
            return self._eager(x, y, keep_grads=True)
        if self.mode == "eager" or x.shape[0] != self.batch_size:
            return self._eager(x, y, keep_grads=False)
        if self.warmup_left > 0:
            self.warmup_left -= 1
            with self.backend.warmup():
                return self._eager(x, y, keep_grads=False)
        if not self._capture(x, y):
            return self._eager(x, y, keep_grads=False)
        return self(x, y)

    def _eager(self, x: torch.Tensor, y: torch.Tensor, keep_grads: bool) -> torch.Tensor:
        """An eager step; after the capture the gradients are zeroed in place, keeping the graph's tensors."""
        if self.to_device is not None:
            x, y = self.to_device(x, y)
        self.body.optimizer.zero_grad(set_to_none=not keep_grads)
        self.eager_steps += 1
        return self.body(x, y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        if self.to_device is not None:
            x, y = self.to_device(x, y)
        xs = torch.empty(x.shape, dtype=x.dtype, device=self.device)
        ys = torch.empty(y.shape, dtype=y.dtype, device=self.device)
        loss = torch.zeros((), dtype=torch.float32, device=self.device)
        xs.copy_(x)
        ys.copy_(y)
        body, opt = self.body, self.body.optimizer

        def step() -> None:
            # No gradients at the start: the graph's backward writes them rather than
            # adding to them (setting them to None launches nothing).
            opt.zero_grad(set_to_none=True)
            loss.copy_(body(xs, ys))

        try:
            replay = self.backend.capture(step)
        except Exception as e:  # noqa: BLE001 - any failure to capture means eager steps
            opt.zero_grad(set_to_none=True)
            self.mode = "eager"
            self.reason = f"capturing the training step in a CUDA graph failed ({first_line(e)})"
            if self.on_fallback is not None:
                self.on_fallback(self.reason)
            return False
        self.replay, self.static = replay, (xs, ys, loss)
        return True


class Forward:
    """Validation's forward pass and loss, eager: ``(output as float, target, loss)``."""

    mode = "eager"

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        device_type: str,
        autocast: torch.dtype | None = None,
        to_device: Callable[[torch.Tensor, torch.Tensor], Batch] | None = None,
    ) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.device_type, self.autocast, self.to_device = device_type, autocast, to_device

    def run(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's output (as float32 under autocast) and the batch's loss."""
        if self.autocast is not None:
            with torch.autocast(self.device_type, dtype=self.autocast, cache_enabled=False):
                out = self.model(x)
                loss = self.loss_fn(out, y)
            return out.float(), loss
        out = self.model(x)
        return out, self.loss_fn(out, y)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> Batch3:
        """One batch: ``(output, target on the device, loss)``; call in eval mode, without autograd."""
        if self.to_device is not None:
            x, y = self.to_device(x, y)
        out, loss = self.run(x, y)
        return out, y, loss


class GraphedForward(Forward):
    """Validation's forward pass and loss captured in a CUDA graph and replayed per batch.

    The first full batch is eager (on the backend's warm-up stream) and gives the output's
    shape; the next is captured. The output and loss it returns are the graph's static
    tensors, overwritten by the next replay: use them before the next call (the metrics
    accumulate on the same stream, so they read them in time). A batch of another shape,
    or every batch after a failed capture, is eager.
    """

    mode = "graph"

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        device_type: str,
        autocast: torch.dtype | None,
        to_device: Callable[[torch.Tensor, torch.Tensor], Batch] | None,
        backend: GraphBackend,
        device: torch.device,
        batch_size: int,
        on_fallback: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(model, loss_fn, device_type, autocast, to_device)
        self.backend, self.device, self.batch_size = backend, device, batch_size
        self.on_fallback = on_fallback
        self.replay: Callable[[], None] | None = None
        self.static: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.output: tuple[torch.Size, torch.dtype] | None = None
        self.reason = ""
        self.replayed = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> Batch3:
        static = self.static
        if static is not None:
            xs, ys, out, loss = static
            if _same_layout(x, xs) and _same_layout(y, ys):
                _copy_into(xs, x)
                _copy_into(ys, y)
                assert self.replay is not None
                self.replay()
                self.replayed += 1
                return out, ys, loss
        elif self.mode == "graph" and x.shape[0] == self.batch_size:
            if self.output is None:
                with self.backend.warmup():
                    result = super().__call__(x, y)
                self.output = (result[0].shape, result[0].dtype)
                return result
            if self._capture(x, y):
                return self(x, y)
        return super().__call__(x, y)

    def _capture(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        assert self.output is not None
        if self.to_device is not None:
            x, y = self.to_device(x, y)
        xs = torch.empty(x.shape, dtype=x.dtype, device=self.device)
        ys = torch.empty(y.shape, dtype=y.dtype, device=self.device)
        out = torch.empty(self.output[0], dtype=self.output[1], device=self.device)
        loss = torch.zeros((), dtype=torch.float32, device=self.device)
        xs.copy_(x)
        ys.copy_(y)

        def forward() -> None:
            o, v = self.run(xs, ys)
            out.copy_(o)
            loss.copy_(v)

        try:
            self.replay = self.backend.capture(forward)
        except Exception as e:  # noqa: BLE001 - any failure to capture means eager batches
            self.mode = "eager"
            self.reason = f"capturing validation in a CUDA graph failed ({first_line(e)})"
            if self.on_fallback is not None:
                self.on_fallback(self.reason)
            return False
        self.static = (xs, ys, out, loss)
        return True


def make_graph_backend(device: torch.device) -> GraphBackend:
    """The capture and replay of ``device`` (tests stand a CPU version in for it)."""
    return CudaGraphs(device)


def match_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Put each step counter where this optimizer's groups expect it after loading a checkpoint.

    A capturable or fused optimizer keeps its counters (``step``, and NAdam's
    ``mu_product``) as float32 tensors on the parameters' device; the others keep them on
    the CPU. A checkpoint of a graphed run may be resumed eagerly and the other way round.
    """
    for group in optimizer.param_groups:
        on_device = bool(group.get("capturable") or group.get("fused"))
        for p in group["params"]:
            state = optimizer.state.get(p)
            if not state:
                continue
            for key in ("step", "mu_product"):
                value = state.get(key)
                if not isinstance(value, torch.Tensor):
                    continue
                want = p.device if on_device else torch.device("cpu")
                if value.device != want or (on_device and value.dtype != torch.float32):
                    state[key] = value.to(
                        device=want, dtype=torch.float32 if on_device else value.dtype
                    )


__all__ = [
    "WARMUP_STEPS",
    "CudaGraphs",
    "EagerStep",
    "Forward",
    "GraphBackend",
    "GraphedForward",
    "GraphedStep",
    "StepBody",
    "StepPlan",
    "graphs_available",
    "make_graph_backend",
    "match_optimizer_state",
    "model_blocks_capture",
    "plan_step",
]
