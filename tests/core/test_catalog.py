"""The layer catalog: docs, defaults, shape inference, params and helpful errors."""

from __future__ import annotations

import json
import re

import pytest

from tests.catalog_cases import CASE_IDS, CASES, Case, f, i
from workbench.core.catalog import (
    CATALOG,
    GROUPS,
    ParamError,
    ShapeError,
    TensorSpec,
    by_group,
    get,
)
from workbench.core.graph import Graph
from workbench.core.shapes import analyze

# --- the catalog as a whole ----------------------------------------------------------


@pytest.mark.parametrize("name", list(CATALOG))
def test_layer_is_documented_and_defaults_validate(name: str) -> None:
    layer = CATALOG[name]
    assert layer.name == name
    assert layer.group in GROUPS
    assert layer.doc and "\n" not in layer.doc and len(layer.doc) <= 120, layer.doc
    names = [p.name for p in layer.params]
    assert len(names) == len(set(names))
    for p in layer.params:
        assert p.doc and "\n" not in p.doc, (name, p.name)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name)
        assert p.coerce(p.default) == p.default
        if p.kind == "choice":
            assert p.default in p.choices
    defaults = layer.defaults()
    assert layer.validate_params({}) == defaults
    assert layer.validate_params(defaults) == defaults
    assert layer.num_inputs(defaults) >= 0
    if isinstance(layer.inputs, str):
        assert layer.param(layer.inputs).kind == "int"
    assert isinstance(layer.onnx, bool)


def test_table_covers_every_layer_type() -> None:
    covered = {c.type for c in CASES}
    assert covered == set(CATALOG), sorted(set(CATALOG) ^ covered)
    # Several cases for every type that has parameters.
    for name, layer in CATALOG.items():
        if layer.params:
            assert sum(c.type == name for c in CASES) >= 2, name


def test_groups_in_palette_order() -> None:
    groups = by_group()
    assert list(groups) == [g for g in GROUPS if g in groups]
    assert sum(len(v) for v in groups.values()) == len(CATALOG)
    assert {layer.name for layer in groups["Merge"]} == {"Add", "Concat"}


def test_catalog_imports_without_torch() -> None:
    import subprocess
    import sys

    code = "import sys, workbench.core.catalog; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the table of cases --------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_infer_shape_counts_and_json_round_trip(case: Case) -> None:
    layer = get(case.type)
    params = layer.validate_params(case.params)
    assert layer.num_inputs(params) == len(case.inputs)
    out = layer.infer(params, case.inputs)
    assert out == TensorSpec(case.expected, case.dtype)
    n_params = layer.count_params(params, case.inputs, out)
    flops = layer.flops(params, case.inputs, out)
    assert isinstance(n_params, int) and n_params >= 0
    assert isinstance(flops, int) and flops >= 0
    # A params dict survives JSON unchanged.
    again = layer.validate_params(json.loads(json.dumps(params)))
    assert again == params
    assert {k: type(v) for k, v in again.items()} == {k: type(v) for k, v in params.items()}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case_as_a_graph_round_trips_and_infers(case: Case) -> None:
    g = Graph()
    node = g.add_node(case.type, case.params, pos=(10.5, -3.0))
    for port, spec in enumerate(case.inputs):
        src = g.add_node("Input", {"shape": list(spec.shape), "dtype": spec.dtype})
        g.connect(src.id, node.id, port)
    data = g.to_dict()
    back = Graph.from_dict(json.loads(json.dumps(data)))
    assert back.to_dict() == data
    assert back.nodes[node.id].params == node.params
    # Whole-graph inference gives the same shape (extra Inputs and the missing Output
    # are reported, but every node is still inferred).
    info = analyze(back).nodes[node.id]
    assert info.output == TensorSpec(case.expected, case.dtype)
    assert info.params == get(case.type).count_params(node.params, case.inputs, info.output)


# --- counts --------------------------------------------------------------------------


def test_known_counts() -> None:
    def count(name: str, params: dict, inputs: list[TensorSpec]) -> tuple[int, int]:
        layer = get(name)
        p = layer.validate_params(params)
        out = layer.infer(p, inputs)
        return layer.count_params(p, inputs, out), layer.flops(p, inputs, out)

    assert count("Conv2d", {"out_channels": 16, "kernel_size": 5}, [f(1, 28, 28)]) == (
        16 * 25 + 16,
        2 * 16 * 24 * 24 * 25 + 16 * 24 * 24,
    )
    assert (
        count("Conv1d", {"out_channels": 4, "kernel_size": 3, "bias": False}, [f(2, 10)])[0]
        == 4 * 2 * 3
    )
    assert count("Embedding", {"num_embeddings": 100, "embedding_dim": 8}, [i(5)])[0] == 800
    assert count("LSTM", {"hidden_size": 10}, [f(7, 3)])[0] == 4 * (10 * 3 + 10 * 10 + 2 * 10)
    assert count("GRU", {"hidden_size": 10, "bidirectional": True}, [f(7, 3)])[0] == 2 * 3 * (
        10 * 13 + 20
    )
    assert count("MultiHeadSelfAttention", {}, [f(5, 8)])[0] == 4 * 64 + 4 * 8
    assert count("PositionalEncoding", {"kind": "sinusoidal"}, [f(5, 8)])[0] == 0
    assert count("PositionalEncoding", {"kind": "learned"}, [f(5, 8)])[0] == 40
    assert count("LayerNorm", {}, [f(5, 8)])[0] == 16
    assert count("BatchNorm2d", {}, [f(6, 4, 4)])[0] == 12
    for name in ("ReLU", "Dropout", "Flatten", "MaxPool2d", "Add"):
        layer = get(name)
        assert layer.count_params(layer.defaults(), [f(2, 4, 4)], f(2, 4, 4)) == 0
    assert count("Linear", {"units": 4}, [f(3, 5)])[1] == 2 * 3 * 5 * 4
    assert (
        count("TransformerEncoderLayer", {}, [f(10, 32)])[1]
        > count("MultiHeadSelfAttention", {}, [f(10, 32)])[1]
    )


# --- helpful shape errors ------------------------------------------------------------


def _infer(name: str, params: dict, inputs: list[TensorSpec]) -> TensorSpec:
    layer = get(name)
    return layer.infer(layer.validate_params(params), inputs)


def _error(name: str, params: dict, inputs: list[TensorSpec]) -> str:
    with pytest.raises(ShapeError) as e:
        _infer(name, params, inputs)
    return str(e.value)


def test_exact_messages() -> None:
    assert _error("Linear", {}, [f(16, 5, 5)]) == (
        "Linear needs (N, features) but gets (N, 16, 5, 5): insert a Flatten before it"
    )
    assert _error("Embedding", {}, [f(784)]) == (
        "Embedding needs integer token ids (N, T) but gets (N, 784): set the Input's dtype to int64"
    )
    assert _error("Add", {}, [f(16, 12, 12), f(32, 12, 12)]) == (
        "Add needs inputs of equal shape but gets (N, 16, 12, 12) and (N, 32, 12, 12): "
        "make the channels match (e.g. a Conv2d with 16 out_channels)"
    )


@pytest.mark.parametrize(
    ("name", "params", "inputs", "needles"),
    [
        (
            "Conv2d",
            {},
            [f(784)],
            [
                "Conv2d needs (N, C, H, W) but gets (N, 784)",
                "reshape it to (N, C, H, W) with a Reshape",
                "1 28 28",
            ],
        ),
        ("Conv2d", {}, [f(3, 32)], ["(N, 3, 32)", "with a Reshape"]),
        (
            "Conv2d",
            {"kernel_size": 5},
            [f(16, 4, 4)],
            ["the input 4x4 is smaller than the 5x5 kernel: use padding or a smaller kernel"],
        ),
        (
            "Conv2d",
            {"kernel_size": 3, "dilation": 3},
            [f(1, 6, 6)],
            ["smaller than the 7x7 kernel", "dilated"],
        ),
        ("Conv1d", {"kernel_size": 5}, [f(2, 3)], ["input length 3", "kernel size 5"]),
        ("Conv1d", {}, [f(1, 28, 28)], ["Conv1d needs (N, C, L)", "2d"]),
        ("Conv2d", {}, [i(20)], ["Conv2d needs float input", "Embedding"]),
        (
            "MaxPool2d",
            {"kernel_size": 4},
            [f(8, 3, 3)],
            ["3x3 is smaller than the 4x4 pooling window"],
        ),
        ("MaxPool1d", {}, [f(10)], ["MaxPool1d needs (N, C, L) but gets (N, 10)"]),
        ("AvgPool2d", {}, [f(16)], ["AvgPool2d needs (N, C, H, W)"]),
        ("GlobalAvgPool", {}, [f(10)], ["nothing to pool"]),
        (
            "GlobalAvgPool",
            {"over": "time"},
            [f(3, 8, 8)],
            ["needs a sequence (N, T, F)", "spatial"],
        ),
        ("BatchNorm1d", {}, [f(3, 8, 8)], ["BatchNorm1d needs (N, C) or (N, C, L)", "BatchNorm2d"]),
        ("BatchNorm2d", {}, [f(8)], ["BatchNorm2d needs (N, C, H, W)", "BatchNorm1d"]),
        (
            "LSTM",
            {},
            [f(784)],
            [
                "LSTM needs a sequence (N, T, F) but gets (N, 784)",
                "use a Reshape to (T, F) or an Embedding",
            ],
        ),
        ("GRU", {}, [f(1, 28, 28)], ["e.g. shape 28 28"]),
        ("RNN", {}, [i(20)], ["put an Embedding before it"]),
        (
            "MultiHeadSelfAttention",
            {},
            [f(10, 30)],
            ["divisible by num_heads 4", "E = 30", "1, 2, 3, 5, 6, 10, 15 or 30"],
        ),
        ("TransformerEncoderLayer", {"num_heads": 3}, [f(10, 32)], ["1, 2, 4, 8, 16 or 32"]),
        ("TransformerEncoderLayer", {}, [f(32)], ["(N, T, E)", "Embedding"]),
        ("PositionalEncoding", {}, [f(3, 4, 5)], ["(N, T, E)", "Reshape"]),
        (
            "Reshape",
            {"shape": [3, 32, 32]},
            [f(784)],
            ["needs 3072 values per sample", "(N, 784) with 784", "-1"],
        ),
        ("Reshape", {"shape": [5, -1]}, [f(12)], ["multiple of 5", "divides 12"]),
        ("Embedding", {}, [i(4, 5)], ["token ids (N, T)", "(N, 4, 5)"]),
        ("Softmax", {"dim": 2}, [f(10)], ["Softmax over dim 2", "(N, 10)", "use dim -1"]),
        ("ReLU", {}, [i(10)], ["ReLU needs float input"]),
        ("Add", {}, [f(16, 8, 8), f(16, 4, 4)], ["same kernel, stride and padding"]),
        ("Add", {}, [f(10), f(12)], ["a Linear with 10 units"]),
        ("Add", {}, [f(10), f(2, 5)], ["same number of axes"]),
        (
            "Concat",
            {},
            [f(16, 12, 12), f(32, 10, 10)],
            ["Concat along dim 1 needs inputs that agree", "(N, 16, 12, 12) and (N, 32, 10, 10)"],
        ),
        ("Concat", {"dim": 2}, [f(16, 12, 12), f(32, 12, 12)], ["concatenate along dim 1 instead"]),
        ("Concat", {"dim": 2}, [f(10), f(10)], ["at least 3 axes", "use dim 1"]),
        ("Concat", {}, [f(10), i(10)], ["one dtype"]),
    ],
)
def test_shape_error_says_how_to_fix(
    name: str, params: dict, inputs: list[TensorSpec], needles: list[str]
) -> None:
    message = _error(name, params, inputs)
    for needle in needles:
        assert needle in message, message
    assert ": " in message  # what is wrong, then how to fix it


def test_linear_after_conv_in_a_graph_says_insert_flatten() -> None:
    g = Graph()
    g.add_node("Input", {"shape": [1, 28, 28]}, node_id="inp")
    g.add_node("Conv2d", node_id="conv")
    g.add_node("Linear", node_id="lin")
    g.add_node("Output", node_id="out")
    g.connect("inp", "conv")
    g.connect("conv", "lin")
    g.connect("lin", "out")
    (issue,) = analyze(g).errors
    assert issue.node == "lin" and issue.message.endswith("insert a Flatten before it")


# --- parameter errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "needle"),
    [
        ("Dropout", {"p": 1.0}, "at most 0.99"),
        ("Dropout", {"p": -0.1}, "at least 0"),
        ("Dropout", {"p": "half"}, "must be a number"),
        ("Conv2d", {"kernel_size": 0}, "at least 1"),
        ("Conv2d", {"padding": -1}, "at least 0"),
        ("Conv2d", {"out_channels": 2.5}, "whole number"),
        ("Conv2d", {"bias": 1}, "true or false"),
        ("MaxPool2d", {"stride": -1}, "at least 1"),
        ("LSTM", {"num_layers": 9}, "at most 8"),
        ("LSTM", {"output": "all"}, "one of last, sequence"),
        ("RNN", {"nonlinearity": "gelu"}, "one of tanh, relu"),
        ("Add", {"inputs": 1}, "at least 2"),
        ("Concat", {"inputs": 9}, "at most 8"),
        ("Concat", {"dim": 0}, "at least 1"),
        ("Softmax", {"dim": 0}, "at least 1"),
        ("Softmax", {"dim": -2}, "at least 1"),
        ("Reshape", {"shape": [0, 4]}, "at least 1"),
        ("Reshape", {"shape": []}, "between 1 and"),
        ("Embedding", {"num_embeddings": 0}, "at least 1"),
        ("GlobalAvgPool", {"over": "channels"}, "one of spatial, time"),
        ("Linear", {"nope": 1}, "no parameter 'nope'"),
    ],
)
def test_out_of_range_params_are_param_errors(name: str, params: dict, needle: str) -> None:
    with pytest.raises(ParamError, match=re.escape(needle)):
        get(name).validate_params(params)


def test_special_values_are_allowed() -> None:
    assert get("MaxPool2d").validate_params({"stride": 0})["stride"] == 0
    assert get("Reshape").validate_params({"shape": [-1, 4]})["shape"] == [-1, 4]
    assert get("Softmax").validate_params({"dim": -1})["dim"] == -1


def test_param_errors_found_during_inference() -> None:
    with pytest.raises(ParamError, match="more than one -1"):
        _infer("Reshape", {"shape": [-1, -1]}, [f(12)])
    with pytest.raises(ParamError, match="padding 2 is more than half its kernel size 2"):
        _infer("MaxPool2d", {"kernel_size": 2, "padding": 2}, [f(3, 8, 8)])
    assert _infer("MaxPool2d", {"kernel_size": 2, "padding": 1}, [f(3, 8, 8)]).shape == (3, 5, 5)


def test_ports_follow_the_inputs_param() -> None:
    g = Graph()
    add = g.add_node("Add", {"inputs": 4})
    assert add.num_inputs == 4
    cat = g.add_node("Concat", {"inputs": 3, "dim": 1})
    assert cat.num_inputs == 3
    assert get("Conv2d").num_inputs({}) == 1
    assert get("Input").num_inputs({}) == 0


def test_every_layer_type_says_how_it_reads_in_exported_code() -> None:
    from workbench.core.catalog import CATALOG

    assert [name for name, layer in CATALOG.items() if layer.code is None] == []
