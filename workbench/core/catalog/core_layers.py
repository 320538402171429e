"""Input and Output, dense layers, dropout, reshaping and embeddings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    LayerCode,
    LayerType,
    Param,
    ParamError,
    ShapeError,
    TensorSpec,
    changed,
    code_call,
    format_shape,
    module_code,
    require_float,
    require_rank,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _input_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return LayerCode(None, ())


def _output_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return LayerCode(
        code_call("nn.Linear", xs[0].shape[0], out.shape[0]), ("return self.{attr}({x})",)
    )


def _linear_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("Linear", xs[0].shape[-1], p["units"], **changed(p, bias=True))


def _flatten_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return LayerCode(None, ("{out} = {x}.flatten(1)",))


def _reshape_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    dims = ", ".join(str(d) for d in out.shape)
    return LayerCode(None, ("{out} = {x}.reshape({x}.shape[0], " + dims + ")",))


def _dropout_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("Dropout", p["p"])


def _embedding_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("Embedding", p["num_embeddings"], p["embedding_dim"])


# --- Input ---------------------------------------------------------------------------


def _input_infer(p: P, xs: S) -> TensorSpec:
    return TensorSpec(tuple(p["shape"]), p["dtype"])


def _input_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Identity()


INPUT = LayerType(
    name="Input",
    code=_input_code,
    group="Input & Output",
    doc="Where samples enter the model; its shape is one sample without the batch axis.",
    params=(
        Param(
            "shape",
            "ints",
            [1, 28, 28],
            "Shape of one sample, e.g. 3 32 32 for RGB images or 20 for a table row.",
            minimum=1,
            length=(1, 4),
        ),
        Param(
            "dtype",
            "choice",
            "float32",
            "float32 for features and images, int64 for token ids fed to an Embedding.",
            choices=("float32", "int64"),
        ),
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
    if x.rank == 3:
        fix = "insert a GlobalAvgPool (over time) or a Flatten before it, or set the recurrent layer's output to last"
    else:
        fix = "insert a Flatten or a GlobalAvgPool before it"
    require_rank("Output", x, (2,), "(N, features)", fix, insert="Flatten" if x.rank > 3 else None)
    return TensorSpec((_output_units(p),))


def _output_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Linear(xs[0].shape[0], _output_units(p))


OUTPUT = LayerType(
    name="Output",
    code=_output_code,
    group="Input & Output",
    doc="The model's answer: a dense head giving class scores (logits) or regression values.",
    params=(
        Param(
            "task",
            "choice",
            "classification",
            "Classification gives one score per class; regression one value per target.",
            choices=("classification", "regression"),
        ),
        Param(
            "num_classes",
            "int",
            10,
            "Number of classes (classification).",
            minimum=2,
            maximum=100000,
            label="Classes",
        ),
        Param(
            "num_targets",
            "int",
            1,
            "Number of values to predict (regression).",
            minimum=1,
            maximum=100000,
            label="Targets",
        ),
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
        raise ShapeError(
            f"Linear needs (N, features) but gets {x}: insert a Flatten before it", insert="Flatten"
        )
    # (N, T, F) sequences are allowed: the layer applies to every step.
    return TensorSpec((*x.shape[:-1], p["units"]))


def _linear_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Linear(xs[0].shape[-1], p["units"], bias=p["bias"])


LINEAR = LayerType(
    name="Linear",
    code=_linear_code,
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
    code=_flatten_code,
    group="Reshape",
    doc="Flattens each sample to one vector of features, e.g. (N, 16, 5, 5) to (N, 400).",
    params=(),
    infer=_flatten_infer,
    build=_flatten_build,
    flops=lambda p, xs, out: 0,
)


# --- Dropout -------------------------------------------------------------------------


def _dropout_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("Dropout", x)
    return x


def _dropout_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Dropout(p["p"])


DROPOUT = LayerType(
    name="Dropout",
    code=_dropout_code,
    group="Regularization",
    doc="Randomly zeroes a fraction of values while training to reduce overfitting; does nothing at evaluation.",
    params=(
        Param(
            "p",
            "float",
            0.5,
            "Fraction of values set to zero during training (0 to 0.99).",
            minimum=0.0,
            maximum=0.99,
            label="Drop probability",
        ),
    ),
    infer=_dropout_infer,
    build=_dropout_build,
)


# --- Reshape -------------------------------------------------------------------------


def _reshape_target(p: P, x: TensorSpec) -> tuple[int, ...]:
    shape = [int(v) for v in p["shape"]]
    target = format_shape(shape)
    if shape.count(-1) > 1:
        raise ParamError(
            f"Reshape's shape {target} has more than one -1: give every axis but one a size"
        )
    known = math.prod(v for v in shape if v != -1)
    if -1 in shape:
        if x.numel % known:
            raise ShapeError(
                f"Reshape to {target} needs a multiple of {known} values per sample but gets {x} "
                f"with {x.numel}: pick sizes whose product divides {x.numel}"
            )
        shape[shape.index(-1)] = x.numel // known
    elif known != x.numel:
        raise ShapeError(
            f"Reshape to {target} needs {known} values per sample but gets {x} with {x.numel}: "
            f"pick sizes whose product is {x.numel}, or use -1 for one axis to fill it in"
        )
    return tuple(shape)


def _reshape_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    return TensorSpec(_reshape_target(p, x), x.dtype)


def _reshape_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    return engine_module("Reshape", _reshape_target(p, xs[0]))


RESHAPE = LayerType(
    name="Reshape",
    code=_reshape_code,
    group="Reshape",
    doc="Gives each sample a new shape with the same number of values, e.g. (N, 784) to (N, 1, 28, 28).",
    params=(
        Param(
            "shape",
            "ints",
            [-1],
            "New shape of one sample without the batch axis; one -1 means 'whatever is left'.",
            minimum=1,
            special=(-1,),
            length=(1, 4),
        ),
    ),
    infer=_reshape_infer,
    build=_reshape_build,
    flops=lambda p, xs, out: 0,
)


# --- Embedding -----------------------------------------------------------------------


def _embedding_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    if x.dtype != "int64":
        raise ShapeError(
            f"Embedding needs integer token ids (N, T) but gets {x}: set the Input's dtype to int64"
        )
    require_rank(
        "Embedding",
        x,
        (2,),
        "integer token ids (N, T)",
        "set the Input's shape to one number, the sequence length T"
        if x.rank > 2
        else "connect token ids of shape (N, T)",
    )
    return TensorSpec((*x.shape, p["embedding_dim"]))


def _embedding_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Embedding(p["num_embeddings"], p["embedding_dim"])


EMBEDDING = LayerType(
    name="Embedding",
    code=_embedding_code,
    group="Embedding",
    doc="Turns integer token ids (N, T) into learned vectors (N, T, E); the Input's dtype must be int64.",
    params=(
        Param(
            "num_embeddings",
            "int",
            1000,
            "Vocabulary size: token ids must lie in 0 to this minus 1.",
            minimum=1,
            maximum=10_000_000,
            label="Vocabulary size",
        ),
        Param(
            "embedding_dim",
            "int",
            64,
            "Length E of the vector learned for each token.",
            minimum=1,
            maximum=100_000,
            label="Embedding size",
        ),
    ),
    infer=_embedding_infer,
    build=_embedding_build,
    count_params=lambda p, xs, out: p["num_embeddings"] * p["embedding_dim"],
    flops=lambda p, xs, out: 0,
    onnx_note="Exported as a Gather; token ids outside the vocabulary fail at run time.",
)


LAYERS = [INPUT, OUTPUT, LINEAR, FLATTEN, DROPOUT, RESHAPE, EMBEDDING]
