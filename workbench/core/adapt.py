"""Make a model fit a dataset: the Input takes the data's shape, the Output its classes.

Each change comes back as a note for the user ("Input shape changed from … to …").
"""

from __future__ import annotations

from typing import Literal

from workbench.core.catalog import format_shape
from workbench.core.graph import Graph


def adapt_graph(
    graph: Graph,
    input_shape: tuple[int, ...],
    input_dtype: Literal["float32", "int64"],
    task: Literal["classification", "regression"],
    num_classes: int | None,
    num_targets: int = 1,
    vocab_size: int | None = None,
) -> list[str]:
    """Set the Input and Output (and Embedding vocabularies) to fit a dataset, in place.

    Args:
        graph: The model to change.
        input_shape: Per-sample shape of the prepared data (batch axis left out).
        input_dtype: float32 for features and images, int64 for token ids.
        task: classification or regression.
        num_classes: Number of classes (classification).
        num_targets: Number of regression targets.
        vocab_size: For token ids: the largest id + 1; Embeddings smaller than that grow.

    Returns:
        One human-readable note per change; empty when the model already fit.
    """
    notes: list[str] = []
    for node in graph.of_type("Input"):
        shape = list(input_shape)
        if node.params["shape"] != shape or node.params["dtype"] != input_dtype:
            old = f"{format_shape(node.params['shape'])} {node.params['dtype']}"
            graph.set_params(node.id, {"shape": shape, "dtype": input_dtype})
            notes.append(f"Input shape changed from {old} to {format_shape(shape)} {input_dtype} to match the dataset")
    for node in graph.of_type("Output"):
        before = dict(node.params)
        change: dict[str, object] = {"task": task}
        if task == "classification" and num_classes is not None:
            change["num_classes"] = max(2, int(num_classes))
        if task == "regression":
            change["num_targets"] = max(1, int(num_targets))
        graph.set_params(node.id, change)
        after = node.params
        if before != after:
            if task == "classification":
                notes.append(f"Output set to classification with {after['num_classes']} classes (was {_describe(before)})")
            else:
                notes.append(f"Output set to regression with {after['num_targets']} target(s) (was {_describe(before)})")
    if vocab_size is not None:
        for node in graph.of_type("Embedding"):
            if node.params["num_embeddings"] < vocab_size:
                old_vocab = node.params["num_embeddings"]
                graph.set_params(node.id, {"num_embeddings": int(vocab_size)})
                notes.append(f"{node.id}: vocabulary grown from {old_vocab} to {vocab_size} to cover the dataset's token ids")
    return notes


def _describe(params: dict[str, object]) -> str:
    if params["task"] == "classification":
        return f"classification with {params['num_classes']} classes"
    return f"regression with {params['num_targets']} target(s)"
