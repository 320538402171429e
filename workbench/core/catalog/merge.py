"""Layer types: merge (see base.LayerType).

Merge layers join branches of the graph; their number of input ports follows their
``inputs`` parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    LayerCode,
    LayerType,
    Param,
    ShapeError,
    TensorSpec,
    require_float,
)

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _add_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return LayerCode(None, ("{out} = {sum}",))


def _concat_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    return LayerCode(None, ("{out} = torch.cat(({xs}), dim=" + str(p["dim"]) + ")",))


def _inputs_param() -> Param:
    return Param(
        "inputs",
        "int",
        2,
        "Number of branches to join (2 to 8); each gets an input port.",
        minimum=2,
        maximum=8,
    )


def _match_hint(a: TensorSpec, b: TensorSpec, skip: int | None = None) -> str:
    """How to make ``b`` agree with ``a`` (axis ``skip``, batch counted as 0, may differ)."""
    if a.rank != b.rank:
        return "give both branches the same number of axes (e.g. a Flatten on each branch)"
    diff = [
        i + 1
        for i, (u, v) in enumerate(zip(a.shape, b.shape, strict=True))
        if u != v and i + 1 != skip
    ]
    last = a.rank - 1
    if diff == [1] and a.rank in (3, 4):
        conv = "Conv2d" if a.rank == 4 else "Conv1d"
        return f"make the channels match (e.g. a {conv} with {a.shape[0]} out_channels)"
    if diff == [last] and a.rank in (2, 3):
        return f"make the features match (e.g. a Linear with {a.shape[-1]} units)"
    if a.rank >= 3 and 1 not in diff:
        return "make the sizes match: use the same kernel, stride and padding on both branches"
    return "make the shapes match"


# --- Add -----------------------------------------------------------------------------


def _add_infer(p: P, xs: S) -> TensorSpec:
    first = xs[0]
    for x in xs:
        require_float("Add", x)
    for x in xs[1:]:
        if x.shape != first.shape:
            raise ShapeError(
                f"Add needs inputs of equal shape but gets {first} and {x}: {_match_hint(first, x)}"
            )
    return first


def _add_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    return engine_module("Add")


ADD = LayerType(
    name="Add",
    code=_add_code,
    group="Merge",
    doc="Sums branches of equal shape element by element, e.g. for residual (skip) connections.",
    params=(_inputs_param(),),
    infer=_add_infer,
    build=_add_build,
    flops=lambda p, xs, out: (len(xs) - 1) * out.numel,
    inputs="inputs",
)


# --- Concat --------------------------------------------------------------------------


def _concat_infer(p: P, xs: S) -> TensorSpec:
    dim = p["dim"]
    first = xs[0]
    for x in xs:
        if dim >= x.rank:
            raise ShapeError(
                f"Concat along dim {dim} needs inputs with at least {dim + 1} axes but gets {x}: "
                f"use dim {x.rank - 1} or less (1 joins features or channels)"
            )
        if x.dtype != first.dtype:
            raise ShapeError(
                f"Concat needs inputs of one dtype but gets {first.dtype} and {x.dtype}: "
                "put an Embedding on the integer branch"
            )
    for x in xs[1:]:
        same_rank = x.rank == first.rank
        if not same_rank or any(
            u != v
            for i, (u, v) in enumerate(zip(first.shape, x.shape, strict=True))
            if i + 1 != dim
        ):
            hint = _match_hint(first, x, skip=dim)
            other = (
                [
                    i + 1
                    for i, (u, v) in enumerate(zip(first.shape, x.shape, strict=False))
                    if u != v
                ]
                if same_rank
                else []
            )
            if len(other) == 1:
                hint += f", or concatenate along dim {other[0]} instead"
            raise ShapeError(
                f"Concat along dim {dim} needs inputs that agree on every other axis but gets "
                f"{first} and {x}: {hint}"
            )
    shape = list(first.shape)
    shape[dim - 1] = sum(x.shape[dim - 1] for x in xs)
    return TensorSpec(tuple(shape), first.dtype)


def _concat_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    return engine_module("Concat", p["dim"])


CONCAT = LayerType(
    name="Concat",
    code=_concat_code,
    group="Merge",
    doc="Joins branches along one axis, e.g. stacks the channels of two feature maps.",
    params=(
        _inputs_param(),
        Param(
            "dim",
            "int",
            1,
            "Axis to join along, counting the batch axis as 0 (1 = features or channels).",
            minimum=1,
            maximum=8,
            label="Axis",
        ),
    ),
    infer=_concat_infer,
    build=_concat_build,
    flops=lambda p, xs, out: 0,
    inputs="inputs",
)


LAYERS = [ADD, CONCAT]
