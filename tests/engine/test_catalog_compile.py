"""Every catalog layer builds, runs, and matches its inferred shape and parameter count."""

from __future__ import annotations

import pytest
import torch

from tests.catalog_cases import CASE_IDS, CASES, Case
from workbench.core.catalog import TensorSpec, get
from workbench.core.graph import Graph
from workbench.core.shapes import analyze
from workbench.engine.compiler import GraphModule, count_parameters
from workbench.engine.modules import Recurrent, build_layer, sinusoidal_table

BATCH = 3


def _batch(spec: TensorSpec, high: int = 10) -> torch.Tensor:
    shape = (BATCH, *spec.shape)
    if spec.dtype == "int64":
        return torch.randint(0, high, shape)
    return torch.randn(shape)


def _inputs(case: Case, params: dict) -> list[torch.Tensor]:
    if not case.inputs:  # an Input node is fed the model's input itself
        return [_batch(TensorSpec(case.expected, case.dtype))]
    high = params["num_embeddings"] if case.type == "Embedding" else 10
    return [_batch(s, high) for s in case.inputs]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_layer_builds_runs_and_matches_inference(case: Case) -> None:
    layer = get(case.type)
    params = layer.validate_params(case.params)
    out = layer.infer(params, case.inputs)
    module = build_layer(layer, params, case.inputs)
    assert isinstance(module, torch.nn.Module)
    assert count_parameters(module) == layer.count_params(params, case.inputs, out)
    xs = _inputs(case, params)
    module.eval()
    with torch.no_grad():
        y = module(*xs)
    assert tuple(y.shape) == (BATCH, *out.shape)
    assert y.dtype == (torch.int64 if out.dtype == "int64" else torch.float32)
    if out.dtype == "float32":
        assert torch.isfinite(y).all()
    # Training mode runs too and gradients reach every trainable weight.
    if out.dtype == "float32" and any(p.requires_grad for p in module.parameters()):
        module.train()
        xs = [x.requires_grad_() if x.is_floating_point() else x for x in xs]
        y = module(*xs)
        assert tuple(y.shape) == (BATCH, *out.shape)
        y.float().square().mean().backward()
        assert all(p.grad is not None for p in module.parameters() if p.requires_grad)


def test_bidirectional_last_joins_forward_end_and_backward_end() -> None:
    for cls in (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN):
        rnn = cls(3, 5, num_layers=2, batch_first=True, bidirectional=True)
        module = Recurrent(rnn, last=True).eval()
        x = torch.randn(BATCH, 7, 3)
        with torch.no_grad():
            y = module(x)
            _, h = rnn(x)
        h_n = h[0] if isinstance(h, tuple) else h
        # The final hidden states of the top layer: forward (-2) and backward (-1).
        assert torch.allclose(y, torch.cat([h_n[-2], h_n[-1]], dim=1), atol=1e-6)


def test_sinusoidal_encoding_is_fixed_and_not_trainable() -> None:
    layer = get("PositionalEncoding")
    specs = [TensorSpec((6, 9))]
    module = build_layer(layer, layer.validate_params({}), specs)
    assert count_parameters(module) == 0
    assert "table" not in module.state_dict()
    x = torch.zeros(2, 6, 9)
    assert torch.allclose(module.eval()(x)[0], sinusoidal_table(6, 9))
    assert torch.allclose(sinusoidal_table(6, 9)[0, 0::2], torch.zeros(5))


def test_branching_graph_with_add_and_concat() -> None:
    g = Graph()
    g.add_node("Input", {"shape": [3, 8, 8]}, node_id="inp")
    g.add_node("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, node_id="stem")
    g.add_node("ReLU", node_id="relu")
    g.add_node("Conv2d", {"out_channels": 8, "kernel_size": 1}, node_id="proj")
    g.add_node("Add", node_id="add")
    g.add_node("Concat", {"inputs": 3, "dim": 1}, node_id="cat")
    g.add_node("MaxPool2d", node_id="pool")
    g.add_node("GlobalAvgPool", node_id="gap")
    g.add_node("Output", {"num_classes": 5}, node_id="out")
    g.connect("inp", "stem")
    g.connect("stem", "relu")
    g.connect("stem", "proj")
    g.connect("relu", "add", 0)
    g.connect("proj", "add", 1)
    g.connect("add", "cat", 0)
    g.connect("stem", "cat", 1)
    g.connect("inp", "cat", 2)
    g.connect("cat", "pool")
    g.connect("pool", "gap")
    g.connect("gap", "out")
    a = analyze(g)
    assert a.ok, a.issues
    assert a.nodes["cat"].output.shape == (19, 8, 8)
    assert a.nodes["gap"].output.shape == (19,)
    model = GraphModule(g, a).eval()
    assert count_parameters(model) == a.total_params
    with torch.no_grad():
        y = model(torch.randn(BATCH, 3, 8, 8))
    assert tuple(y.shape) == (BATCH, 5)


def test_sequence_graph_with_embedding_attention_and_recurrence() -> None:
    g = Graph()
    g.add_node("Input", {"shape": [12], "dtype": "int64"}, node_id="inp")
    g.add_node("Embedding", {"num_embeddings": 30, "embedding_dim": 16}, node_id="emb")
    g.add_node("PositionalEncoding", {"kind": "learned"}, node_id="pos")
    g.add_node("MultiHeadSelfAttention", node_id="att")
    g.add_node("Add", node_id="res")
    g.add_node("LayerNorm", node_id="norm")
    g.add_node("LSTM", {"hidden_size": 8, "bidirectional": True}, node_id="lstm")
    g.add_node("Output", {"num_classes": 2}, node_id="out")
    for src, dst, port in [
        ("inp", "emb", 0),
        ("emb", "pos", 0),
        ("pos", "att", 0),
        ("pos", "res", 0),
        ("att", "res", 1),
        ("res", "norm", 0),
        ("norm", "lstm", 0),
        ("lstm", "out", 0),
    ]:
        g.connect(src, dst, port)
    a = analyze(g)
    assert a.ok, a.issues
    model = GraphModule(g, a).eval()
    assert count_parameters(model) == a.total_params
    with torch.no_grad():
        y = model(torch.randint(0, 30, (BATCH, 12)))
    assert tuple(y.shape) == (BATCH, 2)
