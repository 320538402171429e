"""Layer types: pooling (see base.LayerType)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workbench.core.catalog.base import (
    CodeFn,
    LayerCode,
    LayerType,
    Param,
    ParamError,
    ShapeError,
    TensorSpec,
    changed,
    code_literal,
    module_code,
    require_float,
)
from workbench.core.catalog.convolution import require_spatial, window_out

P = Mapping[str, Any]
S = Sequence[TensorSpec]


# --- the layers' code in an exported model.py (see base.LayerCode) --------------------


def _pool_code(name: str) -> CodeFn:
    def code(p: P, xs: S, out: TensorSpec) -> LayerCode:
        kw = {} if p["stride"] in (0, p["kernel_size"]) else {"stride": p["stride"]}
        return module_code(name, p["kernel_size"], **kw, **changed(p, padding=0))

    return code


def _gap_code(p: P, xs: S, out: TensorSpec) -> LayerCode:
    axes = (1,) if p["over"] == "time" else tuple(range(2, xs[0].rank))
    dims = str(axes[0]) if len(axes) == 1 else code_literal(axes)
    return LayerCode(None, ("{out} = {x}.mean(dim=" + dims + ")",))


# --- MaxPool1d / MaxPool2d / AvgPool2d -----------------------------------------------


def _pool_params() -> tuple[Param, ...]:
    return (
        Param(
            "kernel_size",
            "int",
            2,
            "Width of each pooling window; 2 halves the size.",
            minimum=1,
            maximum=255,
            label="Kernel size",
        ),
        Param(
            "stride",
            "int",
            0,
            "Step between windows; 0 means the same as the kernel size.",
            minimum=1,
            maximum=255,
            special=(0,),
            special_text="same as kernel",
        ),
        Param(
            "padding",
            "int",
            0,
            "Padding on each side; at most half the kernel size.",
            minimum=0,
            maximum=127,
        ),
    )


def _stride(p: P) -> int:
    return p["stride"] or p["kernel_size"]


def _pool_layer(kind: str, d: int, doc: str) -> LayerType:
    name = f"{kind}Pool{d}d"

    def infer(p: P, xs: S) -> TensorSpec:
        (x,) = xs
        k, pad = p["kernel_size"], p["padding"]
        if 2 * pad > k:
            raise ParamError(
                f"{name}'s padding {pad} is more than half its kernel size {k}: "
                f"use padding {k // 2} or less, or a larger kernel"
            )
        require_spatial(name, x, d)
        spatial = window_out(
            name,
            x,
            d,
            k,
            _stride(p),
            pad,
            window="pooling window",
            fix="remove this pooling layer, use a smaller kernel, or add padding",
        )
        return TensorSpec((x.shape[0], *spatial))

    def build(p: P, xs: S) -> Any:
        import torch.nn as nn

        cls = {("Max", 1): nn.MaxPool1d, ("Max", 2): nn.MaxPool2d, ("Avg", 2): nn.AvgPool2d}[
            kind, d
        ]
        return cls(p["kernel_size"], stride=_stride(p), padding=p["padding"])

    return LayerType(
        name=name,
        code=_pool_code(name),
        group="Pooling",
        doc=doc,
        params=_pool_params(),
        infer=infer,
        build=build,
        flops=lambda p, xs, out: out.numel * p["kernel_size"] ** d,
    )


MAXPOOL1D = _pool_layer(
    "Max",
    1,
    "Keeps the largest value in each window along a sequence (N, C, L), shrinking its length.",
)
MAXPOOL2D = _pool_layer(
    "Max", 2, "Keeps the largest value in each window of an image (N, C, H, W), shrinking it."
)
AVGPOOL2D = _pool_layer("Avg", 2, "Averages each window of an image (N, C, H, W), shrinking it.")


# --- GlobalAvgPool -------------------------------------------------------------------


def _gap_dims(p: P, x: TensorSpec) -> tuple[int, ...]:
    if p["over"] == "time":
        return (1,)
    return tuple(range(2, x.rank))


def _gap_infer(p: P, xs: S) -> TensorSpec:
    (x,) = xs
    require_float("GlobalAvgPool", x)
    if p["over"] == "time":
        if x.rank != 3:
            fix = (
                "set 'over' to spatial for images"
                if x.rank > 3
                else "there is no time axis to average; remove it"
            )
            raise ShapeError(
                f"GlobalAvgPool over time needs a sequence (N, T, F) but gets {x}: {fix}"
            )
        return TensorSpec((x.shape[1],))
    if x.rank < 3:
        raise ShapeError(
            f"GlobalAvgPool over spatial axes needs (N, C, ...) with at least one spatial axis "
            f"but gets {x}: there is nothing to pool; remove it"
        )
    return TensorSpec((x.shape[0],))


def _gap_build(p: P, xs: S) -> Any:
    from workbench.core.catalog.engine_module import engine_module

    return engine_module("GlobalAvgPool", _gap_dims(p, xs[0]))


GLOBALAVGPOOL = LayerType(
    name="GlobalAvgPool",
    code=_gap_code,
    group="Pooling",
    doc="Averages away the spatial axes (N, C, H, W) to (N, C), or the time axis (N, T, F) to (N, F).",
    params=(
        Param(
            "over",
            "choice",
            "spatial",
            "spatial: average each channel over H, W (or L); time: average a sequence over its steps.",
            choices=("spatial", "time"),
            label="Average over",
        ),
    ),
    infer=_gap_infer,
    build=_gap_build,
    flops=lambda p, xs, out: xs[0].numel,
)


LAYERS = [MAXPOOL1D, MAXPOOL2D, AVGPOOL2D, GLOBALAVGPOOL]
