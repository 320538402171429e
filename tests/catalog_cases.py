"""A table of layer cases shared by the catalog tests (core) and the build tests (engine).

Each case gives a layer type, its params, the per-sample input specs and the expected
per-sample output shape (and dtype). Together the cases cover every catalog entry.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from workbench.core.catalog import TensorSpec


class Case(NamedTuple):
    type: str
    params: dict[str, Any]
    inputs: list[TensorSpec]
    expected: tuple[int, ...]
    dtype: str = "float32"

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        ins = "+".join(
            "x".join(map(str, s.shape)) + ("i" if s.dtype == "int64" else "") for s in self.inputs
        )
        return f"{self.type}({args})[{ins}]"


def f(*shape: int) -> TensorSpec:
    """A float32 spec."""
    return TensorSpec(tuple(shape))


def i(*shape: int) -> TensorSpec:
    """An int64 spec (token ids)."""
    return TensorSpec(tuple(shape), "int64")


_ACTIVATIONS = ["ReLU", "SiLU", "Sigmoid", "Tanh"]

CASES: list[Case] = [
    # Input & Output
    Case("Input", {"shape": [3, 32, 32]}, [], (3, 32, 32)),
    Case("Input", {"shape": [20], "dtype": "int64"}, [], (20,), "int64"),
    Case("Input", {}, [], (1, 28, 28)),
    Case("Output", {}, [f(128)], (10,)),
    Case("Output", {"task": "classification", "num_classes": 2}, [f(7)], (2,)),
    Case("Output", {"task": "regression", "num_targets": 3}, [f(16)], (3,)),
    # Dense
    Case("Linear", {}, [f(20)], (128,)),
    Case("Linear", {"units": 10, "bias": False}, [f(20)], (10,)),
    Case("Linear", {"units": 16}, [f(5, 8)], (5, 16)),
    # Reshape
    Case("Flatten", {}, [f(16, 5, 5)], (400,)),
    Case("Flatten", {}, [f(3)], (3,)),
    Case("Flatten", {}, [i(4, 5)], (20,), "int64"),
    Case("Reshape", {}, [f(16, 5, 5)], (400,)),
    Case("Reshape", {"shape": [1, 28, 28]}, [f(784)], (1, 28, 28)),
    Case("Reshape", {"shape": [4, -1]}, [f(8, 6)], (4, 12)),
    Case("Reshape", {"shape": [-1, 2, 3]}, [f(12)], (2, 2, 3)),
    Case("Reshape", {"shape": [4, 5]}, [i(20)], (4, 5), "int64"),
    # Regularization
    Case("Dropout", {}, [f(10)], (10,)),
    Case("Dropout", {"p": 0.0}, [f(3, 8, 8)], (3, 8, 8)),
    Case("Dropout", {"p": 0.99}, [f(5, 4)], (5, 4)),
    # Embedding
    Case("Embedding", {}, [i(20)], (20, 64)),
    Case("Embedding", {"num_embeddings": 50, "embedding_dim": 8}, [i(7)], (7, 8)),
    Case("Embedding", {"num_embeddings": 1, "embedding_dim": 1}, [i(1)], (1, 1)),
    # Convolution
    Case("Conv1d", {}, [f(3, 50)], (16, 48)),
    Case(
        "Conv1d",
        {"out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 2, "bias": False},
        [f(4, 50)],
        (8, 25),
    ),
    Case("Conv1d", {"kernel_size": 3, "dilation": 2}, [f(4, 20)], (16, 16)),
    Case("Conv1d", {"out_channels": 2, "kernel_size": 1}, [f(6, 1)], (2, 1)),
    Case("Conv2d", {}, [f(1, 28, 28)], (16, 26, 26)),
    Case(
        "Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": 2}, [f(1, 28, 28)], (6, 28, 28)
    ),
    Case(
        "Conv2d",
        {"kernel_size": 3, "stride": 2, "padding": 1, "bias": False},
        [f(3, 32, 32)],
        (16, 16, 16),
    ),
    Case("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 2}, [f(3, 10, 10)], (4, 6, 6)),
    Case("Conv2d", {"out_channels": 8}, [f(3, 20, 10)], (8, 18, 8)),
    Case("Conv2d", {"kernel_size": 5}, [f(2, 5, 5)], (16, 1, 1)),
    # Pooling
    Case("MaxPool1d", {}, [f(4, 20)], (4, 10)),
    Case("MaxPool1d", {"kernel_size": 3, "stride": 1, "padding": 1}, [f(4, 20)], (4, 20)),
    Case("MaxPool1d", {"kernel_size": 3}, [f(4, 10)], (4, 3)),
    Case("MaxPool2d", {}, [f(16, 28, 28)], (16, 14, 14)),
    Case("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [f(8, 15, 15)], (8, 8, 8)),
    Case("MaxPool2d", {"kernel_size": 2}, [f(3, 5, 7)], (3, 2, 3)),
    Case("AvgPool2d", {}, [f(16, 8, 8)], (16, 4, 4)),
    Case("AvgPool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, [f(2, 6, 6)], (2, 6, 6)),
    Case("AvgPool2d", {"kernel_size": 4, "stride": 2}, [f(3, 9, 9)], (3, 3, 3)),
    Case("GlobalAvgPool", {}, [f(16, 7, 7)], (16,)),
    Case("GlobalAvgPool", {"over": "spatial"}, [f(8, 20)], (8,)),
    Case("GlobalAvgPool", {"over": "time"}, [f(10, 32)], (32,)),
    # Normalization
    Case("BatchNorm1d", {}, [f(20)], (20,)),
    Case("BatchNorm1d", {"eps": 1e-3, "momentum": 0.01}, [f(4, 10)], (4, 10)),
    Case("BatchNorm2d", {}, [f(16, 8, 8)], (16, 8, 8)),
    Case("BatchNorm2d", {"eps": 1e-4, "momentum": 0.5}, [f(3, 2, 5)], (3, 2, 5)),
    Case("LayerNorm", {}, [f(32)], (32,)),
    Case("LayerNorm", {"eps": 1e-6}, [f(10, 16)], (10, 16)),
    Case("LayerNorm", {}, [f(3, 4, 5)], (3, 4, 5)),
    *[
        Case("GroupNorm", p, [x], x.shape)
        for p, x in (
            ({}, f(8)),
            ({"num_groups": 2, "affine": False, "eps": 1e-3}, f(6, 5)),
            ({"num_groups": 3}, f(9, 4, 4)),
        )
    ],
    # Recurrent
    Case("RNN", {}, [f(10, 8)], (64,)),
    Case("RNN", {"hidden_size": 16, "output": "sequence"}, [f(10, 8)], (10, 16)),
    Case(
        "RNN",
        {
            "hidden_size": 16,
            "num_layers": 2,
            "bidirectional": True,
            "nonlinearity": "relu",
            "dropout": 0.2,
        },
        [f(6, 4)],
        (32,),
    ),
    Case("LSTM", {}, [f(10, 8)], (64,)),
    Case(
        "LSTM", {"hidden_size": 12, "bidirectional": True, "output": "sequence"}, [f(7, 3)], (7, 24)
    ),
    Case(
        "LSTM",
        {"hidden_size": 8, "num_layers": 3, "bidirectional": True, "dropout": 0.1},
        [f(5, 6)],
        (16,),
    ),
    Case("LSTM", {"hidden_size": 5, "dropout": 0.3}, [f(1, 1)], (5,)),
    Case("GRU", {}, [f(10, 8)], (64,)),
    Case("GRU", {"hidden_size": 16, "num_layers": 2, "output": "sequence"}, [f(9, 32)], (9, 16)),
    Case("GRU", {"hidden_size": 4, "bidirectional": True}, [f(3, 2)], (8,)),
    # Attention
    Case("MultiHeadSelfAttention", {}, [f(10, 32)], (10, 32)),
    Case("MultiHeadSelfAttention", {"num_heads": 1}, [f(5, 7)], (5, 7)),
    Case("MultiHeadSelfAttention", {"num_heads": 8, "dropout": 0.1}, [f(6, 64)], (6, 64)),
    Case("TransformerEncoderLayer", {}, [f(10, 32)], (10, 32)),
    Case(
        "TransformerEncoderLayer",
        {
            "num_heads": 2,
            "dim_feedforward": 64,
            "activation": "gelu",
            "norm_first": True,
            "dropout": 0.0,
        },
        [f(6, 16)],
        (6, 16),
    ),
    Case("PositionalEncoding", {}, [f(10, 32)], (10, 32)),
    Case("PositionalEncoding", {"kind": "learned", "dropout": 0.1}, [f(10, 32)], (10, 32)),
    Case("PositionalEncoding", {"kind": "sinusoidal"}, [f(7, 5)], (7, 5)),
    # Activations
    *[Case(name, {}, [spec], spec.shape) for name in _ACTIVATIONS for spec in (f(10), f(3, 8, 8))],
    Case("LeakyReLU", {}, [f(10)], (10,)),
    Case("LeakyReLU", {"negative_slope": 0.2}, [f(4, 6)], (4, 6)),
    Case("GELU", {}, [f(10)], (10,)),
    Case("GELU", {"approximate": "tanh"}, [f(5, 16)], (5, 16)),
    Case("Softmax", {}, [f(10)], (10,)),
    Case("Softmax", {"dim": 1}, [f(4, 5)], (4, 5)),
    Case("Softmax", {"dim": 2}, [f(4, 5)], (4, 5)),
    Case("Softmax", {"dim": 3}, [f(2, 3, 4)], (2, 3, 4)),
    # Merge
    Case("Add", {}, [f(16, 12, 12), f(16, 12, 12)], (16, 12, 12)),
    Case("Add", {"inputs": 3}, [f(10), f(10), f(10)], (10,)),
    Case("Add", {"inputs": 8}, [f(2, 3)] * 8, (2, 3)),
    Case("Concat", {}, [f(16, 12, 12), f(32, 12, 12)], (48, 12, 12)),
    Case("Concat", {"dim": 2}, [f(4, 5), f(4, 3)], (4, 8)),
    Case("Concat", {"inputs": 3}, [f(10), f(5), f(1)], (16,)),
    Case("Concat", {"dim": 3}, [f(2, 3, 4), f(2, 3, 1)], (2, 3, 5)),
    Case("Concat", {}, [i(5), i(3)], (8,), "int64"),
]

CASE_IDS = [c.id for c in CASES]
