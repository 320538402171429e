"""The training benchmark of ``workbench bench``: the workbench trainer against a plain PyTorch loop.

Both train the LeNet template on the same synthetic 1×28×28 tensors (20,000 samples,
batches of 128, Adam, CPU, two epochs) in this process with the same thread count.

The two are interleaved batch by batch: the workbench :class:`Trainer` runs its two
epochs, and after each of its batches a callback runs the next batch of the plain loop
(its own model, optimizer and shuffle). Any slowdown of the machine (other processes,
turbo, thermal limits) therefore hits both within milliseconds of each other, which makes
the ratio far steadier than timing whole runs one after the other. The plain loop's
batches are timed on their own; the workbench's time is the whole ``fit()`` call (set-up,
epoch ends and all) minus the time spent in that callback.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from workbench.data.base import Split
from workbench.data.prepared import Prepared, TensorData
from workbench.engine.config import TrainConfig
from workbench.engine.devices import default_cpu_threads
from workbench.engine.trainer import Callback, Trainer


def synthetic_digits(samples: int = 20_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 1×28×28 images and labels 0–9 (the math costs the same as real digits)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(samples, 1, 28, 28, generator=g), torch.randint(
        0, 10, (samples,), generator=g
    )


def _lenet() -> torch.nn.Module:
    from workbench.core.templates import make_project
    from workbench.engine.compiler import compile_graph

    torch.manual_seed(0)
    return compile_graph(make_project("lenet").graph)


class PlainLoop:
    """The loop one would write by hand, advanced one batch per :meth:`step`."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
        self.x, self.y, self.epochs, self.batch_size = x, y, epochs, batch_size
        self.seconds = 0.0
        self.batches_done = 0
        start = time.perf_counter()
        self.model = _lenet()
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.generator = torch.Generator().manual_seed(0)
        self._order = self._indices()
        self.seconds += time.perf_counter() - start

    def _indices(self) -> Iterator[torch.Tensor]:
        n, bs = len(self.x), self.batch_size
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=self.generator)
            for i in range(0, n, bs):
                yield perm[i : i + bs]

    def step(self) -> bool:
        """Train one batch; False when the loop is done."""
        start = time.perf_counter()
        idx = next(self._order, None)
        if idx is None:
            return False
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(self.x[idx]), self.y[idx])
        loss.backward()
        self.opt.step()
        self.seconds += time.perf_counter() - start
        self.batches_done += 1
        return True


class _Interleave(Callback):
    """Runs one plain batch after each workbench batch, and keeps its own time apart."""

    def __init__(self, plain: PlainLoop) -> None:
        self.plain = plain
        self.seconds = 0.0

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        """Run the plain loop's next batch."""
        start = time.perf_counter()
        self.plain.step()
        self.seconds += time.perf_counter() - start


def _round(
    x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, threads: int
) -> tuple[float, float]:
    """One interleaved run; returns (workbench, plain) samples per second."""
    n = len(x)
    empty = TensorData(x[:0], y[:0])
    prepared = Prepared(
        "classification",
        [str(i) for i in range(10)],
        (1, 28, 28),
        "float32",
        1,
        Split(np.arange(n), np.arange(0), np.arange(0)),
        TensorData(x, y),
        empty,
        empty,
    )
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        optimizer="adam",
        lr=1e-3,
        device="cpu",
        cpu_threads=threads,
        seed=0,
    )
    plain = PlainLoop(x, y, epochs, batch_size)
    interleave = _Interleave(plain)
    trainer = Trainer(_lenet(), prepared, config, [interleave])
    start = time.perf_counter()
    trainer.fit()
    workbench_seconds = time.perf_counter() - start - interleave.seconds
    torch.set_num_threads(threads)
    while plain.step():  # never needed when both have as many batches; kept for safety
        pass
    return epochs * n / workbench_seconds, epochs * n / plain.seconds


def run_train_benchmark(
    samples: int = 20_000,
    batch_size: int = 128,
    epochs: int = 2,
    rounds: int = 3,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time the workbench trainer and a plain loop, interleaved batch by batch, on the same data.

    Args:
        samples: Synthetic training samples.
        batch_size: Batch size of both loops.
        epochs: Epochs per timed run.
        rounds: Interleaved runs; the medians over them are reported.
        threads: CPU threads for both (default: all cores but one, as the app trains).
        progress: Called with a line of text after each round.

    Returns:
        ``{"workbench_samples_per_s", "plain_samples_per_s", "ratio", ...}``: medians over
        the rounds; ``ratio`` is the median of the rounds' workbench/plain ratios.
    """
    threads = threads or default_cpu_threads()
    previous_threads = torch.get_num_threads()
    x, y = synthetic_digits(samples)
    results: dict[str, list[float]] = {"workbench": [], "plain": []}
    try:
        torch.set_num_threads(threads)
        # warm-up: first-call costs (allocator, kernels, lazy imports) are paid outside the timing
        _round(x[: batch_size * 4], y[: batch_size * 4], 1, batch_size, threads)
        for r in range(rounds):
            w, p = _round(x, y, epochs, batch_size, threads)
            results["workbench"].append(w)
            results["plain"].append(p)
            if progress is not None:
                progress(
                    f"round {r + 1}/{rounds}: workbench {w:,.0f} samples/s, plain {p:,.0f} samples/s, ratio {w / p:.3f}"
                )
    finally:
        torch.set_num_threads(previous_threads)
    ratios = [w / p for w, p in zip(results["workbench"], results["plain"], strict=True)]
    return {
        "workbench_samples_per_s": round(statistics.median(results["workbench"]), 1),
        "plain_samples_per_s": round(statistics.median(results["plain"]), 1),
        "ratio": round(statistics.median(ratios), 4),
        "rounds": rounds,
        "ratios": [round(v, 4) for v in ratios],
        "samples": samples,
        "batch_size": batch_size,
        "epochs": epochs,
        "threads": threads,
        "torch": torch.__version__,
    }


def format_train_results(results: dict[str, Any]) -> str:
    """The human-readable lines of ``workbench bench`` for training."""
    return (
        f"training (LeNet, {results['samples']:,} samples × {results['epochs']} epochs, batch {results['batch_size']}, "
        f"Adam, CPU, {results['threads']} thread(s), interleaved batch by batch, median of {results['rounds']} rounds):\n"
        f"  workbench trainer  {results['workbench_samples_per_s']:>10,.0f} samples/s\n"
        f"  plain PyTorch loop {results['plain_samples_per_s']:>10,.0f} samples/s\n"
        f"  ratio              {results['ratio']:>10.3f}  (goal ≥ 1.0; rounds: {', '.join(f'{r:.3f}' for r in results['ratios'])})"
    )
