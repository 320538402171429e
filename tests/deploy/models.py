"""Exported models for the deploy tests: tiny untrained torch nets with genuine preprocessing.

Each model is exported with the preprocessing a real dataset preparation produced (an
image folder, a CSV table, .npz arrays), so the metadata is the genuine article.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tests.data.image_fixtures import image_folder
from workbench import __version__
from workbench.data.arrays import ArraySource
from workbench.data.base import DataSettings
from workbench.data.images import ImageFolderSource
from workbench.data.tables import TableSource
from workbench.deploy.metadata import ModelInfo, metadata_props
from workbench.export.onnx_export import export_onnx


@dataclass
class Exported:
    """An exported model and the data it was made from."""

    path: Path
    info: ModelInfo
    files: list[Path] = field(default_factory=list)  # inputs to predict from


class _Net(nn.Module):
    """``forward(x)``: the exporter names the input after the argument."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _MeanEmbedding(nn.Module):
    def __init__(self, vocab: int, classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.head = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x).mean(dim=1))


def _export(
    model: nn.Module, info: ModelInfo, path: Path, *, sequence_axis: bool = False
) -> ModelInfo:
    """Export with ``info``'s metadata; the exporter's own input name/shape/dtype stand."""
    props = {k: v for k, v in metadata_props(info).items() if not k.startswith("input_")}
    report = export_onnx(
        model,
        info.input_shape[1:],
        info.input_dtype,
        path,
        metadata=props,  # type: ignore[arg-type]
        sequence_axis=sequence_axis,
    )
    assert report.path == path
    return info


def _output(
    task: str, size: int, activation: str, names: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "logits" if task == "classification" else "values",
        "activation": activation,
        "size": size,
    }
    if names:
        out["names"] = names
    return out


def make_image_model(models_dir: Path) -> Exported:
    """3 classes of 12x10 RGB PNGs, resized to 8x8; a small conv net; softmax."""
    root = image_folder(models_dir / "pets", {"cat": 5, "dog": 5, "fox": 5}, size=(12, 10))
    prep = ImageFolderSource.scan(root).prepare(
        DataSettings(image_size=(8, 8), val_ratio=0.2, test_ratio=0.2)
    )
    assert prep.classes is not None
    torch.manual_seed(0)
    net = _Net(
        nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(6 * 4 * 4, 3),
        )
    )
    info = ModelInfo(
        task="classification",
        input_name="x",
        input_shape=["batch", 3, 8, 8],
        input_dtype="float32",
        preprocessing=prep.preprocessing,
        classes=prep.classes,
        output=_output("classification", 3, "softmax"),
        metrics={"epoch": 3, "val_loss": 0.5, "val_accuracy": 0.8},
        extra={"workbench_version": __version__, "project": "pets", "run": "run-1"},
    )
    path = models_dir / "pets.onnx"
    _export(net, info, path)
    return Exported(path, info, sorted(root.rglob("*.png")))


FRUIT_ROWS = [
    # weight, length, colour, fruit
    (
        150 + 7 * (i % 9) + (i % 4),
        7.0 + 0.3 * (i % 5),
        ("red", "green", "yellow")[i % 3],
        ("apple", "banana", "cherry")[(i // 2) % 3],
    )
    for i in range(60)
]


def make_table_model(models_dir: Path) -> Exported:
    """A CSV with an id, two numeric and one categorical feature, 3 classes; an MLP; softmax."""
    csv = models_dir / "fruit.csv"
    lines = ["id,weight,length,colour,fruit"] + [
        f"{i},{w},{ln:.1f},{c},{f}" for i, (w, ln, c, f) in enumerate(FRUIT_ROWS)
    ]
    csv.write_text("\n".join(lines) + "\n")
    prep = TableSource.scan(csv, target="fruit").prepare(DataSettings(target="fruit"))
    assert prep.classes == ["apple", "banana", "cherry"]
    assert [f["name"] for f in prep.preprocessing["features"]] == ["weight", "length", "colour"]
    width = prep.input_shape[0]
    torch.manual_seed(1)
    net = _Net(nn.Sequential(nn.Linear(width, 16), nn.Tanh(), nn.Linear(16, 3)))
    info = ModelInfo(
        task="classification",
        input_name="x",
        input_shape=["batch", width],
        input_dtype="float32",
        preprocessing=prep.preprocessing,
        classes=prep.classes,
        output=_output("classification", 3, "softmax"),
        extra={"workbench_version": __version__, "project": "fruit", "run": "run-1"},
    )
    path = models_dir / "fruit.onnx"
    _export(net, info, path)
    # New rows to predict: other column order, no id, a missing value, an unseen colour, the target kept.
    new = models_dir / "new_fruit.csv"
    new.write_text(
        "colour,length,weight,fruit\n"
        "red,7.3,151,apple\n"
        "green,8.1,190,banana\n"
        "yellow,,172,cherry\n"
        "purple,7.6,160,apple\n"
        ",7.0,155,cherry\n"
    )
    return Exported(path, info, [new])


def make_token_model(models_dir: Path) -> Exported:
    """Token ids (N, 6) in an .npz, 2 classes; an Embedding + mean; sigmoid per class."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 20, (40, 6)).astype(np.int64)
    x[0, 0] = 19  # the vocabulary is 0..19
    y = rng.integers(0, 2, 40)
    data = models_dir / "tokens.npz"
    np.savez(data, x=x, y=y, classes=np.array(["neg", "pos"]))
    prep = ArraySource.scan(data).prepare(DataSettings())
    assert prep.preprocessing["layout"] == "tokens" and prep.preprocessing["vocab_size"] == 20
    torch.manual_seed(2)
    info = ModelInfo(
        task="classification",
        input_name="x",
        input_shape=["batch", 6],
        input_dtype="int64",
        preprocessing=prep.preprocessing,
        classes=prep.classes,
        output=_output("classification", 2, "sigmoid"),
    )
    path = models_dir / "tokens.onnx"
    _export(_MeanEmbedding(20, 2), info, path, sequence_axis=True)
    new = models_dir / "new_tokens.npy"
    np.save(new, x[:5])
    return Exported(path, info, [new])


def make_regression_model(models_dir: Path) -> Exported:
    """4 float features in an .npz, 2 regression targets; an MLP."""
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 2.0, (50, 4)).astype(np.float32)
    y = np.stack([x.sum(axis=1), x[:, 0] * 0.5], axis=1).astype(np.float32) + rng.normal(
        0, 0.1, (50, 2)
    ).astype(np.float32)
    data = models_dir / "houses.npz"
    np.savez(data, x=x, y=y)
    prep = ArraySource.scan(data).prepare(DataSettings())
    assert prep.task == "regression" and prep.preprocessing["mean"] is not None
    torch.manual_seed(3)
    net = _Net(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    info = ModelInfo(
        task="regression",
        input_name="x",
        input_shape=["batch", 4],
        input_dtype="float32",
        preprocessing=prep.preprocessing,
        output=_output("regression", 2, "none", ["price", "area"]),
    )
    path = models_dir / "houses.onnx"
    _export(net, info, path)
    new = models_dir / "new_houses.npz"
    np.savez(new, x=x[:3])
    return Exported(path, info, [new])


def one_line(text: str) -> bool:
    """True for a single line of text that is not a traceback."""
    return text.count("\n") <= 1 and "Traceback" not in text and text.strip() != ""


def close(a: float, b: float, tol: float = 1e-5) -> bool:
    """``math.isclose`` with an absolute tolerance (for probabilities)."""
    return math.isclose(a, b, rel_tol=0.0, abs_tol=tol)
