"""An exported file is enough: onnxruntime + numpy + Pillow, reading only its metadata,
reproduce what ``workbench predict --json`` says.

The preprocessing is written out here from the metadata's description, on purpose without
the workbench's own code, so a change on either side that breaks the contract fails here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from tests.deploy.models import Exported
from workbench.cli import main


def _session(path: Path) -> tuple[ort.InferenceSession, dict[str, Any]]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    assert props["format"] == "model-workbench-onnx"
    meta = {k: json.loads(props[k]) for k in ("classes", "preprocessing", "output", "input_shape")}
    meta["input_name"] = props["input_name"]
    return session, meta


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z.astype(np.float64) - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _image_inputs(files: list[Path], pre: dict[str, Any]) -> np.ndarray:
    h, w = pre["size"]
    out = []
    for f in files:
        im = Image.open(f).convert("RGB").resize((w, h), Image.Resampling.BILINEAR)
        out.append(np.asarray(im).transpose(2, 0, 1))
    x = np.stack(out).astype(np.float32) * np.float32(1 / 255)
    mean = np.asarray(pre["mean"], np.float32).reshape(1, -1, 1, 1)
    inv_std = (1.0 / np.asarray(pre["std"], np.float64)).astype(np.float32).reshape(1, -1, 1, 1)
    return (x - mean) * inv_std


def _table_inputs(path: Path, pre: dict[str, Any]) -> np.ndarray:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.zeros((len(rows), pre["num_features"]), np.float32)
    for i, row in enumerate(rows):
        at = 0
        for feat in pre["features"]:
            cell = row[feat["name"]].strip()
            if feat["type"] == "numeric":
                x[i, at] = (
                    0.0 if cell == "" else (float(cell) - feat["mean"]) / feat["std"]
                )  # missing: the mean
                at += 1
            else:
                cats = feat["categories"]
                value = (
                    cell if cell else feat["fill"]
                )  # missing: the most frequent; unseen: all zeros
                if value in cats:
                    x[i, at + cats.index(value)] = 1.0
                at += len(cats)
    return x


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["predict", *args, "--json", "--top-k", "3"]) == 0
    return json.loads(capsys.readouterr().out)


def _compare(
    cli: list[dict[str, Any]], names: list[str], probs: np.ndarray, classes: list[str]
) -> None:
    assert [p["input"] for p in cli] == names
    for p, row in zip(cli, probs, strict=True):
        order = np.argsort(-row)
        assert p["label"] == classes[order[0]]
        assert abs(p["probability"] - row[order[0]]) < 1e-5
        assert [label for label, _ in p["top_k"]] == [classes[j] for j in order[:3]]
        assert all(abs(v - row[classes.index(label)]) < 1e-5 for label, v in p["top_k"])


def test_an_image_model_is_reproduced_with_onnxruntime_alone(
    image_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    session, meta = _session(image_model.path)
    files = image_model.files
    logits = session.run(None, {meta["input_name"]: _image_inputs(files, meta["preprocessing"])})[0]
    probs = _softmax(logits)
    cli = _cli_json(capsys, str(image_model.path), *map(str, files))
    _compare(cli, [str(f) for f in files], probs, meta["classes"])


def test_a_table_model_is_reproduced_with_onnxruntime_alone(
    table_model: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    session, meta = _session(table_model.path)
    new = table_model.files[0]
    x = _table_inputs(new, meta["preprocessing"])
    assert x[2, 1] == 0.0 and x[3, 2:].sum() == 0.0  # a missing length, an unseen colour
    probs = _softmax(session.run(None, {meta["input_name"]: x})[0])
    cli = _cli_json(capsys, str(table_model.path), str(new))
    _compare(cli, [f"{new}:{i}" for i in range(1, 6)], probs, meta["classes"])
