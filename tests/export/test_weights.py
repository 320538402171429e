"""Weights export: a weights_only state dict and its JSON architecture round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.graph import Graph
from workbench.core.templates import make_project
from workbench.engine.compiler import compile_graph
from workbench.export.onnx_export import ExportError
from workbench.export.weights import export_weights, load_weights


@pytest.mark.parametrize("name", ["resnet", "gru"])
def test_weights_round_trip(name: str, tmp_path: Path) -> None:
    graph = make_project(name).graph
    torch.manual_seed(1)
    model = compile_graph(graph)
    out = tmp_path / "model.pt"
    arch = export_weights(model, graph.to_dict(), out)
    assert arch == tmp_path / "model.json"

    torch.load(out, weights_only=True)  # loadable safely
    state, graph_dict = load_weights(out)
    original = model.state_dict()
    assert set(state) == set(original)
    for key, value in original.items():
        assert torch.equal(state[key], value), key
    assert graph_dict == json.loads(json.dumps(graph.to_dict()))

    rebuilt = compile_graph(Graph.from_dict(graph_dict))
    rebuilt.load_state_dict(state)
    inp = graph.of_type("Input")[0]
    x = (
        torch.randint(0, 100, (3, *inp.params["shape"]))
        if inp.params["dtype"] == "int64"
        else torch.randn(3, *inp.params["shape"])
    )
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), model.eval()(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.pt"]


def test_missing_architecture_is_reported(tmp_path: Path) -> None:
    graph = make_project("mlp").graph
    out = tmp_path / "w.pt"
    export_weights(compile_graph(graph), graph.to_dict(), out)
    (tmp_path / "w.json").unlink()
    with pytest.raises(ExportError, match="architecture file is missing"):
        load_weights(out)


def test_not_a_weights_file(tmp_path: Path) -> None:
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ExportError, match="not a readable weights file"):
        load_weights(bad)
    with pytest.raises(ExportError, match="no such weights file"):
        load_weights(tmp_path / "missing.pt")
