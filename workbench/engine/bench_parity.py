"""Does the workbench reach what a hand-written PyTorch script reaches? A side-by-side check.

For each pair (template, sample dataset) — LeNet on the shapes image folder, the MLP on
the fruit table (classification) and on the housing table (regression) — the same
prepared tensors are trained for the same number of epochs twice: once through the
workbench (template graph, :class:`Trainer`) and once by a plain script with its own
``nn.Sequential`` model written by hand, Adam and the textbook loop. Both report the
validation figure of the last epoch. Run it with ``workbench bench --parity``.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from workbench.core.templates import make_project
from workbench.data import open_dataset
from workbench.data.link import default_settings, fit_model_to_data
from workbench.data.prepared import Prepared
from workbench.data.samples import sample_path
from workbench.engine.compiler import compile_graph
from workbench.engine.config import TrainConfig
from workbench.engine.trainer import Trainer

CASES = (
    ("lenet", "shapes", 10),
    ("mlp", "tabular", 20),
    ("mlp", "housing", 40),
)


def _tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A split as two tensors, preprocessed exactly as the workbench feeds it."""
    xs, ys = zip(*data.iter_batches(4096, shuffle=False), strict=True)
    return torch.cat(xs), torch.cat(ys)


def _hand_written(template: str, prepared: Prepared) -> nn.Module:
    """The model as one would type it from the tutorial, not from the graph."""
    out = prepared.num_classes or prepared.num_targets
    if template == "lenet":
        c, h, w = prepared.input_shape
        flat = 32 * (((h - 4) // 2 - 4) // 2) * (((w - 4) // 2 - 4) // 2)
        return nn.Sequential(
            nn.Conv2d(c, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(flat, 128),
            nn.ReLU(),
            nn.Linear(128, out),
        )
    (f,) = prepared.input_shape
    return nn.Sequential(
        nn.Linear(f, 64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, out),
    )


def _score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(x)
    if task == "classification":
        return float((pred.argmax(1) == y).float().mean())
    ss_res = float(((pred - y) ** 2).sum())
    ss_tot = float(((y - y.mean(0)) ** 2).sum())
    return 1.0 - ss_res / ss_tot


def plain_script(
    template: str, prepared: Prepared, epochs: int, batch_size: int, lr: float, seed: int
) -> float:
    """The hand-written training loop; returns the last epoch's validation figure."""
    torch.manual_seed(seed)
    model = _hand_written(template, prepared)
    x, y = _tensors(prepared.train)
    xv, yv = _tensors(prepared.val)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss() if prepared.task == "classification" else nn.MSELoss()
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return _score(model, xv, yv, prepared.task)


def workbench_run(
    template: str,
    prepared: Prepared,
    graph: Any,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> float:
    """The same training through the workbench; returns the last epoch's validation figure."""
    torch.manual_seed(seed)
    model = compile_graph(graph)
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed, device="cpu"
    )
    result = Trainer(model, prepared, config).fit()
    key = "val_accuracy" if prepared.task == "classification" else "val_r2"
    return float(result.final[key])


def run_parity(epochs_scale: float = 1.0, seed: int = 0) -> list[dict[str, Any]]:
    """Train every case both ways; one result row per case."""
    rows = []
    for template, sample, epochs in CASES:
        epochs = max(1, int(epochs * epochs_scale))
        source = open_dataset(sample_path(sample))
        settings = default_settings(source)
        settings.seed = seed
        graph = make_project(template).graph
        fit_model_to_data(graph, source, settings)
        prepared = source.prepare(settings)
        t = time.perf_counter()
        ours = workbench_run(template, prepared, graph, epochs, 32, 1e-3, seed)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        theirs = plain_script(template, prepared, epochs, 32, 1e-3, seed)
        t_theirs = time.perf_counter() - t
        rows.append(
            {
                "template": template,
                "dataset": sample,
                "task": prepared.task,
                "metric": "val_accuracy" if prepared.task == "classification" else "val_r2",
                "epochs": epochs,
                "workbench": round(ours, 4),
                "plain_pytorch": round(theirs, 4),
                "workbench_seconds": round(t_ours, 2),
                "plain_seconds": round(t_theirs, 2),
            }
        )
    return rows


def format_parity(rows: list[dict[str, Any]]) -> str:
    """A small table of the results."""
    lines = [
        f"{'template':<8} {'dataset':<10} {'metric':<13} {'epochs':>6} {'workbench':>10} {'plain':>8}"
    ]
    for r in rows:
        lines.append(
            f"{r['template']:<8} {r['dataset']:<10} {r['metric']:<13} {r['epochs']:>6} "
            f"{r['workbench']:>10.4f} {r['plain_pytorch']:>8.4f}"
        )
    return "\n".join(lines)
