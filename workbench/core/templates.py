"""Starting projects: the models of the field's standard tutorials, ready to edit.

Each template is a chain (or small DAG) of catalog layers; :func:`make_project` builds
a fresh :class:`Project` from one and lays it out on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core.graph import Graph
from workbench.core.layout import auto_layout
from workbench.core.project import Project

Step = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Template:
    """A named starting point shown on the start page and by ``workbench templates``."""

    name: str
    title: str
    summary: str
    build: Callable[[], Graph]


def chain(
    steps: list[Step], graph: Graph | None = None, after: str | None = None
) -> tuple[Graph, str]:
    """Append ``steps`` as a chain (after node ``after``); return the graph and the last id."""
    g = graph or Graph()
    prev = after
    for type_name, params in steps:
        node = g.add_node(type_name, params)
        if prev is not None:
            g.connect(prev, node.id)
        prev = node.id
    assert prev is not None
    return g, prev


def _empty() -> Graph:
    g, _ = chain(
        [("Input", {"shape": [1, 28, 28]}), ("Flatten", {}), ("Output", {"num_classes": 10})]
    )
    return g


def _mlp() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [20]}),
            ("Linear", {"units": 64}),
            ("ReLU", {}),
            ("Dropout", {"p": 0.2}),
            ("Linear", {"units": 64}),
            ("ReLU", {}),
            ("Output", {"num_classes": 3}),
        ]
    )
    return g


def _lenet() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [1, 28, 28]}),
            ("Conv2d", {"out_channels": 16, "kernel_size": 5}),
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}),
            ("Conv2d", {"out_channels": 32, "kernel_size": 5}),
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}),
            ("Flatten", {}),
            ("Linear", {"units": 128}),
            ("ReLU", {}),
            ("Output", {"num_classes": 10}),
        ]
    )
    return g


def _resnet() -> Graph:
    conv = {"out_channels": 32, "kernel_size": 3, "padding": 1}
    g, stem = chain(
        [
            ("Input", {"shape": [3, 32, 32]}),
            ("Conv2d", conv),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
        ]
    )
    g, branch = chain(
        [
            ("Conv2d", conv),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("Conv2d", conv),
            ("BatchNorm2d", {}),
        ],
        g,
        stem,
    )
    add = g.add_node("Add", {"inputs": 2})
    g.connect(stem, add.id, 0)  # the skip connection
    g.connect(branch, add.id, 1)
    g, _ = chain(
        [
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}),
            ("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("GlobalAvgPool", {"over": "spatial"}),
            ("Output", {"num_classes": 10}),
        ],
        g,
        add.id,
    )
    return g


def _rnn() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [50, 1]}),
            ("RNN", {"hidden_size": 32, "output": "last"}),
            ("Output", {"task": "regression", "num_targets": 1}),
        ]
    )
    return g


def _gru() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [40], "dtype": "int64"}),
            ("Embedding", {"num_embeddings": 1000, "embedding_dim": 32}),
            ("GRU", {"hidden_size": 64, "output": "last"}),
            ("Dropout", {"p": 0.2}),
            ("Output", {"num_classes": 2}),
        ]
    )
    return g


def _transformer() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [32], "dtype": "int64"}),
            ("Embedding", {"num_embeddings": 1000, "embedding_dim": 64}),
            ("PositionalEncoding", {"kind": "sinusoidal"}),
            ("TransformerEncoderLayer", {"num_heads": 4, "dim_feedforward": 128, "dropout": 0.1}),
            ("GlobalAvgPool", {"over": "time"}),
            ("Output", {"num_classes": 2}),
        ]
    )
    return g


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "empty", "Empty model", "An Input, a Flatten and an Output: start from scratch.", _empty
        ),
        Template(
            "mlp",
            "MLP for tables",
            "Two dense layers with ReLU and dropout for rows of numeric features.",
            _mlp,
        ),
        Template(
            "lenet",
            "LeNet CNN for images",
            "conv 5x5 16, pool, conv 5x5 32, pool, dense 128: the classic digit classifier.",
            _lenet,
        ),
        Template(
            "resnet",
            "Residual CNN",
            "A small CNN with batch norm and a residual block whose skip joins through Add.",
            _resnet,
        ),
        Template(
            "rnn",
            "Simple RNN for time series",
            "A recurrent layer reads 50 steps and predicts the next value (regression).",
            _rnn,
        ),
        Template(
            "gru",
            "GRU sequence classifier",
            "Token ids, an Embedding and a GRU encoder, classified from the last step.",
            _gru,
        ),
        Template(
            "transformer",
            "Transformer encoder classifier",
            "Embedding, positional encoding and a self-attention encoder layer, mean-pooled over time.",
            _transformer,
        ),
    )
}


def make_project(name: str) -> Project:
    """A new project from template ``name``; raises KeyError for an unknown name."""
    try:
        template = TEMPLATES[name]
    except KeyError:
        known = ", ".join(TEMPLATES)
        raise KeyError(f"unknown template '{name}' (known: {known})") from None
    graph = template.build()
    auto_layout(graph)
    return Project(name=template.title, graph=graph, description=template.summary)
