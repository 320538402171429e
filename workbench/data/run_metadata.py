"""The metadata of a run's model, built from its config.json as the ONNX export writes it:
what the Evaluate tab's Try it reads a run's inputs and outputs by, and what the export
starts its file's metadata from.

Kept apart from :mod:`workbench.data.inference` because it reads the layer catalog, which
``workbench predict`` (no torch, ever) has no use for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.core.graph import Graph
from workbench.data.inference import ModelInfo


def run_model_info(graph: Graph, config: Mapping[str, Any]) -> ModelInfo:
    """The metadata of a run's model, as the ONNX export writes it (without its metrics and
    provenance, which the export adds).

    Args:
        graph: The graph that was trained (the run's own, recorded in its config.json).
        config: The run's config.json: task, classes, loss and preprocessing.
    """
    from workbench.core.shapes import analyze

    inp = graph.of_type("Input")[0]
    out = graph.of_type("Output")[0]
    out_spec = analyze(graph).nodes[out.id].output
    size = int(out_spec.shape[0]) if out_spec is not None else 0
    task = str(config.get("task") or out.params.get("task", "classification"))
    classes = config.get("classes")
    if task == "classification" and not classes:
        classes = [f"class {i}" for i in range(size)]
    preprocessing = dict(config.get("preprocessing") or {})
    names = None
    if task == "regression":
        target = preprocessing.get("target")
        names = [str(target)] if isinstance(target, str) and size == 1 else None
    loss = str(config.get("loss") or "")
    activation = (
        "none" if task == "regression" else ("sigmoid" if loss == "bce_with_logits" else "softmax")
    )
    output: dict[str, Any] = {
        "kind": "logits" if task == "classification" else "values",
        "activation": activation,
        "size": size,
    }
    if names:
        output["names"] = names
    return ModelInfo(
        task=task,
        input_name="x",
        input_shape=["batch", *[int(d) for d in inp.params["shape"]]],
        input_dtype=str(inp.params["dtype"]),
        preprocessing=preprocessing,
        classes=[str(c) for c in classes] if classes else None,
        output=output,
    )


__all__ = ["run_model_info"]
