"""Layer types: activations (see base.LayerType).

Each applies a function to every value; the output has the input's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    CodeFn,
    LayerCode,
    LayerType,
    Param,
    ShapeError,
    TensorSpec,
    changed,
    module_code,
    require_float,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _plain_code(name: str) -> CodeFn:
    def code(p: P, xs: S, out: TensorSpec) -> LayerCode:
        return module_code(name)

    return code


def _leaky_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    slope = p["negative_slope"]
    return module_code("LeakyReLU", slope) if slope != 0.01 else module_code("LeakyReLU")


def _gelu_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("GELU", **changed(p, approximate="none"))


def _softmax_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return module_code("Softmax", dim=p["dim"])


def _same(name: str) -> Callable[[P, S], TensorSpec]:
    def infer(p: P, xs: S) -> TensorSpec:
        (x,) = xs
        require_float(name, x)
        return x

    return infer


def _activation(
    name: str,
    doc: str,
    build: Callable[[P, S], Any],
    params: tuple[Param, ...] = (),
    cost: int = 1,
    code: CodeFn | None = None,
) -> LayerType:
    return LayerType(
        name=name,
        code=code or _plain_code(name),
        group="Activation",
        doc=doc,
        params=params,
        infer=_same(name),
        build=build,
        flops=lambda p, xs, out: cost * out.numel,
    )


def _relu(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.ReLU()


def _leaky_relu(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.LeakyReLU(p["negative_slope"])


def _gelu(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.GELU(approximate=p["approximate"])


def _silu(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.SiLU()


def _sigmoid(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Sigmoid()


def _tanh(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Tanh()


RELU = _activation(
    "ReLU", "max(0, x): the default activation; keeps positives, zeroes negatives.", _relu
)
LEAKY_RELU = _activation(
    "LeakyReLU",
    "Like ReLU but lets a small slope through for negatives, so units never go fully silent.",
    _leaky_relu,
    (
        Param(
            "negative_slope",
            "float",
            0.01,
            "Slope for negative inputs (0 gives a plain ReLU).",
            minimum=0.0,
            maximum=1.0,
            label="Negative slope",
        ),
    ),
    code=_leaky_code,
)
GELU = _activation(
    "GELU",
    "Smooth ReLU used in transformers: x weighted by the chance that it is positive.",
    _gelu,
    (
        Param(
            "approximate",
            "choice",
            "none",
            "none: exact (erf); tanh: a slightly faster approximation.",
            choices=("none", "tanh"),
        ),
    ),
    cost=8,
    code=_gelu_code,
)
SILU = _activation(
    "SiLU", "x * sigmoid(x) (also called Swish): a smooth ReLU alternative.", _silu, cost=5
)
SIGMOID = _activation(
    "Sigmoid",
    "Squashes values into (0, 1); for gates or independent probabilities.",
    _sigmoid,
    cost=4,
)
TANH = _activation("Tanh", "Squashes values into (-1, 1), centred on zero.", _tanh, cost=4)


# --- Softmax -------------------------------------------------------------------------


def _softmax_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("Softmax", x)
    dim = p["dim"]
    if dim >= x.rank:
        raise ShapeError(
            f"Softmax over dim {dim} needs an input with at least {dim + 1} axes but gets {x} "
            f"(axes 1 to {x.rank - 1}): use dim -1 for the last axis"
        )
    return x


def _softmax_build(p: P, xs: S) -> Any:
    import torch.nn as nn

    return nn.Softmax(dim=p["dim"])


SOFTMAX = LayerType(
    name="Softmax",
    code=_softmax_code,
    group="Activation",
    doc="Turns scores into probabilities that sum to 1 along one axis; a classifier's Output does not need it.",
    params=(
        Param(
            "dim",
            "int",
            -1,
            "Axis to normalize, counting the batch axis as 0; -1 is the last axis.",
            minimum=1,
            maximum=8,
            special=(-1,),
            special_text="last axis",
            label="Axis",
        ),
    ),
    infer=_softmax_infer,
    build=_softmax_build,
    flops=lambda p, xs, out: 3 * out.numel,
)


LAYERS = [RELU, LEAKY_RELU, GELU, SILU, SIGMOID, TANH, SOFTMAX]
