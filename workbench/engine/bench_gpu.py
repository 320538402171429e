"""The GPU benchmark of ``workbench bench --gpu``: the trainer with and without CUDA graphs
against a plain PyTorch loop, on the templates at two batch sizes each.

For each template (LeNet, MLP, ResNet, GRU, Transformer) and batch size, the same
synthetic data (random inputs of the template's Input shape and dtype, random labels for
its Output's classes; made once per template, with a fixed seed, and put on the device
before any clock starts) trains three times, each from the same initial weights (the
template compiled after ``torch.manual_seed(seed)``) with Adam at 1e-3:

- **plain**: the loop one writes by hand: a device ``randperm`` per epoch, then per batch
  ``zero_grad``, forward on ``x[idx]``, cross-entropy, ``backward``, ``step``; cuDNN's
  autotuner on, as the trainer has it;
- **off**: the workbench :class:`~workbench.engine.trainer.Trainer` with
  ``cuda_graphs="off"``;
- **graphs**: the trainer with ``cuda_graphs`` as asked (``auto``, the default, which
  captures the step where it can and otherwise trains eagerly and says why: the row
  records the trainer's ``step_mode`` and ``step_reason``).

Each trains one warm-up epoch (kernels chosen, graphs captured, caches filled), which is
not timed, then ``epochs`` timed epochs. An epoch is timed from its start to its end
with the device synchronized at both ends: for the plain loop around the epoch's loop,
for the trainer by a callback's ``on_epoch_start`` and ``on_validation_start`` (so the
trainer's figure covers its epoch's training: the shuffle, every step and the epoch's one
read of the losses; no weights are copied for restore-best). A row's samples/s is the
samples of one epoch over its fastest timed epoch (the best of ``epochs``, as ``timeit``
takes the best of its repeats).

The trainers also validate every epoch on a quarter of the samples, in batches of twice
the training batch (the trainer's validation: forward pass, loss and metrics, captured in
a CUDA graph along with the training step when there is one); the same callback times it
from ``on_validation_start`` to ``on_validation_end``, giving the validation columns
(trainer off against graphs; the plain loop does not validate).

The goals are those of the issue that added the graph step: with graphs, LeNet at batch
128 and the MLP at batch 64 train at least 3x as fast as the plain loop, and no row is
slower with graphs than without.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.data.base import Split
from workbench.data.prepared import Prepared, TensorData
from workbench.engine.config import TrainConfig
from workbench.engine.trainer import Callback, Trainer

#: The templates measured and their two batch sizes.
TEMPLATE_BATCHES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("lenet", (32, 128)),
    ("mlp", (64, 256)),
    ("resnet", (64, 256)),
    ("gru", (32, 128)),
    ("transformer", (32, 128)),
)
#: How the tables name them.
TITLES = {
    "lenet": "LeNet",
    "mlp": "MLP",
    "resnet": "ResNet",
    "gru": "GRU",
    "transformer": "Transformer",
}
#: (template, batch size, least graphs/plain ratio): the rows the trainer's graphs must speed up.
SPEEDUP_GOALS: tuple[tuple[str, int, float], ...] = (("lenet", 128, 3.0), ("mlp", 64, 3.0))
#: The least graphs/off ratio of a row whose step was captured.
NEVER_SLOWER = 1.0
#: ... and of a row that trained eagerly both ways: the same code twice, so only noise.
SAME_STEP_NOISE = 0.95
#: Samples per template and timed epochs of ``workbench bench --gpu``.
SAMPLES = 20_000
EPOCHS = 2
#: ``workbench bench --gpu --quick``: a smoke run of every row.
QUICK: dict[str, int] = {"samples": 1024, "epochs": 1}


class GpuBenchError(Exception):
    """The benchmark cannot run here (no CUDA GPU); the message is one line."""


def _quiet(_line: str) -> None:
    pass


def check_device(device: str) -> torch.device:
    """The torch device for ``device``; raises GpuBenchError when it is not available here."""
    from workbench.engine.devices import DeviceError, resolve_device

    spec = (device or "cuda").strip().lower()
    if (spec == "cuda" or spec.startswith("cuda:")) and not torch.cuda.is_available():
        build = torch.version.cuda
        seen = (
            f"torch {torch.__version__} (CUDA {build}) sees no GPU"
            if build
            else f"torch {torch.__version__} is built without CUDA"
        )
        raise GpuBenchError(
            f"needs a CUDA GPU: {seen}; add --device cpu for a smoke run on the CPU"
        )
    try:
        return resolve_device(spec)
    except DeviceError as e:
        raise GpuBenchError(f"cannot run there: {e}") from None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    from workbench.engine.devices import list_devices

    return next((d.name for d in list_devices() if d.id == device.type), device.type)


class TemplateData:
    """One template's graph and its synthetic data on the device."""

    def __init__(self, name: str, samples: int, device: torch.device, seed: int) -> None:
        from workbench.core.templates import make_project

        self.name = name
        self.graph = make_project(name).graph
        (inp,) = self.graph.of_type("Input")
        (out,) = self.graph.of_type("Output")
        self.input_shape = tuple(int(v) for v in inp.params["shape"])
        self.input_dtype: str = inp.params["dtype"]
        self.task: str = out.params["task"]
        g = torch.Generator().manual_seed(seed)
        if self.input_dtype == "int64":
            # token ids every Embedding of the model can look up
            vocab = min(
                (int(n.params["num_embeddings"]) for n in self.graph.of_type("Embedding")),
                default=2,
            )
            x = torch.randint(0, vocab, (samples, *self.input_shape), generator=g)
        else:
            x = torch.randn(samples, *self.input_shape, generator=g)
        if self.task == "classification":
            self.classes: int | None = int(out.params["num_classes"])
            self.num_targets = 1
            y = torch.randint(0, self.classes, (samples,), generator=g)
        else:
            self.classes = None
            self.num_targets = int(out.params["num_targets"])
            y = torch.randn(samples, self.num_targets, generator=g)
        self.x, self.y = x.to(device), y.to(device)

    def model(self, seed: int) -> nn.Module:
        """The template compiled from the same seed each time: the same initial weights."""
        from workbench.engine.compiler import compile_graph

        torch.manual_seed(seed)
        return compile_graph(self.graph)

    def prepared(self) -> Prepared:
        """The data as the trainer takes it: all of it for training, its first quarter also
        for validation, no test split."""
        n = len(self.x)
        n_val = max(1, n // 4)
        empty = TensorData(self.x[:0], self.y[:0])
        return Prepared(
            "classification" if self.task == "classification" else "regression",
            None if self.classes is None else [str(i) for i in range(self.classes)],
            self.input_shape,
            "int64" if self.input_dtype == "int64" else "float32",
            self.num_targets,
            Split(np.arange(n), np.arange(n_val), np.arange(0)),
            TensorData(self.x, self.y),
            TensorData(self.x[:n_val], self.y[:n_val]),
            empty,
        )


def plain_loop(
    data: TemplateData,
    batch_size: int,
    epochs: int,
    device: torch.device,
    seed: int = 0,
    warmup_epochs: int = 1,
) -> list[float]:
    """Train with the hand-written loop; returns the seconds of each timed epoch."""
    model = data.model(seed).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn: nn.Module = nn.CrossEntropyLoss() if data.classes is not None else nn.MSELoss()
    x, y = data.x, data.y
    n = len(x)
    generator = torch.Generator(device=device).manual_seed(seed)
    seconds: list[float] = []
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = device.type == "cuda"
    try:
        for epoch in range(warmup_epochs + epochs):
            _sync(device)
            start = time.perf_counter()
            order = torch.randperm(n, device=device, generator=generator)
            for i in range(0, n, batch_size):
                idx = order[i : i + batch_size]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
            _sync(device)
            if epoch >= warmup_epochs:
                seconds.append(time.perf_counter() - start)
    finally:
        torch.backends.cudnn.benchmark = benchmark
    return seconds


class EpochClock(Callback):
    """Times each epoch's training and its validation, the device synchronized at each end."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: list[float] = []
        self.val_seconds: list[float] = []
        self._start = 0.0

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Start the clock once the device is idle."""
        _sync(self.device)
        self._start = time.perf_counter()

    def on_validation_start(self, trainer: Trainer) -> None:
        """The training steps are done once the device has done their work."""
        _sync(self.device)
        now = time.perf_counter()
        self.seconds.append(now - self._start)
        self._start = now

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """So is validation."""
        _sync(self.device)
        self.val_seconds.append(time.perf_counter() - self._start)


def trainer_run(
    data: TemplateData,
    batch_size: int,
    epochs: int,
    device: torch.device,
    cuda_graphs: str,
    seed: int = 0,
    warmup_epochs: int = 1,
) -> tuple[list[float], list[float], str, str]:
    """Train with the workbench trainer.

    Returns:
        The seconds of each timed epoch's training and of its validation, the trainer's
        step mode (``graph`` or ``eager``) and, when eager, why.
    """
    clock = EpochClock(device)
    config = TrainConfig(
        epochs=warmup_epochs + epochs,
        batch_size=batch_size,
        optimizer="adam",
        lr=1e-3,
        device=str(device),
        cuda_graphs=cuda_graphs,
        restore_best=False,
        cpu_threads=torch.get_num_threads(),  # as many as the plain loop has
        seed=seed,
    )
    trainer = Trainer(data.model(seed), data.prepared(), config, [clock])
    trainer.fit()
    timed, val = clock.seconds[warmup_epochs:], clock.val_seconds[warmup_epochs:]
    mode = getattr(trainer, "step_mode", None)
    if mode is None:  # a trainer without the graph step
        return timed, val, "eager", "this trainer has no CUDA-graph step"
    return timed, val, str(mode), str(getattr(trainer, "step_reason", ""))


def _rate(samples: int, seconds: Sequence[float]) -> float:
    return samples / max(min(seconds), 1e-9)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3)


def measure_row(
    data: TemplateData,
    batch_size: int,
    epochs: int,
    device: torch.device,
    cuda_graphs: str = "auto",
    seed: int = 0,
    warmup_epochs: int = 1,
) -> dict[str, Any]:
    """One row of the table: the plain loop, the trainer without graphs and with them."""
    from workbench.engine.compiler import count_parameters

    n = len(data.x)
    plain = plain_loop(data, batch_size, epochs, device, seed, warmup_epochs)
    off, val_off, off_mode, _ = trainer_run(
        data, batch_size, epochs, device, "off", seed, warmup_epochs
    )
    on, val_on, mode, reason = trainer_run(
        data, batch_size, epochs, device, cuda_graphs, seed, warmup_epochs
    )
    p, o, g = _rate(n, plain), _rate(n, off), _rate(n, on)
    n_val = max(1, n // 4)
    vo, vg = _rate(n_val, val_off), _rate(n_val, val_on)
    return {
        "template": data.name,
        "batch_size": batch_size,
        "params": count_parameters(data.model(seed)),
        "input_shape": list(data.input_shape),
        "input_dtype": data.input_dtype,
        "plain_samples_per_s": round(p, 1),
        "off_samples_per_s": round(o, 1),
        "graphs_samples_per_s": round(g, 1),
        "graphs_vs_plain": _ratio(g, p),
        "graphs_vs_off": _ratio(g, o),
        "off_vs_plain": _ratio(o, p),
        "val_off_samples_per_s": round(vo, 1),
        "val_graphs_samples_per_s": round(vg, 1),
        "val_graphs_vs_off": _ratio(vg, vo),
        "step_mode": mode,
        "step_reason": reason if mode != "graph" else "",
        "off_step_mode": off_mode,
        "epoch_seconds": {
            "plain": [round(s, 6) for s in plain],
            "off": [round(s, 6) for s in off],
            "graphs": [round(s, 6) for s in on],
            "val_off": [round(s, 6) for s in val_off],
            "val_graphs": [round(s, 6) for s in val_on],
        },
    }


def goals(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goals judged on the rows: each with its figure, its bound and whether it is met.

    ``met`` is None for a goal whose row was not measured.
    """
    out: list[dict[str, Any]] = []
    for template, batch, least in SPEEDUP_GOALS:
        row = next(
            (r for r in rows if r["template"] == template and r["batch_size"] == batch), None
        )
        value = None if row is None else row["graphs_vs_plain"]
        out.append(
            {
                "goal": f"{TITLES.get(template, template)} b{batch} with graphs vs the plain loop",
                "value": value,
                "least": least,
                "met": None if value is None else bool(value >= least),
            }
        )
    if rows:

        def bound(r: dict[str, Any]) -> float:
            eager = r["step_mode"] != "graph"
            return SAME_STEP_NOISE if eager else NEVER_SLOWER

        # the row furthest below its bound (or nearest to it)
        worst = min(rows, key=lambda r: r["graphs_vs_off"] - bound(r))
        value = worst["graphs_vs_off"]
        out.append(
            {
                "goal": "no row slower with graphs than without",
                "value": value,
                "least": bound(worst),
                "row": f"{TITLES.get(worst['template'], worst['template'])} b{worst['batch_size']}",
                "met": bool(all(r["graphs_vs_off"] >= bound(r) for r in rows)),
            }
        )
    return out


def run(
    device: str = "cuda",
    samples: int = SAMPLES,
    epochs: int = EPOCHS,
    warmup_epochs: int = 1,
    cuda_graphs: str = "auto",
    templates: Sequence[tuple[str, Sequence[int]]] | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its figures.

    Args:
        device: Where everything trains (``cuda``, ``cuda:N``; ``cpu`` for a smoke run).
        samples: Synthetic samples per template (one epoch).
        epochs: Timed epochs per measurement; the fastest counts.
        warmup_epochs: Untimed epochs before them.
        cuda_graphs: The trainer's setting for the graphs column (``auto`` or ``on``).
        templates: (template, batch sizes) to measure (default :data:`TEMPLATE_BATCHES`).
        seed: Seeds the data, the initial weights and the shuffles.
        log: Called with a line of text after each row.

    Raises:
        GpuBenchError: ``device`` is not available here.
        TrainError: a trainer run failed.
    """
    say = log or _quiet
    dev = check_device(device)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name, batches in TEMPLATE_BATCHES if templates is None else templates:
        data = TemplateData(name, samples, dev, seed)
        for batch_size in batches:
            row = measure_row(data, batch_size, epochs, dev, cuda_graphs, seed, warmup_epochs)
            rows.append(row)
            say(_row_line(row))
        del data
    return {
        "device": str(dev),
        "device_name": _device_name(dev),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "samples": samples,
        "epochs": epochs,
        "warmup_epochs": warmup_epochs,
        "optimizer": "adam",
        "lr": 1e-3,
        "cuda_graphs": cuda_graphs,
        "seed": seed,
        "rows": rows,
        "goals": goals(rows),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _title(row: dict[str, Any]) -> str:
    return TITLES.get(row["template"], row["template"])


def _row_line(row: dict[str, Any]) -> str:
    return (
        f"{_title(row)} b{row['batch_size']}: plain {row['plain_samples_per_s']:,.0f}, "
        f"trainer off {row['off_samples_per_s']:,.0f}, graphs {row['graphs_samples_per_s']:,.0f} samples/s "
        f"({row['step_mode']})"
    )


def _times(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def format_report(r: dict[str, Any]) -> str:
    """The human-readable table of :func:`run`'s figures, the goals' verdicts under it."""
    cuda = f", CUDA {r['cuda']}" if r.get("cuda") else ""
    lines = [
        f"GPU benchmark on {r['device']} ({r['device_name']}), torch {r['torch']}{cuda}: "
        f"{r['samples']:,} synthetic samples on the device, Adam, "
        f"{r['warmup_epochs']} warm-up epoch(s), then the fastest of {r['epochs']} timed; "
        f"samples/s; graphs: cuda_graphs={r['cuda_graphs']}",
        f"  {'template':<12}{'batch':>6}{'params':>9}{'plain loop':>12}{'trainer off':>13}"
        f"{'graphs':>10}{'graphs/plain':>14}{'graphs/off':>12}{'off/plain':>11}  step",
    ]
    for row in r["rows"]:
        lines.append(
            f"  {_title(row):<12}{row['batch_size']:>6}{row['params']:>9,}"
            f"{row['plain_samples_per_s']:>12,.0f}{row['off_samples_per_s']:>13,.0f}"
            f"{row['graphs_samples_per_s']:>10,.0f}{_times(row['graphs_vs_plain']):>14}"
            f"{_times(row['graphs_vs_off']):>12}{_times(row['off_vs_plain']):>11}  {row['step_mode']}"
        )
    lines += [
        "  validation every epoch (a quarter of the samples, in batches of twice the batch), samples/s:",
        f"  {'template':<12}{'batch':>6}{'trainer off':>21}{'graphs':>10}{'graphs/off':>12}",
    ]
    for row in r["rows"]:
        lines.append(
            f"  {_title(row):<12}{row['batch_size']:>6}{row['val_off_samples_per_s']:>21,.0f}"
            f"{row['val_graphs_samples_per_s']:>10,.0f}{_times(row['val_graphs_vs_off']):>12}"
        )
    eager = [row for row in r["rows"] if row["step_mode"] != "graph"]
    reasons: dict[str, list[str]] = {}
    for row in eager:
        reasons.setdefault(row["step_reason"] or "no reason given", []).append(
            f"{_title(row)} b{row['batch_size']}"
        )
    for reason, rows in reasons.items():
        lines.append(f"  eager with graphs asked for ({', '.join(rows)}): {reason}")
    for g in r["goals"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[g["met"]]
        where = f" (worst: {g['row']})" if "row" in g else ""
        lines.append(
            f"  {g['goal']}: {_times(g['value'])}{where}  (goal ≥ {g['least']:.2f}: {verdict})"
        )
    if eager:
        lines.append(
            f"  (a row that trained eagerly both ways runs the same step twice: it is held to "
            f"≥ {SAME_STEP_NOISE:.2f}, the noise of two identical runs)"
        )
    lines.append(f"  ({r['seconds']:.0f} s in all)")
    return "\n".join(lines)
