"""Input and Output, dense layers, dropout, reshaping and embeddings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    LayerType,
    Param,
    ShapeError,
    TensorSpec,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- Input ---------------------------------------------------------------------------


def _input_infer(p: P, xs: S) -> TensorSpec:
    return TensorSpec(tuple(p["shape"]), p["dtype"])


def _input_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Identity()


INPUT = LayerType(
    name="Input",
    group="Input & Output",
    doc="Where samples enter the model; its shape is one sample without the batch axis.",
    params=(
        Param("shape", "ints", [1, 28, 28], "Shape of one sample, e.g. 3 32 32 for RGB images or 20 for a table row.", minimum=1, length=(1, 4)),
        Param("dtype", "choice", "float32", "float32 for features and images, int64 for token ids fed to an Embedding.", choices=("float32", "int64")),
    ),
    infer=_input_infer,
    build=_input_build,
    inputs=0,
    flops=lambda p, xs, out: 0,
)


# --- Output --------------------------------------------------------------------------


def _output_units(p: P) -> int:
    return p["num_classes"] if p["task"] == "classification" else p["num_targets"]


def _output_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("Output", x)
    require_rank(
        "Output", x, (2,), "(N, features)",
        "insert a Flatten or a GlobalAvgPool before it" if x.rank > 2 else "connect a layer with features",
    )
    return TensorSpec((_output_units(p),))


def _output_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Linear(xs[0].shape[0], _output_units(p))


OUTPUT = LayerType(
    name="Output",
    group="Input & Output",
    doc="The model's answer: a dense head giving class scores (logits) or regression values.",
    params=(
        Param("task", "choice", "classification", "Classification gives one score per class; regression one value per target.", choices=("classification", "regression")),
        Param("num_classes", "int", 10, "Number of classes (classification).", minimum=2, maximum=100000, label="Classes"),
        Param("num_targets", "int", 1, "Number of values to predict (regression).", minimum=1, maximum=100000, label="Targets"),
    ),
    infer=_output_infer,
    build=_output_build,
    count_params=lambda p, xs, out: xs[0].shape[0] * out.shape[0] + out.shape[0],
    flops=lambda p, xs, out: 2 * xs[0].shape[0] * out.shape[0],
)


# --- Linear --------------------------------------------------------------------------


def _linear_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("Linear", x)
    if x.rank < 2:
        raise ShapeError(f"Linear needs (N, features) but gets {x}")
    if x.rank > 3:
        raise ShapeError(f"Linear needs (N, features) but gets {x}: insert a Flatten before it")
    # (N, T, F) sequences are allowed: the layer applies to every step.
    return TensorSpec((*x.shape[:-1], p["units"]))


def _linear_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Linear(xs[0].shape[-1], p["units"], bias=p["bias"])


LINEAR = LayerType(
    name="Linear",
    group="Dense",
    doc="Fully connected layer: every output unit sees every input feature.",
    params=(
        Param("units", "int", 128, "Number of output features.", minimum=1, maximum=1_000_000),
        Param("bias", "bool", True, "Learn an additive bias per unit."),
    ),
    infer=_linear_infer,
    build=_linear_build,
    count_params=lambda p, xs, out: xs[0].shape[-1] * p["units"] + (p["units"] if p["bias"] else 0),
    flops=lambda p, xs, out: 2 * xs[0].numel * p["units"],
)


# --- Flatten -------------------------------------------------------------------------


def _flatten_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    return TensorSpec((math.prod(x.shape),), x.dtype)


def _flatten_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Flatten(1)


FLATTEN = LayerType(
    name="Flatten",
    group="Reshape",
    doc="Flattens each sample to one vector of features, e.g. (N, 16, 5, 5) to (N, 400).",
    params=(),
    infer=_flatten_infer,
    build=_flatten_build,
    flops=lambda p, xs, out: 0,
)


LAYERS = [INPUT, OUTPUT, LINEAR, FLATTEN]
