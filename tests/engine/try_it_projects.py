"""Small trained projects for the Try it tests (engine and window): images and tables, each
trained for a few epochs on generated data and exported to ONNX with ``workbench export``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from workbench.cli import main
from workbench.engine.runs import train_project

#: Square images of the image project (and the size its model reads).
SIZE = 28


@dataclass
class Trained:
    """A trained project and its ONNX export."""

    project: Path
    onnx: Path
    data: Path
    run_id: str


def draw(kind: str, rng: np.random.Generator, size: int = SIZE) -> Image.Image:
    """A dark noisy RGB image with a bright ``square``, a bright horizontal ``bar``, or
    nothing (``empty``)."""
    a = rng.integers(0, 40, (size, size)).astype(np.uint8)
    if kind == "square":
        y, x = rng.integers(0, size - 10, 2)
        a[y : y + 10, x : x + 10] = rng.integers(200, 256, (10, 10))
    elif kind == "bar":
        y = int(rng.integers(0, size - 4))
        a[y : y + 4, 2 : size - 2] = 230
    return Image.fromarray(np.stack([a, a, a], axis=-1), "RGB")


def _isolated(tmp: Path) -> pytest.MonkeyPatch:
    """User settings and caches in ``tmp`` while a shared fixture trains (no test's own yet)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_CONFIG_DIR", os.fspath(tmp / "config"))
    mp.setenv("WORKBENCH_CACHE_DIR", os.fspath(tmp / "cache"))
    return mp


def _export(project: Path, onnx: Path) -> None:
    assert main(["export", os.fspath(project), "-o", os.fspath(onnx)]) == 0


def image_project(root: Path, per_class: int = 16, epochs: int = 3) -> Trained:
    """LeNet trained on squares, bars and empty images (RGB, 28×28), exported to ONNX."""
    rng = np.random.default_rng(0)
    data = root / "shapes"
    for kind in ("square", "bar", "empty"):
        (data / kind).mkdir(parents=True)
        for i in range(per_class):
            draw(kind, rng).save(data / kind / f"{i:02d}.png")
    project = root / "shapes.wbproj"
    mp = _isolated(root)
    try:
        assert main(["new", "--template", "lenet", os.fspath(project)]) == 0
        result = train_project(
            project, data=data, epochs=epochs, batch_size=8, seed=0, device="cpu", lr=0.01
        )
        _export(project, root / "shapes.onnx")
    finally:
        mp.undo()
    return Trained(project, root / "shapes.onnx", data, result.run_id)


#: Columns of the table project: two numbers, a category, and the class to predict.
FRUIT_HEADER = "weight,length,colour,fruit"


def fruit_rows(n: int, seed: int = 0) -> list[tuple[float, float, str, str]]:
    """Rows of the fruit table: weight and length depend on the fruit, colour mostly."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        fruit = ("apple", "banana", "cherry")[i % 3]
        weight = {"apple": 150.0, "banana": 120.0, "cherry": 10.0}[fruit] + rng.normal(0, 8)
        length = {"apple": 8.0, "banana": 18.0, "cherry": 2.0}[fruit] + rng.normal(0, 0.8)
        colour = {"apple": "red", "banana": "yellow", "cherry": "red"}[fruit]
        if rng.random() < 0.2:
            colour = "green"
        rows.append((round(weight, 1), round(length, 2), colour, fruit))
    return rows


def table_project(root: Path, rows: int = 90, epochs: int = 5) -> Trained:
    """An MLP trained on the fruit table (CSV), exported to ONNX."""
    data = root / "fruit.csv"
    lines = [FRUIT_HEADER] + [f"{w},{ln},{c},{f}" for w, ln, c, f in fruit_rows(rows)]
    data.write_text("\n".join(lines) + "\n")
    project = root / "fruit.wbproj"
    mp = _isolated(root)
    try:
        assert main(["new", "--template", "mlp", os.fspath(project)]) == 0
        result = train_project(
            project,
            data=data,
            target="fruit",
            epochs=epochs,
            batch_size=16,
            seed=0,
            device="cpu",
            lr=0.01,
        )
        _export(project, root / "fruit.onnx")
    finally:
        mp.undo()
    return Trained(project, root / "fruit.onnx", data, result.run_id)


def predict_json(
    onnx: Path, inputs: list[Path], capsys: pytest.CaptureFixture[str], top_k: int = 5
) -> list[dict[str, Any]]:
    """What ``workbench predict --json`` prints for the inputs."""
    capsys.readouterr()
    code = main(
        ["predict", os.fspath(onnx), *map(os.fspath, inputs), "--json", "--top-k", str(top_k)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    return list(json.loads(out))
